"""Erasing a person (GDPR art. 17) without breaking the promise not to mail
them again.

`erase` removes, in one transaction, everything that names the address: the
person's sends, soft bounces and other events (and what they added to the
hourly counts), their suppression versions and the `persons` row; the text
of rejected lines, open correlation state and any other value in the
database that holds the address (in any case, or percent-encoded), in texts
shared with other people too. What stays is a keyed hash of the address
(HMAC-SHA256 with this database's own secret, meta `erasure_key`: a bare
SHA-256 of an address is reversed with a list of addresses) with the
suppressions in force at that moment (`forgotten_suppressions`), and an
audit row (`erasures`).

`finish` then makes sure no copy is left in the files: SQLite keeps old
page images in the WAL and deleted rows in free space, so the WAL is
checkpointed and truncated, the files are searched for the address, and
the database is vacuumed when a stale copy is found in free space.

What the hash cannot do: whoever holds the database file holds the secret
too, and can test a guessed address (as `emaillog check` does); it cannot
list the addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .codec import hash32
from .schema import SUPPRESSION_REASONS

REPLACEMENT = "[forgotten]"
# Every column that holds a texts.id (schema.py COMPACT_TABLES).
TEXT_REFERENCES = (("sends", "mid"), ("sends", "out_text"), ("soft_bounces", "text"),
                   ("soft_bounces", "first_text"), ("actions", "mid"), ("actions", "url"), ("actions", "text"))
# Tables scrubbed by their own rule, or that hold no address by design.
OWN_RULES = {"persons", "texts", "names", "open_messages", "rejects", "erasures", "forgotten_suppressions",
             "meta", "_migrations"}
# Action types that are campaign activity (writer.Writer._contribute_action).
ACTIVITY_ACTIONS = (1, 2, 4, 5, 6, 7)
# RFC 5322 atext and the dot: a character that would make the address part
# of a longer one before it; after it, a domain character does.
_BEFORE = r"(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.-])"
_AFTER = r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])"
_ATEXT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~.-")
_DOMAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


# -- the hash -------------------------------------------------------------

def erasure_key(conn) -> bytes:
    row = conn.execute("SELECT value FROM meta WHERE key = 'erasure_key'").fetchone()
    if row is None:  # the migration makes it; a copy of the tables without it is not ours
        raise RuntimeError("the database has no erasure key (meta 'erasure_key')")
    return bytes.fromhex(row[0])


def address_hash(conn, address: str) -> str:
    """The keyed hash of a normalised (lower-case) address, as hex."""
    return hmac.new(erasure_key(conn), address.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def forgotten_hashes(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT DISTINCT hash FROM erasures")}


# -- finding the address in text -------------------------------------------

class Needle:
    """The address as it can appear in stored text: as is, percent-encoded
    (a URL's query) and JSON-escaped (open message state), in any case, and
    not as the tail or head of a longer address (`joann@` is not `ann@`)."""

    def __init__(self, address: str):
        self.address = address
        forms = {address, address.replace("@", "%40"), json.dumps(address)[1:-1]}
        self.forms = sorted(forms, key=len, reverse=True)
        self.pattern = re.compile(_BEFORE + "(?:" + "|".join(map(re.escape, self.forms)) + ")" + _AFTER,
                                  re.IGNORECASE)
        self.ascii = address.isascii()
        self.bytes_forms = sorted({f.encode("utf-8", "surrogatepass").lower() for f in forms}, key=len, reverse=True)

    def matches(self, value) -> bool:
        return isinstance(value, str) and self.pattern.search(value) is not None

    def scrub(self, value):
        return self.pattern.sub(REPLACEMENT, value) if isinstance(value, str) else value

    def where(self, column: str) -> tuple[str, list]:
        """SQL that selects the rows whose `column` holds the address: LIKE
        (fast, ASCII case-insensitive) first, then the exact rule."""
        if not self.ascii:  # LIKE folds ASCII only
            return f"forget_match({column})", []
        likes = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for _ in self.forms)
        return f"({likes}) AND forget_match({column})", ["%" + _like_escape(f) + "%" for f in self.forms]

    def install(self, conn) -> None:
        conn.create_function("forget_match", 1, self.matches, deterministic=True)
        conn.create_function("forget_scrub", 1, self.scrub, deterministic=True)

    def in_bytes(self, data: bytes) -> bool:
        """Whether raw file bytes hold the address (ASCII case folded)."""
        low = data.lower()
        for form in self.bytes_forms:
            start = low.find(form)
            while start >= 0:
                end = start + len(form)
                before = low[start - 1] if start else None
                after = low[end] if end < len(low) else None
                after2 = low[end + 1] if end + 1 < len(low) else None
                if before not in _ATEXT and not (after in _DOMAIN or (after == 0x2E and after2 in _DOMAIN)):
                    return True
                start = low.find(form, start + 1)
        return False


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- what an erasure did ---------------------------------------------------

@dataclass
class Kept:
    """A suppression kept under the hash."""
    scope: str | None
    reason: str
    since: int
    until: int | None


@dataclass
class Erasure:
    id: int
    ts: int
    actor: str
    hash: str
    note: str | None
    erased: dict = field(default_factory=dict)
    kept: list[Kept] = field(default_factory=list)


def plan(conn, address: str) -> dict:
    """What `erase` would remove, counted (for the confirmation)."""
    needle = Needle(address)
    needle.install(conn)
    out = {"events": 0, "rejected_lines": 0, "open_messages": 0}
    person = _person_id(conn, address)
    if person is not None:
        out["events"] = _event_count(conn, person)
    where, args = needle.where("text")
    out["rejected_lines"] = conn.execute(f"SELECT count(*) FROM rejects WHERE {where}", args).fetchone()[0]
    where, args = needle.where("state")
    out["open_messages"] = conn.execute(f"SELECT count(*) FROM open_messages WHERE {where}", args).fetchone()[0]
    return out


def kept_now(conn, address: str, now: int) -> list[Kept]:
    """The suppressions an erasure now would keep."""
    names = dict(conn.execute("SELECT id, value FROM names WHERE kind = 'campaign'"))
    return [Kept(names.get(r[0]), SUPPRESSION_REASONS[r[1] - 1], r[2], r[3])
            for r in _live(conn, address, address_hash(conn, address), now)]


def erase(conn, address: str, *, actor: str, note: str | None, config, now: int | None = None) -> Erasure:
    """Forget `address` (normalised, lower case). The caller holds a write
    transaction; see the module's docstring for what goes and what stays."""
    now = int(time.time()) if now is None else now
    needle = Needle(address)
    needle.install(conn)
    digest = address_hash(conn, address)
    erased = Counter()
    live = _live(conn, address, digest, now)
    conn.execute("DELETE FROM forgotten_suppressions WHERE hash = ?", (digest,))
    conn.executemany("INSERT INTO forgotten_suppressions (hash, scope, reason, since, until, valid_from, valid_to, "
                     "key, forgotten) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [(digest, *row, now) for row in live])
    person = _person_id(conn, address)
    texts: set[int] = set()
    if person is not None:
        texts = _erase_person(conn, person, config, erased)
    _scrub_rejects(conn, needle, erased)
    _scrub_open_messages(conn, needle, erased)
    _scrub_texts(conn, needle, texts, erased)
    _scrub_names(conn, needle, erased)
    _scrub_other(conn, needle, erased)
    counts = {k: v for k, v in sorted(erased.items()) if v}
    row = conn.execute("INSERT INTO erasures (ts, actor, hash, note, erased) VALUES (?, ?, ?, ?, ?) RETURNING id",
                       (now, actor, digest, note,
                        json.dumps({**counts, "suppressions_kept": len(live)}, sort_keys=True))).fetchone()
    names = dict(conn.execute("SELECT id, value FROM names WHERE kind = 'campaign'"))
    kept = [Kept(names.get(r[0]), SUPPRESSION_REASONS[r[1] - 1], r[2], r[3]) for r in live]
    return Erasure(row[0], now, actor, digest, note, counts, kept)


def _person_id(conn, address: str) -> int | None:
    row = conn.execute("SELECT id FROM persons WHERE hash = ? AND address = ?", (hash32(address), address)).fetchone()
    return row[0] if row else None


def _event_count(conn, person: int) -> int:
    sends, outcomes = conn.execute("SELECT count(*), count(out_ts) FROM sends WHERE person = ?", (person,)).fetchone()
    soft = conn.execute("SELECT count(*) FROM soft_bounces WHERE send IN (SELECT id FROM sends WHERE person = ?)",
                        (person,)).fetchone()[0]
    actions = conn.execute("SELECT count(*) FROM actions WHERE person = ?", (person,)).fetchone()[0]
    return sends + outcomes + soft + actions


def _live(conn, address: str, digest: str, now: int) -> list[tuple]:
    """(scope, reason, since, until, valid_from, valid_to, key) of every
    suppression in force at `now` or later: the person's versions, and what
    an earlier erasure (or an import) kept under the hash and no release lifted."""
    rows = []
    person = _person_id(conn, address)
    if person is not None:
        rows += conn.execute(
            "SELECT scope, reason, since, until, valid_from, valid_to, NULL FROM suppressions WHERE person = ? "
            "AND (valid_to IS NULL OR valid_to > ?) AND (until IS NULL OR until > ?)", (person, now, now)).fetchall()
    rows += conn.execute(
        "SELECT scope, reason, since, until, valid_from, valid_to, key FROM forgotten_suppressions WHERE hash = ? "
        "AND (valid_to IS NULL OR valid_to > ?) AND (until IS NULL OR until > ?)", (digest, now, now)).fetchall()
    return sorted(set(rows), key=lambda r: (r[2], r[1], r[0] or 0, r[6] or 0))


# -- the person's own rows --------------------------------------------------

def _erase_person(conn, person: int, config, erased: Counter) -> set[int]:
    """Delete the person's rows and take their contributions out of the
    hourly counts; returns the texts.ids those rows used."""
    from .writer import Writer
    texts = set()
    for table, column in TEXT_REFERENCES:
        join = "JOIN sends s ON s.id = t.send WHERE s.person = ?" if table == "soft_bounces" else "WHERE t.person = ?"
        texts.update(r[0] for r in conn.execute(f"SELECT DISTINCT t.{column} FROM {table} t {join}", (person,))
                     if r[0] is not None)
    erased["events"] += _event_count(conn, person)
    # The counts' one definition is the writer's: what a row contributed is taken away.
    writer = Writer(conn, config)
    counts, spans, domain_counts = Counter(), {}, defaultdict(lambda: [0, 0, 0, 0])
    acc = (counts, spans, domain_counts)
    soft = {r[0]: r for r in conn.execute(
        "SELECT b.* FROM soft_bounces b JOIN sends s ON s.id = b.send WHERE s.person = ?", (person,))}
    for row in conn.execute("SELECT * FROM sends WHERE person = ?", (person,)).fetchall():
        writer._contribute(row, soft.get(row[0]), acc, -1)
    for row in conn.execute("SELECT * FROM actions WHERE person = ?", (person,)).fetchall():
        writer._contribute_action(row, acc, -1)
    writer._counts(counts, {}, domain_counts)
    conn.execute("DELETE FROM soft_bounces WHERE send IN (SELECT id FROM sends WHERE person = ?)", (person,))
    conn.execute("DELETE FROM dns_doubts WHERE send IN (SELECT id FROM sends WHERE person = ?)", (person,))
    erased["sends"] += conn.execute("DELETE FROM sends WHERE person = ?", (person,)).rowcount
    erased["other_events"] += conn.execute("DELETE FROM actions WHERE person = ?", (person,)).rowcount
    conn.execute("DELETE FROM suppressions WHERE person = ?", (person,))
    conn.execute("DELETE FROM persons WHERE id = ?", (person,))
    _fix_spans(conn, spans)
    return texts


def _fix_spans(conn, spans: dict) -> None:
    """First and last event time of each hour the person had events in, from
    what is left; an hour left with nothing loses its rows."""
    from .schema import M_FIRST, M_LAST
    kinds = ", ".join(map(str, ACTIVITY_ACTIONS))
    for hour, campaign in spans:
        lo, hi = hour * 3600, hour * 3600 + 3600
        args = (lo, hi, campaign)
        first, last = conn.execute(f"""
            SELECT min(t), max(t) FROM (
                SELECT sent_ts AS t FROM sends WHERE sent_ts >= ? AND sent_ts < ? AND coalesce(campaign, 0) = ?
                UNION ALL SELECT out_ts FROM sends WHERE out_ts >= ? AND out_ts < ? AND coalesce(campaign, 0) = ?
                UNION ALL SELECT b.first_ts FROM soft_bounces b JOIN sends s ON s.id = b.send
                    WHERE b.first_ts >= ? AND b.first_ts < ? AND coalesce(s.campaign, 0) = ?
                UNION ALL SELECT ts FROM actions WHERE ts >= ? AND ts < ? AND coalesce(campaign, 0) = ?
                    AND type IN ({kinds}))""", args * 4).fetchone()
        if first is None:
            conn.execute("DELETE FROM counts WHERE hour = ? AND campaign = ?", (hour, campaign))
        else:
            conn.execute("UPDATE counts SET n = ? WHERE hour = ? AND campaign = ? AND metric = ?",
                         (first, hour, campaign, M_FIRST))
            conn.execute("UPDATE counts SET n = ? WHERE hour = ? AND campaign = ? AND metric = ?",
                         (last, hour, campaign, M_LAST))
            conn.execute(f"DELETE FROM counts WHERE hour = ? AND campaign = ? AND n = 0 AND metric < {M_FIRST}",
                         (hour, campaign))
        conn.execute("DELETE FROM domain_counts WHERE hour = ? AND campaign = ? AND sent = 0 AND delivered = 0 "
                     "AND hard = 0 AND soft = 0", (hour, campaign))


# -- the address elsewhere -------------------------------------------------

def _scrub_rejects(conn, needle: Needle, erased: Counter) -> None:
    """A rejected line that names the address loses its text; the file,
    line number and why stay (without the address)."""
    clauses, args = zip(*(needle.where(c) for c in ("text", "why", "file")))
    erased["rejected_lines"] += conn.execute(
        "UPDATE rejects SET text = CASE WHEN forget_match(text) THEN NULL ELSE text END, "
        "why = forget_scrub(why), file = forget_scrub(file) WHERE " + " OR ".join(f"({c})" for c in clauses),
        [a for part in args for a in part]).rowcount


def _scrub_open_messages(conn, needle: Needle, erased: Counter) -> None:
    """An open message loses the person's send views; when its state still
    names the address (or cannot be read), the whole state goes."""
    where, args = needle.where("state")
    for key, state in conn.execute(f"SELECT key, state FROM open_messages WHERE {where}", args).fetchall():
        erased["open_messages"] += 1
        new = _without(state, needle.address)
        if new is None or needle.matches(new):
            conn.execute("DELETE FROM open_messages WHERE key = ?", (key,))
        else:
            conn.execute("UPDATE open_messages SET state = ? WHERE key = ?", (new, key))


def _without(state: str, address: str) -> str | None:
    try:
        from ..correlate import MessageState
        message = MessageState.from_json(json.loads(state))
        message.sends = {p: v for p, v in message.sends.items() if (p or "").lower() != address}
        message.settled = {p for p in message.settled if (p or "").lower() != address}
        return json.dumps(message.to_json(), separators=(",", ":"))
    except Exception:  # noqa: BLE001 - a state we cannot read is dropped rather than kept
        return None


def _referenced(conn, ids: set[int]) -> set[int]:
    """Which of these texts.ids some row still uses."""
    if not ids:
        return set()
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS forget_texts (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM forget_texts")
    conn.executemany("INSERT INTO forget_texts VALUES (?)", [(i,) for i in ids])
    used = set()
    for table, column in TEXT_REFERENCES:
        used.update(r[0] for r in conn.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN (SELECT id FROM forget_texts)"))
    conn.execute("DELETE FROM forget_texts")
    return used


def _scrub_texts(conn, needle: Needle, candidates: set[int], erased: Counter) -> None:
    """Templates only the person's rows used are deleted; a template that
    holds the address (not as the \\x01 placeholder: another case, or
    someone else's reply that names it) is deleted when unused, else
    rewritten without it (merged into an equal template if there is one)."""
    where, args = needle.where("template")
    naming = dict(conn.execute(f"SELECT id, template FROM texts WHERE {where}", args).fetchall())
    used = _referenced(conn, candidates | set(naming))
    unused = sorted((candidates | set(naming)) - used)
    for i in range(0, len(unused), 400):
        chunk = unused[i:i + 400]
        conn.execute(f"DELETE FROM texts WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
    erased["texts"] += sum(1 for i in unused if i in naming)
    for text_id, template in naming.items():
        if text_id not in used:
            continue
        erased["texts"] += 1
        new = needle.scrub(template)
        same = conn.execute("SELECT id FROM texts WHERE template = ?", (new,)).fetchone()
        if same is None:
            conn.execute("UPDATE texts SET template = ? WHERE id = ?", (new, text_id))
            continue
        for table, column in TEXT_REFERENCES:
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (same[0], text_id))
        conn.execute("DELETE FROM texts WHERE id = ?", (text_id,))


def _scrub_names(conn, needle: Needle, erased: Counter) -> None:
    where, args = needle.where("value")
    for name_id, kind, value in conn.execute(f"SELECT id, kind, value FROM names WHERE {where}", args).fetchall():
        new = needle.scrub(value)
        if conn.execute("SELECT 1 FROM names WHERE kind = ? AND value = ?", (kind, new)).fetchone():
            new = f"{new} #{name_id}"
        conn.execute("UPDATE names SET value = ? WHERE id = ?", (new, name_id))
        erased["other_values"] += 1


def _scrub_other(conn, needle: Needle, erased: Counter) -> None:
    """Every other text column of every table (message ids, URL arguments,
    notes, file paths... of other people's rows) with the address replaced."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        if table in OWN_RULES:
            continue
        for _, column, declared, *_ in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
            if "TEXT" not in (declared or "TEXT").upper():
                continue
            quoted = f'"{column}"'
            where, args = needle.where(quoted)
            erased["other_values"] += conn.execute(
                f'UPDATE "{table}" SET {quoted} = forget_scrub({quoted}) WHERE {where}', args).rowcount


# -- releases of forgotten people -----------------------------------------------

def release(conn, address: str, scope_id: int | None, ts: int) -> int:
    """A `release` of a forgotten address lifts what is kept under its hash
    (all of it, or one campaign's), as a release lifts a person's versions."""
    if not conn.execute("SELECT 1 FROM forgotten_suppressions LIMIT 1").fetchone():
        return 0
    where = "" if scope_id is None else " AND scope = ?"
    return conn.execute(f"UPDATE forgotten_suppressions SET valid_to = ? WHERE hash = ? AND valid_from <= ? "
                        f"AND valid_to IS NULL{where}",
                        (ts, address_hash(conn, address), ts, *([] if scope_id is None else [scope_id]))).rowcount


# -- no copy left in the files -------------------------------------------------

@dataclass
class Finished:
    checkpointed: bool            # the WAL was copied into the database and emptied
    vacuumed: bool                # a stale copy in free space made us rebuild the file
    found_in: list[str]           # files that still hold the address (should be none)


def finish(conn, path: Path, address: str, *, wait: float = 10.0) -> Finished:
    """Checkpoint and truncate the WAL, then search the files; a copy left
    in free space (a row deleted before `secure_delete` was on) is removed by
    VACUUM. Call after the erasure committed."""
    needle = Needle(address)
    checkpointed = _checkpoint(conn, wait)
    found = files_holding(path, needle)
    vacuumed = False
    if found and checkpointed:
        conn.execute("PRAGMA temp_store = FILE")  # VACUUM copies the database into a temporary one
        try:
            conn.execute("VACUUM")
        finally:
            conn.execute("PRAGMA temp_store = MEMORY")
        vacuumed = True
        checkpointed = _checkpoint(conn, wait)
        found = files_holding(path, needle)
    return Finished(checkpointed, vacuumed, found)


def _checkpoint(conn, wait: float) -> bool:
    """PRAGMA wal_checkpoint(TRUNCATE), retried for `wait` seconds while
    readers hold old pages (each try waits at most a little for them)."""
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 200")
    try:
        deadline = time.monotonic() + wait
        while True:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")


def files_holding(path: Path, needle: Needle, chunk: int = 16 << 20) -> list[str]:
    """The database's files (main, -wal, -shm) whose bytes hold the address."""
    found = []
    overlap = max(len(f) for f in needle.bytes_forms) + 2
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        if not os.path.exists(name):
            continue
        with open(name, "rb") as f:
            tail = b""
            while True:
                data = f.read(chunk)
                if not data:
                    break
                if needle.in_bytes(tail + data):
                    found.append(name)
                    break
                tail = data[-overlap:]
    return found
