"""Writing ingest batches into the compact store, and keeping the derived
state (suppression intervals, hourly counts) in step in the same transaction.

A batch brings the sends that changed (one record per send, see
correlate.Correlator.record), the other events, rejects, open message state
and how far a file was read. Each send record is the whole of what this run
knows of that send: the writer merges it with what the database holds
(`merge_sends`: re-read lines change nothing, a later view adds to it) and
writes the row. Counts are kept as differences: what a row contributed
before is taken away, what it contributes now is added (`contributions` is
the one definition, also used by `rebuild`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from .. import cython_shim as cython

from ..correlate import CONTINUING, FINAL, R_CAMPAIGN, R_EMAIL, R_FLAGS, R_FORMAT, R_HANDLE, R_HOST, R_MESSAGE_ID, \
    R_MKEY, R_OUTCOME, R_PERSON, R_QUEUE_ID
from ..events import HARD_BOUNCED, DELIVERED as DELIVERED_TYPE, SENT, SOFT_BOUNCED
from . import bulk
from .dialect import POSTGRES, dialect_of
from .codec import hash32, hash63, join_text, split_message_id, split_text, split_url
from .schema import (CLASS_CODE, CLASS_OF_OUTCOME, DELIVERED, M_DELIVERED, M_FIRST, M_HARD, M_LAST, M_SENT,
                     M_SOFT, M_TYPE, OUTCOME_OF_CLASS, TYPE_CODE)

# Columns of a sends row, in table order (the writer works on whole rows).
SEND_COLUMNS = ("id", "person", "mkey", "campaign", "email", "host", "format", "queue_id", "mid", "mid_arg",
                "sent_ts", "sent_file", "sent_line", "outcome", "out_ts", "out_file", "out_line",
                "out_reason", "out_code", "out_dsn", "out_text", "out_arg")
(S_ID, S_PERSON, S_MKEY, S_CAMPAIGN, S_EMAIL, S_HOST, S_FORMAT, S_QUEUE_ID, S_MID, S_MID_ARG, S_SENT_TS,
 S_SENT_FILE, S_SENT_LINE, S_OUTCOME, S_OUT_TS, S_OUT_FILE, S_OUT_LINE, S_OUT_REASON, S_OUT_CODE, S_OUT_DSN,
 S_OUT_TEXT, S_OUT_ARG) = range(len(SEND_COLUMNS))
SOFT_COLUMNS = ("send", "first_ts", "first_file", "first_line", "attempts", "last_ts", "reason", "code", "dsn",
                "text", "arg", "first_reason", "first_code", "first_dsn", "first_text", "first_arg", "resolved_ts",
                "person", "campaign")
(F_SEND, F_FIRST_TS, F_FIRST_FILE, F_FIRST_LINE, F_ATTEMPTS, F_LAST_TS, F_REASON, F_CODE, F_DSN, F_TEXT, F_ARG,
 F_FIRST_REASON, F_FIRST_CODE, F_FIRST_DSN, F_FIRST_TEXT, F_FIRST_ARG, F_RESOLVED, F_PERSON,
 F_CAMPAIGN) = range(len(SOFT_COLUMNS))
ACTION_COLUMNS = ("id", "ts", "type", "person", "key", "campaign", "email", "host", "format", "queue_id", "mid",
                  "mid_arg", "file", "line", "url", "url_arg", "machine", "note", "actor", "scope", "until",
                  "class", "reason", "code", "dsn", "text", "arg", "send")
(A_ID, A_TS, A_TYPE, A_PERSON, A_KEY, A_CAMPAIGN, A_EMAIL, A_HOST, A_FORMAT, A_QUEUE_ID, A_MID, A_MID_ARG,
 A_FILE, A_LINE, A_URL, A_URL_ARG, A_MACHINE, A_NOTE, A_ACTOR, A_SCOPE, A_UNTIL, A_CLASS, A_REASON, A_CODE,
 A_DSN, A_TEXT, A_ARG, A_SEND) = range(len(ACTION_COLUMNS))
COUNT_COLUMNS = ("hour", "campaign", "metric", "n")
DOMAIN_COUNT_COLUMNS = ("hour", "campaign", "domain", "sent", "delivered", "hard", "soft")
REJECT_COLUMNS = ("file", "line_no", "why", "text", "format", "seen_at", "file_fingerprint")
SUPPRESSING = {TYPE_CODE[t] for t in ("unsubscribed", "complained", "manual_suppressed", "released")}

CACHE_PERSONS = 50_000
CACHE_TEXTS = 20_000
CHUNK = 400  # ids per IN (...) query
_NO_OUTCOME = (None,) * 9  # the outcome columns of a send without one
ID_BLOCK = 1000  # ids a writer takes at a time from a shared database


@dataclass
class BatchResult:
    added: Counter = field(default_factory=Counter)   # new events by type
    known: int = 0                                    # events that were stored already
    resolver_demoted: int = 0                         # hard bounces taken as our resolver failing
    resolver_soft: int = 0                            # ... of which soft bounces they made (no deferral before)
    new_persons: int = 0


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


@cython.cclass
class Bits:
    """A fixed set of bits indexed by a hash: `maybe(h)` is False only for
    values never added (a one-hash Bloom filter, 4 MB). Compiled, the
    arithmetic is on machine words: the product wraps at 64 bits, which
    leaves its low 25 bits, the slot, as Python computes them."""

    bits = cython.declare(bytearray)

    def __init__(self):
        self.bits = bytearray(BITS >> 3)

    @cython.locals(h=cython.ulonglong, i=cython.ulonglong)
    def add(self, value: int) -> None:
        h = value & 0xFFFFFFFFFFFFFFFF
        i = (h * 0x9E3779B1) & (BITS - 1)
        self.bits[i >> 3] |= 1 << (i & 7)

    @cython.locals(h=cython.ulonglong, i=cython.ulonglong)
    def maybe(self, value: int) -> bool:
        h = value & 0xFFFFFFFFFFFFFFFF
        i = (h * 0x9E3779B1) & (BITS - 1)
        return (self.bits[i >> 3] >> (i & 7)) & 1 == 1


BITS = 1 << 25  # bits in a Bits


class Ids:
    """New ids of one table. With SQLite one writer runs at a time: the next
    after the highest. In a shared database each writer takes blocks from a
    sequence, so two hosts never hand out the same id."""

    def __init__(self, conn, table: str):
        self.conn, self.table = conn, table
        self.shared = dialect_of(conn) is POSTGRES
        if self.shared:
            self.next = self.limit = 0
        else:
            self.next = (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
            self.limit = 1 << 62

    def take(self) -> int:
        if self.next >= self.limit:
            self.next = self.conn.execute(f"SELECT nextval('ids_{self.table}')").fetchone()[0]
            self.limit = self.next + ID_BLOCK
        id_ = self.next
        self.next += 1
        return id_

    def peek(self) -> int:
        """The id the next `take` gives."""
        if self.next >= self.limit:
            id_ = self.take()
            self.next -= 1
            return id_
        return self.next


class Writer:
    """Writes batches through one connection (the caller holds the
    transaction). Remembers the rows of the sends this run still follows, so
    their next records merge without reading them again. `prefix` names this
    host in a shared database: its file fingerprints and open message keys
    are stored under it."""

    def __init__(self, conn, config, prefix: str = ""):
        self.conn = conn
        self.config = config
        self.prefix = prefix
        self.shared = dialect_of(conn) is POSTGRES
        self.greatest, self.least = dialect_of(conn).greatest, dialect_of(conn).least
        self.names: dict[tuple[str, str], int] = {}
        self.sources: dict[tuple, int] = {}
        self.texts: dict[str, int] = {}
        self.persons: dict[str, int] = {}
        self.domains: dict[int, int] = {}  # person id -> domain name id, for the persons in `persons`
        # handle -> [send id, stored send row or None, stored soft row or None]
        self.handles: dict[int, list] = {}
        self.seen: set[int] = set()  # handles that brought a record in this run
        self.send_ids, self.action_ids, self.person_ids_ = Ids(conn, "sends"), Ids(conn, "actions"), Ids(conn, "persons")
        self.last_action = None  # the id of the last action inserted
        self.touched: set[int] = set()  # persons whose suppressions must be recomputed
        self.first_person = self.person_ids_.peek()
        self.new_persons = 0
        # Persons and sends made in this run, as bits of a hash: a clear bit
        # means "certainly not made in this run", so no lookup is needed for
        # the common case of a new person and a new send.
        self.made_persons = Bits()
        self.made_sends = Bits()
        # Else every person not made in this run is new (one writer only).
        self.persons_before = self.first_person > 1 or self.shared
        self._load_names()
        from .doubts import Doubts
        self.doubts = Doubts(self)

    def _load_names(self) -> None:
        for kind, value, id_ in self.conn.execute("SELECT kind, value, id FROM names"):
            self.names[(kind, value)] = id_

    def forget(self) -> None:
        """Drop what this writer remembers of the database, after a batch
        that was rolled back (another host's conflicting write): the next try
        reads everything again."""
        self.names, self.sources, self.texts, self.persons, self.domains = {}, {}, {}, {}, {}
        self.handles = {}
        self.touched = set()
        self._load_names()
        self.doubts.begin()

    def _get_or_insert(self, select: str, insert: str, key) -> int:
        """The id of a vocabulary row, added when missing; another writer may
        add the same row at the same moment (then its id is taken)."""
        row = self.conn.execute(select, key).fetchone()
        if row is None:
            row = self.conn.execute(insert + " ON CONFLICT DO NOTHING RETURNING id", key).fetchone()
            if row is None:
                row = self.conn.execute(select, key).fetchone()
        return row[0]

    # -- vocabularies ------------------------------------------------------
    def name(self, kind: str, value: str | None) -> int | None:
        if value is None:
            return None
        key = (kind, value)
        found = self.names.get(key)
        if found is None:
            found = self.names[key] = self._get_or_insert("SELECT id FROM names WHERE kind = ? AND value = ?",
                                                          "INSERT INTO names (kind, value) VALUES (?, ?)", key)
        return found

    def source(self, src) -> int | None:
        """sources.id of (fingerprint, label); a label alone has no fingerprint."""
        if src is None:
            return None
        if isinstance(src, str):
            src = (None, src)
        found = self.sources.get(src)
        if found is None:
            key = (None if src[0] is None else self.prefix + src[0], src[1])
            found = self.sources[src] = self._get_or_insert(
                "SELECT id FROM sources WHERE fingerprint IS ? AND label = ?",
                "INSERT INTO sources (fingerprint, label) VALUES (?, ?)", key)
        return found

    def source_of(self, source_id: int | None):
        """(fingerprint, label) of a sources.id."""
        if source_id is None:
            return None
        for src, id_ in self.sources.items():
            if id_ == source_id:
                return src
        row = self.conn.execute("SELECT fingerprint, label FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            return None
        fingerprint = row[0]
        if fingerprint is not None and fingerprint.startswith(self.prefix):
            fingerprint = fingerprint[len(self.prefix):]
        return fingerprint, row[1]

    def text(self, template: str | None) -> int | None:
        if template is None:
            return None
        found = self.texts.get(template)
        if found is None:
            found = self._get_or_insert("SELECT id FROM texts WHERE template = ?",
                                        "INSERT INTO texts (template) VALUES (?)", (template,))
            if len(self.texts) >= CACHE_TEXTS:
                self.texts.clear()
            self.texts[template] = found
        return found

    def split(self, text: str | None, address: str | None) -> tuple[int | None, str | None]:
        template, arg = split_text(text, address)
        return self.text(template), arg

    def person_ids(self, addresses) -> dict[str, int]:
        """Address -> persons.id, adding the new ones (looked up in chunks)."""
        addresses = set(addresses)
        want = {a for a in addresses if a not in self.persons}
        if want:
            if len(self.persons) + len(want) > CACHE_PERSONS:
                self.persons = {a: i for a, i in self.persons.items() if a in addresses}
                self.domains = {i: self.domains.get(i) for i in self.persons.values()}
            by_hash = defaultdict(list)
            made = self.made_persons
            hashes = {address: hash32(address) for address in want}
            for address, h in hashes.items():
                if self.persons_before or made.maybe(h):
                    by_hash[h].append(address)
            searched = list(by_hash)
            for i in range(0, len(searched), CHUNK):
                chunk = searched[i:i + CHUNK]
                for id_, address, domain in self.conn.execute(
                        f"SELECT id, address, domain FROM persons WHERE hash IN ({_placeholders(len(chunk))})", chunk):
                    if address in want:
                        self.persons[address] = id_
                        self.domains[id_] = domain
            # In hash order: the persons_hash index takes them in one sweep.
            new = sorted((a for a in want if a not in self.persons), key=lambda a: (hashes[a], a))
            rows = []
            take = self.person_ids_.take
            for address in new:
                id_ = take()
                domain = self.name("domain", address.rpartition("@")[2] or address)
                self.persons[address] = id_
                self.domains[id_] = domain
                h = hashes[address]
                made.add(h)
                rows.append((id_, h, address, domain))
            if self.shared:
                self._insert_shared_persons(rows)
            else:
                self.conn.executemany("INSERT INTO persons (id, hash, address, domain) VALUES (?, ?, ?, ?)", rows)
                self.new_persons += len(rows)
        persons = self.persons
        return {a: persons[a] for a in addresses}

    def _insert_shared_persons(self, rows: list[tuple]) -> None:
        """Persons into a shared database: another host may have added some
        of them a moment ago; theirs keep their ids."""
        made = set()
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            made.update(r[0] for r in self.conn.execute(
                "INSERT INTO persons (id, hash, address, domain) VALUES "
                + ", ".join(["(?, ?, ?, ?)"] * len(chunk)) + " ON CONFLICT (address) DO NOTHING RETURNING id",
                [v for r in chunk for v in r]))
        self.new_persons += len(made)
        theirs = [r for r in rows if r[0] not in made]
        for i in range(0, len(theirs), CHUNK):
            chunk = theirs[i:i + CHUNK]
            for id_, address, domain in self.conn.execute(
                    f"SELECT id, address, domain FROM persons WHERE address IN ({_placeholders(len(chunk))})",
                    [r[2] for r in chunk]):
                self.persons[address] = id_
                self.domains[id_] = domain

    def domain_of(self, person_id: int) -> int | None:
        domain = self.domains.get(person_id)
        if domain is None:
            row = self.conn.execute("SELECT domain FROM persons WHERE id = ?", (person_id,)).fetchone()
            domain = self.domains[person_id] = row[0] if row else None
        return domain

    # -- a batch -----------------------------------------------------------
    def write(self, sends: list[tuple], events: list, rejects=(), open_upserts=(), open_deletes=(),
              progress: dict | None = None, drops=(), finished=()) -> BatchResult:
        result = BatchResult()
        self.doubts.begin()
        counts = Counter()
        spans: dict[tuple, list] = {}
        domain_counts = defaultdict(lambda: [0, 0, 0, 0])
        acc = (counts, spans, domain_counts)
        before = self.new_persons
        if drops:
            self._drop(drops, acc)
        if sends:
            self._sends(sends, result, acc)
        if events:
            self._actions(events, result, acc)
        self.doubts.settle(result, acc)
        self._counts(counts, spans, domain_counts)
        if self.touched:
            self._recompute()
        prefix, conn = self.prefix, self.conn
        bulk.insert(conn, "open_messages", ("key", "last_ts", "state"),
                    [(prefix + k, ts, json.dumps(state, separators=(",", ":"))) for k, ts, state in open_upserts],
                    tail="ON CONFLICT (key) DO UPDATE SET last_ts = excluded.last_ts, state = excluded.state", key=0)
        bulk.delete(conn, "open_messages", "key", [prefix + k for k in open_deletes])
        bulk.insert(conn, "rejects", REJECT_COLUMNS,
                    [(r["file"], r["line_no"], r["why"], r["text"], r["format"], r["seen_at"],
                      self._key(r["file_fingerprint"])) for r in rejects], tail="ON CONFLICT DO NOTHING")
        if progress:
            save_progress(conn, {**progress, "fingerprint": self._key(progress["fingerprint"])})
        for handle in finished:  # no more records will come for these: what the writer kept goes
            self.handles.pop(handle, None)
            self.seen.discard(handle)
        result.new_persons = self.new_persons - before
        return result

    def _key(self, fingerprint: str | None) -> str | None:
        return None if fingerprint is None else self.prefix + fingerprint

    def _recompute(self) -> None:
        """The touched persons' suppressions again. In a shared database
        their rows are locked first: another host adding an event for the
        same person waits, then computes with this one's events in view."""
        from .suppressions import recompute
        persons = sorted(self.touched)
        if self.shared:
            for i in range(0, len(persons), CHUNK):
                chunk = persons[i:i + CHUNK]
                self.conn.execute(f"SELECT id FROM persons WHERE id IN ({_placeholders(len(chunk))}) "
                                  "ORDER BY id FOR UPDATE", chunk).fetchall()
        recompute(self.conn, persons, self.config)
        self.touched.clear()

    # -- sends -------------------------------------------------------------
    def _sends(self, records: list[tuple], result: BatchResult, acc) -> None:
        ids = self.person_ids({r[R_PERSON] for r in records})
        fresh = [r for r in records if r[R_HANDLE] not in self.handles]
        if fresh:
            self._find_existing(fresh, ids)
        inserts, updates, soft_writes, extras = [], [], [], []
        for record in records:
            handle = record[R_HANDLE]
            entry = self.handles[handle]
            send_id, stored, stored_soft = entry
            row, soft, outcomes = self._row(record, send_id, ids[record[R_PERSON]])
            moved = []
            if stored is not None:
                row, soft, displaced = merge_sends(stored, stored_soft, row, soft)
                for d in displaced:
                    (moved if d is stored else outcomes).append(self._outcome_of(d, record[R_PERSON]))
            first_sight = handle not in self.seen
            self.seen.add(handle)
            self._count_new(stored, stored_soft, row, soft, record,
                            first_sight and not record[R_FLAGS] & CONTINUING, result)
            if stored is not None:
                self._contribute(stored, stored_soft, acc, -1)
            self._contribute(row, soft, acc, +1)
            if stored is None:
                inserts.append(row)
            elif stored != row:
                updates.append(row)
            if soft is not None and soft != stored_soft:
                soft_writes.append(soft)
            if _hard_key(stored) != _hard_key(row):
                self.touched.add(row[S_PERSON])
            entry[1], entry[2] = row, soft
            self.doubts.note_row(entry, row, _outcome_type(stored) != HARD_BOUNCED)
            extras.extend(_Extra(o, record, send_id) for o in outcomes)
            extras.extend(_Extra(o, record, send_id, moved=True) for o in moved)
            if record[R_FLAGS] & FINAL:
                del self.handles[handle]
                self.seen.discard(handle)
        conn = self.conn
        bulk.insert(conn, "sends", SEND_COLUMNS, inserts)
        bulk.update(conn, "sends", SEND_COLUMNS, updates)
        bulk.insert(conn, "soft_bounces", SOFT_COLUMNS, soft_writes, key=F_SEND,
                    tail=f"ON CONFLICT (send) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in SOFT_COLUMNS[1:])}")
        if extras:
            self._actions(extras, result, acc)

    def _drop(self, records: list[tuple], acc) -> None:
        """Remove the sends these records name (a copy's, folded into the
        original send of a hand-off), and what they gave the counts."""
        ids = self.person_ids({r[R_PERSON] for r in records})
        fresh = [r for r in records if r[R_HANDLE] not in self.handles]
        if fresh:
            self._find_existing(fresh, ids, make=False)
        for record in records:
            entry = self.handles.pop(record[R_HANDLE], None)
            self.seen.discard(record[R_HANDLE])
            if entry is None or entry[1] is None:
                continue
            send_id, row, soft = entry
            self._contribute(row, soft, acc, -1)
            for action in self.conn.execute("SELECT * FROM actions WHERE send = ?", (send_id,)).fetchall():
                self._contribute_action(action, acc, -1)
            self.conn.execute("DELETE FROM actions WHERE send = ?", (send_id,))
            self.conn.execute("DELETE FROM soft_bounces WHERE send = ?", (send_id,))
            self.conn.execute("DELETE FROM dns_doubts WHERE send = ?", (send_id,))
            self.conn.execute("DELETE FROM sends WHERE id = ?", (send_id,))
            self.touched.add(row[S_PERSON])
            entry[1] = entry[2] = None

    def _find_existing(self, fresh: list[tuple], ids: dict[str, int], make: bool = True) -> None:
        """Give each send new to this run its entry [id, stored row, stored
        soft row]: the row already stored for it (the same message and
        person), else a new id. Two records of one send in a batch share one
        entry, so the second merges into the first."""
        wanted = defaultdict(list)  # (person, mkey) -> records
        for record in fresh:
            wanted[(ids[record[R_PERSON]], record[R_MKEY])].append(record)
        found = defaultdict(list)  # (person, mkey) -> stored rows
        first, made = self.first_person, self.made_sends
        keys = [k for k in wanted if k[0] < first or made.maybe((k[0] << 32) | k[1])]
        ids = []
        for i in range(0, len(keys), CHUNK):  # the index alone, then the rows it names
            chunk = keys[i:i + CHUNK]
            sql = self._pairs_sql("sends", "id", "person", "mkey", len(chunk))
            ids.extend(r[0] for r in self.conn.execute(sql, [v for k in chunk for v in k]))
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            for row in self.conn.execute(f"SELECT * FROM sends WHERE id IN ({_placeholders(len(chunk))})", chunk):
                found[(row[S_PERSON], row[S_MKEY])].append(row)
        matched = []
        for key, records in wanted.items():
            entries: list[tuple[tuple, list]] = []  # (identity, entry) met under this key in this batch
            for record in records:
                identity = self._identity(record)
                entry = next((e for i, e in entries if i == identity), None)
                if entry is None:
                    row = next((r for r in found.get(key, ()) if (r[S_QUEUE_ID], r[S_HOST], r[S_FORMAT]) == identity),
                               None)
                    if row is None:
                        if not make:
                            continue
                        entry = [self.send_ids.take(), None, None]
                        self.made_sends.add((key[0] << 32) | key[1])
                    else:
                        entry = [row[S_ID], row, None]
                        matched.append(entry)
                    entries.append((identity, entry))
                self.handles[record[R_HANDLE]] = entry
        for i in range(0, len(matched), CHUNK):
            chunk = {e[0]: e for e in matched[i:i + CHUNK]}
            for soft in self.conn.execute(
                    f"SELECT * FROM soft_bounces WHERE send IN ({_placeholders(len(chunk))})", list(chunk)):
                chunk[soft[F_SEND]][2] = soft

    def _pairs_sql(self, table: str, columns: str, a: str, b: str, n: int) -> str:
        """The rows of `table` whose (a, b) is one of n distinct pairs, each
        found by a search of the index on (a, b). SQLite answers a row-value
        `IN (VALUES ...)` by reading the whole index instead: at 10 M events
        2.7 s a query, 2,000 times the join's 1.3 ms, which made a big ingest
        slow down as it went. PostgreSQL searches for either (and types the
        parameters of the IN form only)."""
        pairs = ", ".join(["(?, ?)"] * n)
        if self.shared:
            return f"SELECT {columns} FROM {table} WHERE ({a}, {b}) IN (VALUES {pairs})"
        return (f"SELECT t.{columns} FROM (VALUES {pairs}) AS k CROSS JOIN {table} t "
                f"ON t.{a} = k.column1 AND t.{b} = k.column2")

    def _identity(self, record: tuple) -> tuple:
        """What must agree besides the mkey hash (which could collide)."""
        return (record[R_QUEUE_ID], self.name("host", record[R_HOST]), self.name("format", record[R_FORMAT]))

    def _row(self, record: tuple, send_id: int, person_id: int) -> tuple[tuple, tuple | None, list]:
        """A send record as a sends row and a soft_bounces row. The earliest
        outcome is the row's; outcomes of another type are returned, to be
        stored as action events."""
        name = self.name
        # One unpacking instead of a lookup per field: compiled, each
        # record[R_...] was a global lookup and a generic subscript.
        (_, _, address, mkey, campaign, email, host, fmt, queue_id, message_id, sent_ts, sent_src, sent_line,
         kind, out_ts, out_src, out_line, cls, reason, code, dsn, detail, view, extra) = record
        if extra:
            outcomes = [(kind, out_ts, out_src, out_line, cls, reason, code, dsn, detail)] if kind else []
            outcomes.extend(extra)
            outcomes.sort(key=lambda o: o[1])
            kind, out_ts, out_src, out_line, cls, reason, code, dsn, detail = outcomes.pop(0)
        else:
            outcomes = []
        # The texts become template and argument here (`split`), not in the
        # parsing process, which is the busier of the two.
        mid, mid_arg = split_message_id(message_id)
        if kind:
            outcome = DELIVERED if kind == DELIVERED_TYPE else OUTCOME_OF_CLASS.get(cls, 5)
            out = (outcome, out_ts, self.source(out_src), out_line, name("reason", reason), code,
                   name("dsn", dsn), *self.split(detail, address))
        else:
            out = _NO_OUTCOME
        row = (send_id, person_id, mkey, name("campaign", campaign), name("email", email), name("host", host),
               name("format", fmt), queue_id, self.text(mid), mid_arg, sent_ts, self.source(sent_src),
               sent_line, *out)
        soft = None
        if view is not None:
            (first_ts, first_src, first_line, attempts, last_ts, s_reason, s_code, s_dsn, s_detail,
             f_reason, f_code, f_dsn, f_detail) = view
            soft = (send_id, first_ts, self.source(first_src), first_line, attempts, last_ts,
                    name("reason", s_reason), s_code, name("dsn", s_dsn), *self.split(s_detail, address),
                    name("reason", f_reason), f_code, name("dsn", f_dsn), *self.split(f_detail, address),
                    *of_send(row))
        return row, soft, outcomes

    def _outcome_of(self, row: tuple, address: str) -> tuple:
        """A stored row's outcome as a view outcome (names and text back)."""
        value = self.value_of
        kind = DELIVERED_TYPE if row[S_OUTCOME] == DELIVERED else HARD_BOUNCED
        template = self.template_of(row[S_OUT_TEXT])
        return (kind, row[S_OUT_TS], self.source_of(row[S_OUT_FILE]), row[S_OUT_LINE], CLASS_OF_OUTCOME.get(row[S_OUTCOME]),
                value(row[S_OUT_REASON]), row[S_OUT_CODE], value(row[S_OUT_DSN]),
                join_text(template, row[S_OUT_ARG], address))

    def value_of(self, name_id: int | None) -> str | None:
        if name_id is None:
            return None
        if self._values is None or name_id not in self._values:
            self._values = {id_: value for (_, value), id_ in self.names.items()}
        return self._values.get(name_id)

    _values = None

    def template_of(self, text_id: int | None) -> str | None:
        if text_id is None:
            return None
        row = self.conn.execute("SELECT template FROM texts WHERE id = ?", (text_id,)).fetchone()
        return row[0] if row else None

    def _count_new(self, stored, stored_soft, row, soft, record, first_sight: bool, result: BatchResult) -> None:
        """New events by type; a send met again (re-read lines) counts the
        events it brings that were stored already. Later soft-bounce facts
        are counted by the correlator, outcomes of a second type by _actions."""
        now, was = _outcome_type(row), _outcome_type(stored)
        if stored is None:
            result.added[SENT] += 1
        elif first_sight:
            result.known += 1
        if now is not None and now != was:
            result.added[now] += 1
        elif first_sight and now is not None and record[R_OUTCOME] == now:
            result.known += 1
        if soft is not None and stored_soft is None:
            result.added[SOFT_BOUNCED] += 1

    def _contribute(self, row: tuple, soft: tuple | None, acc, sign: int) -> None:
        counts, spans, domain_counts = acc
        campaign = row[S_CAMPAIGN] or 0
        domain = self.domain_of(row[S_PERSON]) or 0
        sent_hour = row[S_SENT_TS] // 3600
        counts[(sent_hour, campaign, M_SENT)] += sign
        d = domain_counts[(sent_hour, campaign, domain)]
        d[0] += sign
        _span(spans, sent_hour, campaign, row[S_SENT_TS])
        outcome = row[S_OUTCOME]
        if outcome is not None:
            hour = row[S_OUT_TS] // 3600
            d = domain_counts[(hour, campaign, domain)]
            _span(spans, hour, campaign, row[S_OUT_TS])
            if outcome == DELIVERED:
                counts[(hour, campaign, M_DELIVERED)] += sign
                d[1] += sign
            else:
                counts[(hour, campaign, M_HARD[outcome])] += sign
                d[2] += sign
        if soft is not None:
            hour = soft[F_FIRST_TS] // 3600
            counts[(hour, campaign, M_SOFT)] += sign
            domain_counts[(hour, campaign, domain)][3] += sign
            _span(spans, hour, campaign, soft[F_FIRST_TS])

    def _counts(self, counts: Counter, spans: dict, domain_counts: dict) -> None:
        # In key order: two hosts adding to the same rows take their locks
        # in the same order, and never wait for each other in a circle.
        conn = self.conn
        rows = [(*k, n) for k, n in counts.items() if n]
        rows.extend((h, c, M_FIRST, lo) for (h, c), (lo, _) in spans.items())
        rows.extend((h, c, M_LAST, hi) for (h, c), (_, hi) in spans.items())
        rows.sort()
        on_key, order = "ON CONFLICT (hour, campaign, metric) DO UPDATE SET n = ", "hour, campaign, metric"
        for chosen, update in ((lambda m: m < M_FIRST, "counts.n + excluded.n"),
                               (lambda m: m == M_FIRST, f"{self.least}(counts.n, excluded.n)"),
                               (lambda m: m == M_LAST, f"{self.greatest}(counts.n, excluded.n)")):
            bulk.insert(conn, "counts", COUNT_COLUMNS, [r for r in rows if chosen(r[2])], tail=on_key + update,
                        order=order)
        bulk.insert(conn, "domain_counts", DOMAIN_COUNT_COLUMNS,
                    sorted((*k, *v) for k, v in domain_counts.items() if any(v)),
                    tail="ON CONFLICT (hour, campaign, domain) DO UPDATE SET sent = domain_counts.sent + excluded.sent, "
                         "delivered = domain_counts.delivered + excluded.delivered, "
                         "hard = domain_counts.hard + excluded.hard, soft = domain_counts.soft + excluded.soft",
                    order="hour, campaign, domain")

    # -- reading a file again ---------------------------------------------
    def remove_source(self, fingerprint: str) -> int:
        """Take out every send and action read from the input with this
        fingerprint (and what they gave the counts), its rejects and read
        position; suppressions of the persons concerned are computed again."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM sources WHERE fingerprint = ?", (fingerprint,))]
        removed = 0
        if ids:
            marks = _placeholders(len(ids))
            counts, spans, domain_counts = Counter(), {}, defaultdict(lambda: [0, 0, 0, 0])
            acc = (counts, spans, domain_counts)
            sends = self.conn.execute(f"SELECT * FROM sends WHERE sent_file IN ({marks})", ids).fetchall()
            soft = {r[F_SEND]: r for r in self.conn.execute(
                f"SELECT b.* FROM soft_bounces b JOIN sends s ON s.id = b.send WHERE s.sent_file IN ({marks})", ids)}
            actions = self.conn.execute(f"SELECT * FROM actions WHERE file IN ({marks})", ids).fetchall()
            for row in sends:
                self.domain_of(row[S_PERSON])
                self._contribute(row, soft.get(row[S_ID]), acc, -1)
                self.touched.add(row[S_PERSON])
                removed += 1 + (row[S_OUTCOME] is not None) + (row[S_ID] in soft)
            for row in actions:
                self.domain_of(row[A_PERSON])
                self._contribute_action(row, acc, -1)
                self.touched.add(row[A_PERSON])
                removed += 1
            self._counts(counts, {}, domain_counts)
            for table in ("soft_bounces", "dns_doubts"):
                self.conn.execute(f"DELETE FROM {table} WHERE send IN (SELECT id FROM sends WHERE sent_file IN ({marks}))",
                                  ids)
            self.conn.execute(f"DELETE FROM sends WHERE sent_file IN ({marks})", ids)
            self.conn.execute(f"DELETE FROM actions WHERE file IN ({marks})", ids)
            if self.touched:
                self._recompute()
        self.conn.execute("DELETE FROM rejects WHERE file_fingerprint = ?", (fingerprint,))
        self.conn.execute("DELETE FROM files WHERE fingerprint = ?", (fingerprint,))
        return removed

    # -- the derived state again ------------------------------------------
    def rebuild_counts(self) -> None:
        """The hourly counts again from every row, by the same contributions
        the batches add (a test checks the two agree)."""
        self.conn.execute("DELETE FROM counts")
        self.conn.execute("DELETE FROM domain_counts")
        counts, spans, domain_counts = Counter(), {}, defaultdict(lambda: [0, 0, 0, 0])
        acc = (counts, spans, domain_counts)
        for table, contribute in (("sends", self._contribute), ("actions", self._contribute_action)):
            last = 0
            while True:  # a chunk at a time: memory stays flat
                rows = self.conn.execute(
                    f"SELECT t.*, p.domain FROM {table} t JOIN persons p ON p.id = t.person "
                    "WHERE t.id > ? ORDER BY t.id LIMIT 50000", (last,)).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                self.domains = {row[S_PERSON if table == "sends" else A_PERSON]: row[-1] for row in rows}
                soft = {}
                if table == "sends":
                    soft = {r[F_SEND]: r for r in self.conn.execute(
                        "SELECT * FROM soft_bounces WHERE send BETWEEN ? AND ?", (rows[0][0], last))}
                for row in rows:
                    row = row[:-1]
                    if table == "sends":
                        contribute(row, soft.get(row[S_ID]), acc, +1)
                    else:
                        contribute(row, acc, +1)
                self._counts(counts, spans, domain_counts)
                counts.clear(), spans.clear(), domain_counts.clear()
        self.domains = {}

    # -- other events ------------------------------------------------------
    def _actions(self, events: list, result: BatchResult, acc) -> None:
        """Opens, clicks, unsubscribes, complaints, operator actions and a
        send's second outcomes: one row each, once (by natural key); of two
        records of the same event the earlier one is kept."""
        ids = self.person_ids({e.person for e in events})
        rows = {}
        moved = set()
        for event in events:
            row = self._action_row(event, ids[event.person])
            key = (row[A_PERSON], row[A_KEY])
            if getattr(event, "moved", False):
                moved.add(key)
            have = rows.get(key)
            if have is not None:
                result.known += 1
            if have is None or row[A_TS] < have[A_TS]:
                rows[key] = row
        stored = {}
        keys = list(rows)
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            sql = self._pairs_sql("actions", "*", "person", "key", len(chunk))
            for row in self.conn.execute(sql, [v for k in chunk for v in k]):
                stored[(row[A_PERSON], row[A_KEY])] = row
        inserts, updates = [], []
        counts, spans, domain_counts = acc
        for key, row in rows.items():
            old = stored.get(key)
            if old is not None:
                result.known += 1
                if old[A_TS] <= row[A_TS]:
                    continue
                row = (old[A_ID], *row[1:])
                self._contribute_action(old, acc, -1)
                updates.append(row)
            else:
                row = (self.action_ids.take(), *row[1:])
                self.last_action = row[A_ID]
                inserts.append(row)
                if key not in moved:
                    result.added[_type_name(row[A_TYPE])] += 1
            self._contribute_action(row, acc, +1)
            if row[A_TYPE] in SUPPRESSING or (row[A_TYPE] == TYPE_CODE[HARD_BOUNCED] and row[A_CLASS] in (1, 2)):
                self.touched.add(row[A_PERSON])
        bulk.insert(self.conn, "actions", ACTION_COLUMNS, inserts)
        bulk.update(self.conn, "actions", ACTION_COLUMNS, updates)

    def _action_row(self, event, person_id: int) -> tuple:
        name = self.name
        file, line = _source(event.source)
        mid, mid_arg = split_message_id(event.message_id)
        url, url_arg = split_url(event.url)
        text, arg = self.split(event.detail, event.person)
        ts = event.ts if isinstance(event.ts, int) else int(event.ts.timestamp())
        until = event.until if event.until is None or isinstance(event.until, int) else int(event.until.timestamp())
        return (None, ts, TYPE_CODE[event.type], person_id, hash63(event.key), name("campaign", event.campaign),
                name("email", event.email), name("host", event.host), name("format", event.source_format),
                event.queue_id, self.text(mid), mid_arg, self.source((getattr(event, "source_file", None), file))
                if file is not None else None, line, self.text(url), url_arg,
                name("machine", event.machine), event.note, name("actor", event.actor), name("campaign", event.scope),
                until, CLASS_CODE.get(event.bounce_class), name("reason", event.reason), event.smtp_code,
                name("dsn", event.dsn), text, arg, getattr(event, "send_id", None))

    def _contribute_action(self, row: tuple, acc, sign: int) -> None:
        counts, spans, domain_counts = acc
        kind = _type_name(row[A_TYPE])
        campaign = row[A_CAMPAIGN] or 0
        hour = row[A_TS] // 3600
        if kind in M_TYPE:
            counts[(hour, campaign, M_TYPE[kind])] += sign
        elif kind == DELIVERED_TYPE:
            counts[(hour, campaign, M_DELIVERED)] += sign
            domain_counts[(hour, campaign, self.domain_of(row[A_PERSON]) or 0)][1] += sign
        elif kind == HARD_BOUNCED:
            outcome = OUTCOME_OF_CLASS.get(_class_name(row[A_CLASS]), 5)
            counts[(hour, campaign, M_HARD[outcome])] += sign
            domain_counts[(hour, campaign, self.domain_of(row[A_PERSON]) or 0)][2] += sign
        else:
            return  # operator actions are not campaign activity
        _span(spans, hour, campaign, row[A_TS])


class _Extra:
    """A send's outcome of a second type, stored as an action event."""

    def __init__(self, outcome: tuple, record: tuple, send_id: int, *, moved: bool = False):
        kind, ts, src, line, cls, reason, code, dsn, detail = outcome
        self.moved = moved  # stored before as the send's outcome: not a new event
        if isinstance(src, tuple):
            self.source_file, src = src
        else:
            self.source_file = None
        self.type, self.ts, self.bounce_class, self.reason, self.smtp_code, self.dsn = kind, ts, cls, reason, code, dsn
        self.detail = detail
        self.source = f"{src}:{line}" if line is not None else src
        self.person = record[R_PERSON]
        self.key = f"{send_id}|{kind}"
        self.campaign, self.email, self.host = record[R_CAMPAIGN], record[R_EMAIL], record[R_HOST]
        self.source_format, self.queue_id, self.message_id = record[R_FORMAT], record[R_QUEUE_ID], record[R_MESSAGE_ID]
        self.url = self.machine = self.note = self.actor = self.scope = self.until = None
        self.send_id = send_id


def _type_name(code: int) -> str:
    from ..events import EVENT_TYPES
    return EVENT_TYPES[code]


def _class_name(code: int | None) -> str | None:
    from .schema import CLASS_NAME
    return CLASS_NAME.get(code)


def _span(spans: dict, hour: int, campaign: int, ts: int) -> None:
    have = spans.get((hour, campaign))
    if have is None:
        spans[(hour, campaign)] = [ts, ts]
    else:
        if ts < have[0]:
            have[0] = ts
        if ts > have[1]:
            have[1] = ts


def _outcome_type(row: tuple | None) -> str | None:
    if row is None or row[S_OUTCOME] is None:
        return None
    return DELIVERED_TYPE if row[S_OUTCOME] == DELIVERED else HARD_BOUNCED


def _hard_key(row: tuple | None):
    """What of a send's outcome matters to suppression."""
    if row is None or row[S_OUTCOME] in (None, DELIVERED):
        return None
    return (row[S_OUTCOME], row[S_OUT_TS], row[S_CAMPAIGN])


def _source(source: str | None) -> tuple[str | None, int | None]:
    if not source:
        return None, None
    label, colon, line = source.rpartition(":")
    if colon and line.isdigit():
        return label, int(line)
    return source, None


def merge_sends(stored: tuple, stored_soft, row: tuple, soft):
    """What the database holds, merged with a view of the same send.
    Re-read lines change nothing; the earliest time of each event wins;
    attempts of views that do not overlap in time add up (a file read after
    the one that followed it). Returns (row, soft row, displaced): rows
    whose outcome is of another type than the earliest one, for `actions`."""
    merged = list(stored)
    for i in (S_CAMPAIGN, S_EMAIL, S_HOST, S_FORMAT, S_QUEUE_ID, S_MID):
        if merged[i] is None and row[i] is not None:
            merged[i] = row[i]
            if i == S_MID:
                merged[S_MID_ARG] = row[S_MID_ARG]
    if row[S_SENT_TS] < stored[S_SENT_TS]:
        merged[S_SENT_TS:S_SENT_LINE + 1] = row[S_SENT_TS:S_SENT_LINE + 1]
    displaced = []
    if row[S_OUTCOME] is not None:
        same_type = (row[S_OUTCOME] == DELIVERED) == (stored[S_OUTCOME] == DELIVERED)
        if stored[S_OUTCOME] is None or (same_type and row[S_OUT_TS] < stored[S_OUT_TS]):
            merged[S_OUTCOME:] = row[S_OUTCOME:]
        elif not same_type and row[S_OUT_TS] < stored[S_OUT_TS]:
            merged[S_OUTCOME:] = row[S_OUTCOME:]
            displaced.append(stored)
        elif not same_type:
            displaced.append(row)
    if soft is None or stored_soft is None:
        merged_soft = soft if stored_soft is None else stored_soft
    else:
        merged_soft = merge_soft(stored_soft, soft)
    if merged_soft is not None:
        merged_soft = (*merged_soft[:F_RESOLVED], *of_send(merged))
    return tuple(merged), merged_soft, displaced


def of_send(row) -> tuple:
    """What a soft-bounce row copies from its send's row (resolved_ts,
    person, campaign), kept in step whenever the send is written."""
    return row[S_OUT_TS], row[S_PERSON], row[S_CAMPAIGN]


def merge_soft(stored_soft: tuple, soft: tuple) -> tuple:
    """Two soft-bounce rows of one send as one: the earliest first attempt,
    the latest last one; attempts of rows that do not overlap in time add up."""
    merged_soft = list(stored_soft)
    disjoint = soft[F_FIRST_TS] > stored_soft[F_LAST_TS] or soft[F_LAST_TS] < stored_soft[F_FIRST_TS]
    merged_soft[F_ATTEMPTS] = (stored_soft[F_ATTEMPTS] + soft[F_ATTEMPTS] if disjoint
                               else max(stored_soft[F_ATTEMPTS], soft[F_ATTEMPTS]))
    if soft[F_LAST_TS] >= stored_soft[F_LAST_TS]:
        merged_soft[F_LAST_TS] = soft[F_LAST_TS]
        merged_soft[F_REASON] = soft[F_REASON]
        merged_soft[F_TEXT:F_ARG + 1] = soft[F_TEXT:F_ARG + 1]
        for i in (F_CODE, F_DSN):
            if soft[i] is not None:
                merged_soft[i] = soft[i]
    if soft[F_FIRST_TS] < stored_soft[F_FIRST_TS]:
        merged_soft[F_FIRST_TS:F_FIRST_LINE + 1] = soft[F_FIRST_TS:F_FIRST_LINE + 1]
        merged_soft[F_FIRST_REASON:F_FIRST_ARG + 1] = soft[F_FIRST_REASON:F_FIRST_ARG + 1]
    return tuple(merged_soft)


def save_progress(cur, p: dict) -> None:
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cur.execute("""
        INSERT INTO files (fingerprint, path, device, inode, "offset", line_no, format, first_read, last_read, complete,
                           cursor)
        VALUES (:fingerprint, :path, :device, :inode, :offset, :line_no, :format, :now, :now, :complete, :cursor)
        ON CONFLICT(fingerprint) DO UPDATE SET path=excluded.path, device=excluded.device,
            inode=excluded.inode, "offset"=excluded."offset", line_no=excluded.line_no,
            format=excluded.format, last_read=excluded.last_read, complete=excluded.complete,
            cursor=excluded.cursor""",
                {"now": now, "complete": 0, "cursor": None, **p})
