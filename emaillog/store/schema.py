"""The compact layout: the tables, their fixed codes, and the migrations.

One narrow row per send (`sends`: a message to one person, with its outcome)
and per other event (`actions`: opens, clicks, unsubscribes, complaints,
operator actions, a send's second outcome); soft bounces in `soft_bounces`,
which is also the retry state. Small vocabularies (campaigns, hosts, status
codes...) are stored once in `names`, the inputs events came from in `sources`, repeating texts once in
`texts`, addresses once in `persons`; rows refer to them by integer id.
Derived state is kept at ingest, in the same transaction as the batch:
`suppressions` (intervals), `counts` and `domain_counts` (per hour).
The SPEC's event stream is the `events` view over all of it.
"""

from __future__ import annotations

from ..events import EVENT_TYPES
from .dialect import POSTGRES, dialect_of

MIGRATIONS = []

# Fixed codes. The views spell them out (views.py), so they never change.
TYPE_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
CLASS_CODE = {"permanent": 1, "spam_block": 2, "technical": 3}
CLASS_NAME = {v: k for k, v in CLASS_CODE.items()}
# sends.outcome: delivered, or a hard bounce of a class (5: a class we don't know)
DELIVERED = 1
OUTCOME_OF_CLASS = {None: 5, **{name: code + 1 for name, code in CLASS_CODE.items()}}
CLASS_OF_OUTCOME = {v: k for k, v in OUTCOME_OF_CLASS.items()}
SUPPRESSION_REASONS = ("hard_bounce", "spam_block", "unsubscribed", "complained", "manual")
SUPPRESSION_CODE = {name: i + 1 for i, name in enumerate(SUPPRESSION_REASONS)}

# counts.metric: events by type and hard bounces by class, and the first
# and last event time of an hour (kept with min and max, not summed).
M_SENT, M_DELIVERED, M_SOFT = 1, 2, 7
M_HARD = {2: 3, 3: 4, 4: 5, 5: 6}  # outcome code -> metric
M_TYPE = {"opened": 8, "clicked": 9, "unsubscribed": 10, "complained": 11}
M_FIRST, M_LAST = 100, 101


def migration(fn):
    """Append a migration to the ordered list; applied names are recorded."""
    MIGRATIONS.append(fn)
    return fn


# -- the first release's layout (kept so old databases migrate in order) ----

def _create(conn, sql: str) -> None:
    """DDL written for SQLite, in the connection's dialect."""
    conn.execute(dialect_of(conn).ddl(sql))


@migration
def m001_events(conn):
    _create(conn, """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY, ts TEXT NOT NULL, type TEXT NOT NULL, person TEXT NOT NULL,
            campaign TEXT, email TEXT, message_id TEXT, queue_id TEXT, source_format TEXT, host TEXT,
            bounce_class TEXT, reason TEXT, smtp_code INTEGER, dsn TEXT, detail TEXT, url TEXT, source TEXT,
            attempts INTEGER, last_attempt TEXT, machine TEXT, note TEXT, actor TEXT, scope TEXT, until TEXT,
            send TEXT, dedupe_key TEXT NOT NULL UNIQUE)""")


@migration
def m002_ingest_state(conn):
    _create(conn, """
        CREATE TABLE files (
            fingerprint TEXT PRIMARY KEY,  -- sha256 of the first line: survives renames and gzip
            path TEXT NOT NULL, device INTEGER, inode INTEGER,
            "offset" INTEGER NOT NULL,     -- bytes consumed (of the uncompressed text)
            line_no INTEGER NOT NULL,      -- lines consumed
            format TEXT, first_read TEXT, last_read TEXT
        )""")
    conn.execute("CREATE TABLE open_messages (key TEXT PRIMARY KEY, last_ts TEXT NOT NULL, state TEXT NOT NULL)")
    _create(conn, """
        CREATE TABLE rejects (
            id INTEGER PRIMARY KEY, file TEXT NOT NULL, line_no INTEGER,
            why TEXT NOT NULL, text TEXT, format TEXT, seen_at TEXT NOT NULL,
            file_fingerprint TEXT,
            UNIQUE (file_fingerprint, line_no)
        )""")


@migration
def m003_views(conn):
    """The first release's views; `Store` now creates the views itself."""


# -- the compact layout ------------------------------------------------------

COMPACT_TABLES = """
CREATE TABLE names (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- campaign, email, host, format, dsn, reason, machine, actor, domain
    value TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT,              -- files.fingerprint of the input (NULL: standard input, an operator, release 1)
    label TEXT NOT NULL,           -- the input's name as it was read (mail.log), or what made the event
    UNIQUE (fingerprint, label)
);
CREATE TABLE texts (
    id INTEGER PRIMARY KEY,
    template TEXT NOT NULL UNIQUE  -- char(1) = the person's address, char(2) = the row's argument
);
CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL,         -- CRC-32 of the address: the index, never the identity
    address TEXT NOT NULL,         -- lower case
    domain INTEGER                 -- names.id
);
CREATE INDEX persons_hash ON persons (hash);
CREATE TABLE sends (
    id INTEGER PRIMARY KEY,        -- event ids: id*4 (sent), id*4+1 (soft bounce), id*4+2 (outcome)
    person INTEGER NOT NULL,       -- persons.id
    mkey INTEGER NOT NULL,         -- CRC-32 of the message's identity at its source
    campaign INTEGER, email INTEGER, host INTEGER, format INTEGER,   -- names.id
    queue_id TEXT,
    mid INTEGER, mid_arg TEXT,     -- the Message-ID: texts.id + argument
    sent_ts INTEGER NOT NULL,      -- UTC seconds
    sent_file INTEGER, sent_line INTEGER,   -- sources.id and line number (the event's `source`)
    outcome INTEGER,               -- 1 delivered, 2 hard permanent, 3 spam_block, 4 technical, 5 hard, NULL none yet
    out_ts INTEGER,
    out_file INTEGER,              -- sources.id
    out_line INTEGER,              -- NULL: the sent line itself
    out_reason INTEGER, out_code INTEGER, out_dsn INTEGER,
    out_text INTEGER, out_arg TEXT
);
CREATE INDEX sends_person ON sends (person, mkey);
CREATE INDEX sends_sent ON sends (sent_ts);
CREATE INDEX sends_out ON sends (out_ts) WHERE out_ts IS NOT NULL;
CREATE INDEX sends_reasons ON sends (outcome, out_reason, person, out_ts, campaign) WHERE outcome > 1;
CREATE TABLE soft_bounces (
    send INTEGER PRIMARY KEY,      -- sends.id (this table is the retry state)
    first_ts INTEGER NOT NULL,
    first_file INTEGER,            -- sources.id
    first_line INTEGER,
    attempts INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    reason INTEGER, code INTEGER, dsn INTEGER, text INTEGER, arg TEXT,        -- the latest attempt
    first_reason INTEGER, first_code INTEGER, first_dsn INTEGER, first_text INTEGER, first_arg TEXT,
    resolved_ts INTEGER,           -- the send's earliest delivery or hard bounce
    person INTEGER,                -- the send's person and campaign, so that stats need not
    campaign INTEGER               -- read a send for each soft bounce (m012)
);
CREATE INDEX soft_bounces_state ON soft_bounces (first_ts, resolved_ts, last_ts, reason, campaign);
CREATE INDEX soft_bounces_reasons ON soft_bounces (first_reason, person, first_ts, campaign);
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,        -- event id: id*4+3
    ts INTEGER NOT NULL,
    type INTEGER NOT NULL,         -- 0 sent, 1 delivered, 2 hard_bounced, 3 soft_bounced, 4 opened, 5 clicked,
                                   -- 6 unsubscribed, 7 complained, 8 manual_suppressed, 9 released
    person INTEGER NOT NULL,
    key INTEGER NOT NULL,          -- 63-bit hash of the event's natural key
    campaign INTEGER, email INTEGER, host INTEGER, format INTEGER,
    queue_id TEXT, mid INTEGER, mid_arg TEXT,
    file INTEGER, line INTEGER,    -- sources.id
    url INTEGER, url_arg TEXT,
    machine INTEGER, note TEXT, actor INTEGER,
    scope INTEGER,                 -- manual suppressions/releases: names.id of a campaign, NULL = all
    until INTEGER,                 -- manual suppressions: when it ends, NULL = until released
    class INTEGER, reason INTEGER, code INTEGER, dsn INTEGER, text INTEGER, arg TEXT,
    send INTEGER                   -- sends.id, for a send's second outcome
);
CREATE UNIQUE INDEX actions_key ON actions (person, key);
CREATE INDEX actions_ts ON actions (ts);
CREATE TABLE suppressions (
    id INTEGER PRIMARY KEY,
    person INTEGER NOT NULL,
    scope INTEGER,                 -- names.id of a campaign, NULL = every campaign
    reason INTEGER NOT NULL,       -- 1 hard_bounce, 2 spam_block, 3 unsubscribed, 4 complained, 5 manual
    since INTEGER NOT NULL, until INTEGER,
    valid_from INTEGER NOT NULL,   -- this version holds from valid_from until valid_to (a later event or a release)
    valid_to INTEGER,
    event INTEGER NOT NULL         -- the event id that set it
);
CREATE INDEX suppressions_person ON suppressions (person);
CREATE TABLE counts (
    hour INTEGER NOT NULL,         -- UTC seconds / 3600
    campaign INTEGER NOT NULL,     -- names.id, 0 = none
    metric INTEGER NOT NULL,       -- see store/schema.py
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, campaign, metric)
) WITHOUT ROWID;
CREATE TABLE domain_counts (
    hour INTEGER NOT NULL, campaign INTEGER NOT NULL, domain INTEGER NOT NULL,
    sent INTEGER NOT NULL, delivered INTEGER NOT NULL, hard INTEGER NOT NULL, soft INTEGER NOT NULL,
    PRIMARY KEY (hour, campaign, domain)
) WITHOUT ROWID;
"""


@migration
def m004_compact(conn):
    """The compact layout; an old `events` table is converted (see convert.py)."""
    for view in dialect_of(conn).views(conn):
        conn.execute(f"DROP VIEW {view}")
    for statement in COMPACT_TABLES.split(";"):
        if statement.strip():
            _create(conn, statement)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    _create(conn, "ALTER TABLE files ADD COLUMN complete INTEGER")  # a compressed file read to its end
    has_events = conn.execute("SELECT 1 FROM events LIMIT 1").fetchone()
    has_state = conn.execute("SELECT 1 FROM open_messages LIMIT 1").fetchone()
    if has_events or has_state:
        from .convert import convert_release_1
        convert_release_1(conn)
    conn.execute("DROP TABLE events")
    from ..config import Config
    from .views import windows
    conn.execute("INSERT INTO meta VALUES ('windows', ?)", (windows(Config()),))  # the views: Store._migrate


@migration
def m005_journal_cursor(conn):
    """Where `ingest --journal` stopped: the `__CURSOR` of the last journal
    entry stored, kept in the journal's `files` row (fingerprint
    `journal:<machine id>`), committed with each batch like a file offset."""
    conn.execute("ALTER TABLE files ADD COLUMN cursor TEXT")


# -- erasure (issue 15) -------------------------------------------------------

ERASURE_TABLES = """
CREATE TABLE erasures (            -- the audit of `emaillog forget`: who erased which hash, when
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,           -- UTC seconds
    actor TEXT NOT NULL,           -- user@host that ran it
    hash TEXT NOT NULL,            -- HMAC-SHA256 (hex) of the address, keyed by meta 'erasure_key'
    note TEXT,
    erased TEXT NOT NULL           -- JSON: what was erased, counted
);
CREATE INDEX erasures_hash ON erasures (hash);
CREATE TABLE forgotten_suppressions (  -- suppressions in force when a person was forgotten, by hash
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,            -- as erasures.hash
    scope INTEGER,                 -- names.id of a campaign, NULL = every campaign
    reason INTEGER NOT NULL,       -- as suppressions.reason
    since INTEGER NOT NULL, until INTEGER,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER,              -- set by a later `release` of the address
    key INTEGER,                   -- an imported record's natural key (hash63), for idempotence
    forgotten INTEGER NOT NULL     -- when it was put here (UTC seconds)
);
CREATE INDEX forgotten_suppressions_hash ON forgotten_suppressions (hash);
CREATE UNIQUE INDEX forgotten_suppressions_key ON forgotten_suppressions (hash, key) WHERE key IS NOT NULL;
"""


@migration
def m006_erasure(conn):
    """The erasure audit, the suppressions kept for forgotten people, and the
    database's own secret for their hashes (see store/forget.py)."""
    import secrets
    for statement in ERASURE_TABLES.split(";"):
        if statement.strip():
            _create(conn, statement)
    conn.execute("INSERT INTO meta VALUES ('erasure_key', ?) ON CONFLICT DO NOTHING", (secrets.token_hex(32),))


@migration
def m007_hard_bounce_actions(conn):
    """Hard bounces stored as a send's second outcome, by class and reason,
    for `emaillog metrics` (a few rows: the index stays small)."""
    conn.execute("CREATE INDEX actions_hard ON actions (class, reason) WHERE type = 2")


@migration
def m010_many_writers(conn):
    """A shared database (PostgreSQL): each writer takes ids in blocks from
    a sequence, and a person is one row however many hosts meet them at once.
    Nothing changes in SQLite, which has one writer at a time."""
    if dialect_of(conn) is not POSTGRES:
        return
    from .writer import ID_BLOCK
    for table in ("sends", "actions", "persons"):
        start = (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
        conn.execute(f"CREATE SEQUENCE ids_{table} START WITH {start} INCREMENT BY {ID_BLOCK}")
    conn.execute("CREATE UNIQUE INDEX persons_address ON persons (address)")
    conn.execute("ALTER TABLE open_messages ALTER COLUMN last_ts TYPE BIGINT USING last_ts::bigint")


@migration
def m011_resolver_doubts(conn):
    """Hard bounces saying their domain does not exist, kept so that a
    delivery to that domain within the retry window, read before or after,
    makes them soft (rules/resolver.py, store/doubts.py); and the index that
    finds a domain's deliveries by hour. Stored bounces are reviewed now."""
    _create(conn, """
        CREATE TABLE dns_doubts (
            send INTEGER PRIMARY KEY,      -- sends.id of a hard bounce (bad_domain: "host not found"...)
            domain INTEGER NOT NULL,       -- names.id
            ts INTEGER NOT NULL,           -- the verdict's time
            demoted INTEGER NOT NULL       -- 1: the domain accepted mail within the window; now a soft bounce
        )""")
    conn.execute("CREATE INDEX dns_doubts_open ON dns_doubts (ts) WHERE demoted = 0")
    conn.execute("CREATE INDEX domain_counts_accepts ON domain_counts (domain, hour) WHERE delivered > 0")
    from ..config import Config
    from .doubts import review
    review(conn, Config())


# A soft bounce's copy of its send's person and campaign (m012), made again by `rebuild`.
SOFT_FROM_SENDS = ("UPDATE soft_bounces SET (person, campaign) = "
                   "(SELECT s.person, s.campaign FROM sends s WHERE s.id = soft_bounces.send)")


@migration
def m012_stats_without_sends(conn):
    """What `stats` counts without reading the sends table, which at 10 M
    events is most of the file: a soft bounce's person and campaign on its
    row; hard and soft bounces indexed by reason and person (the top
    reasons and their people are read in the index's order); the retry
    state indexed whole (the sends given up are counted from the index)."""
    columns = [d[0] for d in conn.execute("SELECT * FROM soft_bounces LIMIT 0").description]
    if "person" not in columns:  # a database made before (m004 makes them now)
        conn.execute("ALTER TABLE soft_bounces ADD COLUMN person INTEGER")
        conn.execute("ALTER TABLE soft_bounces ADD COLUMN campaign INTEGER")
        conn.execute(SOFT_FROM_SENDS)
    conn.execute("DROP INDEX IF EXISTS sends_hard")
    conn.execute("DROP INDEX IF EXISTS soft_bounces_first")
    for statement in COMPACT_TABLES.split(";"):
        if any(f"INDEX {name} " in statement for name in ("sends_reasons", "soft_bounces_state", "soft_bounces_reasons")):
            conn.execute(statement.strip().replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"))
