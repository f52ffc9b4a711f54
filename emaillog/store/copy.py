"""Copying a SQLite database into a shared PostgreSQL one (`migrate --to`),
for a sender outgrowing one machine.

The target may already hold other hosts' data, so nothing is copied by id:
every row is matched by what it is (a name by kind and value, a person by
address, a send by person, message key, queue id, host and format, an
action by person and event key) and takes the target's id, or a new one
from the target's id blocks. A row already there is left alone, which makes
a second copy add nothing. File positions, open messages and rejects go
under this host's name, so the next ingest on this machine goes on where
the SQLite database stopped. Counts are added for the new rows only, and
the suppressions of the persons concerned are computed again. Everything
is one transaction: an interrupted copy leaves the target as it was.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .bulk import insert
from ..events import HARD_BOUNCED
from .schema import TYPE_CODE
from .writer import (A_CLASS, A_KEY, A_PERSON, A_TYPE, ACTION_COLUMNS, CHUNK, S_FORMAT, S_HOST, S_MKEY,
                     S_OUTCOME, S_PERSON, S_QUEUE_ID, SUPPRESSING, Writer, _placeholders)

READ = 5000  # source rows read at a time
_N, _T, _S = "name", "text", "source"
# Which columns hold an id of another table (everything else is copied as it is).
SEND_REFS = {"person": "person", "campaign": _N, "email": _N, "host": _N, "format": _N, "mid": _T,
             "sent_file": _S, "out_file": _S, "out_reason": _N, "out_dsn": _N, "out_text": _T}
SOFT_REFS = {"send": "send", "person": "person", "campaign": _N, "first_file": _S, "reason": _N, "dsn": _N,
             "text": _T, "first_reason": _N, "first_dsn": _N, "first_text": _T}
ACTION_REFS = {"person": "person", "campaign": _N, "email": _N, "host": _N, "format": _N, "mid": _T,
               "file": _S, "url": _T, "machine": _N, "actor": _N, "scope": _N, "reason": _N, "dsn": _N,
               "text": _T, "send": "send"}
FILE_COLUMNS = ("fingerprint", "path", "device", "inode", '"offset"', "line_no", "format", "first_read",
                "last_read", "complete", "cursor")


class CopyRefused(Exception):
    """The copy cannot be made as asked; the message says why."""


@dataclass
class Copied:
    """What a copy added (and found already there)."""
    added: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)


def _columns(conn, table: str) -> list[str]:
    return [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]


def _chunks(conn, table: str, order: str = "id"):
    """A table's rows a chunk at a time, in key order."""
    last = None
    while True:
        where = "" if last is None else f"WHERE {order} > ?"
        rows = conn.execute(f"SELECT * FROM {table} {where} ORDER BY {order} LIMIT {READ}",
                            () if last is None else (last,)).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


class Copy:
    """One copy from `source` (a SQLite store) into `target` (a PostgreSQL store)."""

    def __init__(self, source, target, config, progress=None):
        self.src, self.dst = source.conn, target.conn
        self.config = config
        self.progress = progress
        self.writer = Writer(self.dst, config, target.prefix)
        self.prefix = target.prefix
        self.maps: dict[str, dict] = {_N: {None: None}, _T: {None: None}, _S: {None: None},
                                      "person": {}, "send": {None: None}}
        self.result = Copied()
        self.acc = (Counter(), {}, defaultdict(lambda: [0, 0, 0, 0]))
        self.done = 0
        self.total = sum(self.src.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                         for t in ("persons", "sends", "actions"))

    def run(self) -> Copied:
        self._erasure_key()
        self._names()
        self._texts()
        self._sources()
        self._persons()
        self._sends()
        self._actions()
        self._doubts()
        self.writer._counts(*self.acc)
        if self.writer.touched:
            self.writer._recompute()
        self._files()
        self._open_messages()
        self._rejects()
        self._erasures()
        return self.result

    def _tick(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, self.total)

    # -- vocabulary ----------------------------------------------------------
    def _names(self) -> None:
        rows = self.src.execute("SELECT id, kind, value FROM names").fetchall()
        insert(self.dst, "names", ("kind", "value"), [r[1:] for r in rows], tail="ON CONFLICT DO NOTHING")
        theirs = {(k, v): i for i, k, v in self.dst.execute("SELECT id, kind, value FROM names")}
        self.maps[_N].update((i, theirs[(k, v)]) for i, k, v in rows)
        self.writer._load_names()

    def _texts(self) -> None:
        rows = self.src.execute("SELECT id, template FROM texts").fetchall()
        insert(self.dst, "texts", ("template",), [r[1:] for r in rows], tail="ON CONFLICT DO NOTHING")
        theirs = dict(self.dst.execute("SELECT template, id FROM texts"))
        self.maps[_T].update((i, theirs[t]) for i, t in rows)

    def _sources(self) -> None:
        for id_, fingerprint, label in self.src.execute("SELECT id, fingerprint, label FROM sources").fetchall():
            self.maps[_S][id_] = self.writer.source((fingerprint, label))

    # -- persons, sends, actions --------------------------------------------
    def _persons(self) -> None:
        names, persons, writer = self.maps[_N], self.maps["person"], self.writer
        for rows in _chunks(self.src, "persons"):
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i:i + CHUNK]
                theirs = dict(self.dst.execute(
                    f"SELECT address, id FROM persons WHERE address IN ({_placeholders(len(chunk))})",
                    [r[2] for r in chunk]))
                new = [(writer.person_ids_.take(), h, a, names[d]) for _, h, a, d in chunk if a not in theirs]
                if new:
                    writer.persons.update((r[2], r[0]) for r in new)
                    writer._insert_shared_persons(new)  # one added meanwhile by a host keeps its id
                for id_, _, address, domain in chunk:
                    if address in theirs:
                        persons[id_] = theirs[address]
                        self.result.present["persons"] += 1
                    else:
                        persons[id_] = writer.persons[address]
                        self.result.added["persons"] += 1
                    writer.domains[persons[id_]] = names[domain]
            writer.persons.clear()
            self._tick(len(rows))

    def _translate(self, row, columns: list[str], refs: dict[str, str]) -> list:
        maps = self.maps
        return [maps[refs[c]][v] if c in refs else v for c, v in zip(columns, row)]

    def _sends(self) -> None:
        columns, soft_columns = _columns(self.src, "sends"), _columns(self.src, "soft_bounces")
        writer, sends = self.writer, self.maps["send"]
        for rows in _chunks(self.src, "sends"):
            softs = {r[0]: r for r in self.src.execute(
                "SELECT * FROM soft_bounces WHERE send BETWEEN ? AND ?", (rows[0][0], rows[-1][0]))}
            mine = [self._translate(r, columns, SEND_REFS) for r in rows]
            theirs = self._stored_sends(mine)
            new_rows, new_soft = [], []
            for old, row in zip(rows, mine):
                identity = (row[S_PERSON], row[S_MKEY], row[S_QUEUE_ID], row[S_HOST], row[S_FORMAT])
                if identity in theirs:
                    sends[old[0]] = theirs[identity]
                    self.result.present["sends"] += 1
                    continue
                row[0] = sends[old[0]] = writer.send_ids.take()
                soft = softs.get(old[0])
                soft = tuple(self._translate(soft, soft_columns, SOFT_REFS)) if soft else None
                row = tuple(row)
                new_rows.append(row)
                if soft:
                    new_soft.append(soft)
                writer._contribute(row, soft, self.acc, +1)
                if row[S_OUTCOME] in (2, 3):
                    writer.touched.add(row[S_PERSON])
                self.result.added["sends"] += 1
            insert(self.dst, "sends", tuple(columns), new_rows)
            insert(self.dst, "soft_bounces", tuple(soft_columns), new_soft)
            self._tick(len(rows))

    def _doubts(self) -> None:
        """The resolver rule's doubts (store/doubts.py) of the sends copied."""
        sends, names = self.maps["send"], self.maps[_N]
        rows = [(sends[send], names[domain], ts, demoted) for send, domain, ts, demoted in
                self.src.execute("SELECT send, domain, ts, demoted FROM dns_doubts").fetchall() if send in sends]
        insert(self.dst, "dns_doubts", ("send", "domain", "ts", "demoted"), rows, tail="ON CONFLICT (send) DO NOTHING")

    def _stored_sends(self, rows: list[list]) -> dict[tuple, int]:
        """(person, mkey, queue_id, host, format) -> id of the target's sends like these."""
        found = {}
        keys = sorted({(r[1], r[2]) for r in rows})
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            for id_, person, mkey, queue_id, host, format_ in self.dst.execute(
                    "SELECT id, person, mkey, queue_id, host, format FROM sends WHERE (person, mkey) IN "
                    f"(VALUES {', '.join(['(?, ?)'] * len(chunk))})", [v for k in chunk for v in k]):
                found[(person, mkey, queue_id, host, format_)] = id_
        return found

    def _actions(self) -> None:
        columns = _columns(self.src, "actions")
        assert tuple(columns) == ACTION_COLUMNS, columns
        writer = self.writer
        hard = TYPE_CODE[HARD_BOUNCED]
        for rows in _chunks(self.src, "actions"):
            mine = [self._translate(r, columns, ACTION_REFS) for r in rows]
            keys = sorted({(r[A_PERSON], r[A_KEY]) for r in mine})
            theirs = set()
            for i in range(0, len(keys), CHUNK):
                chunk = keys[i:i + CHUNK]
                theirs.update(self.dst.execute(
                    "SELECT person, key FROM actions WHERE (person, key) IN "
                    f"(VALUES {', '.join(['(?, ?)'] * len(chunk))})", [v for k in chunk for v in k]).fetchall())
            new_rows = []
            for row in mine:
                if (row[A_PERSON], row[A_KEY]) in theirs:
                    self.result.present["actions"] += 1
                    continue
                row[0] = writer.action_ids.take()
                row = tuple(row)
                new_rows.append(row)
                writer._contribute_action(row, self.acc, +1)
                if row[A_TYPE] in SUPPRESSING or (row[A_TYPE] == hard and row[A_CLASS] in (1, 2)):
                    writer.touched.add(row[A_PERSON])
                self.result.added["actions"] += 1
            insert(self.dst, "actions", ACTION_COLUMNS, new_rows)
            self._tick(len(rows))

    # -- what one host reads ------------------------------------------------
    def _files(self) -> None:
        rows = [(self.prefix + r[0], *r[1:]) for r in self.src.execute(
            f"SELECT {', '.join(FILE_COLUMNS)} FROM files").fetchall()]
        have = {r[0] for r in self.dst.execute("SELECT fingerprint FROM files WHERE fingerprint LIKE ?",
                                               (self.prefix.replace("%", r"\%") + "%",))}
        new = [r for r in rows if r[0] not in have]
        insert(self.dst, "files", FILE_COLUMNS, new)
        self.result.added["file positions"] += len(new)

    def _open_messages(self) -> None:
        rows = [(self.prefix + k, int(ts), state) for k, ts, state in
                self.src.execute("SELECT key, last_ts, state FROM open_messages").fetchall()]
        have = {r[0] for r in self.dst.execute("SELECT key FROM open_messages WHERE key LIKE ?",
                                               (self.prefix.replace("%", r"\%") + "%",))}
        new = [r for r in rows if r[0] not in have]
        insert(self.dst, "open_messages", ("key", "last_ts", "state"), new, tail="ON CONFLICT (key) DO NOTHING")
        self.result.added["open messages"] += len(new)

    def _rejects(self) -> None:
        columns = ("file", "line_no", "why", "text", "format", "seen_at", "file_fingerprint")
        rows = [(*r[:-1], None if r[-1] is None else self.prefix + r[-1]) for r in self.src.execute(
            f"SELECT {', '.join(columns)} FROM rejects").fetchall()]
        unkeyed = [r for r in rows if r[-1] is None]
        if unkeyed:  # read from standard input: matched by all they say
            have = set(self.dst.execute(f"SELECT {', '.join(columns)} FROM rejects WHERE file_fingerprint IS NULL"))
            rows = [r for r in rows if r[-1] is not None or r not in have]
        before = self.dst.execute("SELECT count(*) FROM rejects").fetchone()[0]
        insert(self.dst, "rejects", columns, rows, tail="ON CONFLICT DO NOTHING")
        self.result.added["rejects"] += self.dst.execute("SELECT count(*) FROM rejects").fetchone()[0] - before

    # -- erasures -------------------------------------------------------------
    def _erasure_key(self) -> None:
        """Forgotten persons are kept as hashes keyed by the database's own
        secret: the target must take the source's secret, which it can only
        while it has forgotten no one under its own."""
        if not self.src.execute("SELECT 1 FROM erasures UNION ALL SELECT 1 FROM forgotten_suppressions "
                                "LIMIT 1").fetchone():
            return
        mine = self.src.execute("SELECT value FROM meta WHERE key = 'erasure_key'").fetchone()[0]
        theirs = self.dst.execute("SELECT value FROM meta WHERE key = 'erasure_key'").fetchone()
        if theirs and theirs[0] == mine:
            return
        if self.dst.execute("SELECT 1 FROM erasures UNION ALL SELECT 1 FROM forgotten_suppressions "
                            "LIMIT 1").fetchone():
            raise CopyRefused("both databases have forgotten people, under different secrets: "
                              "their hashes cannot be merged")
        self.dst.execute("INSERT INTO meta (key, value) VALUES ('erasure_key', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (mine,))

    def _erasures(self) -> None:
        columns = ("ts", "actor", "hash", "note", "erased")
        have = set(self.dst.execute(f"SELECT {', '.join(columns)} FROM erasures"))
        rows = [r for r in self.src.execute(f"SELECT {', '.join(columns)} FROM erasures") if tuple(r) not in have]
        insert(self.dst, "erasures", columns, rows)
        self.result.added["erasures"] += len(rows)
        columns = ("hash", "scope", "reason", "since", "until", "valid_from", "valid_to", "key", "forgotten")
        have = set(self.dst.execute(f"SELECT {', '.join(columns)} FROM forgotten_suppressions"))
        names = self.maps[_N]
        rows = [(h, names[s], *rest) for h, s, *rest in
                self.src.execute(f"SELECT {', '.join(columns)} FROM forgotten_suppressions")]
        insert(self.dst, "forgotten_suppressions", columns, [r for r in rows if tuple(r) not in have])
