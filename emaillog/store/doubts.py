"""The resolver rule (rules/resolver.py) in the store, whichever comes first.

Every stored hard bounce whose reply says its domain could not be found is
a *doubt* (`dns_doubts`: the send, its domain, its time). At the end of each
batch, before the counts and suppressions are written:

* a doubt of this batch is settled against the deliveries the database and
  the batch know for its domain within the window either side of it;
* a delivery of this batch settles the doubts already stored for its domain
  within the window.

Settled means demoted: the send's outcome becomes a soft bounce
(`dns_tempfail`) and the doubt is kept, marked, for the event's note. So an
older file read after a newer one gives the same answers as the other order.
"""

from __future__ import annotations

from ..rules.resolver import REASON, says_no_such_domain, window_hours
from . import bulk
from .dialect import dialect_of
from .schema import DELIVERED
from .writer import (F_RESOLVED, S_OUT_ARG, S_OUT_CODE, S_OUT_DSN, S_OUT_FILE, S_OUT_LINE, S_OUT_REASON,
                     S_OUT_TEXT, S_OUT_TS, S_OUTCOME, S_PERSON, S_SENT_FILE, S_SENT_LINE, SEND_COLUMNS, SOFT_COLUMNS,
                     merge_soft, of_send)

CHUNK = 400
DOUBT_COLUMNS = ("send", "domain", "ts", "demoted")


class Doubts:
    """One writer's doubts of the batch being written."""

    def __init__(self, writer):
        self.writer = writer
        self.hours = window_hours(writer.config.retry_window_hours)
        # A writer converting a database of an older layout works before the table exists
        # (migration m011 reviews what it wrote).
        self.active = dialect_of(writer.conn).has_table(writer.conn, "dns_doubts")
        self.begin()

    def begin(self) -> None:
        self.pending: list[tuple[list, bool]] = []   # (entry, its hard bounce counted as new in this batch)
        self.accepts: set[tuple[int, int]] = set()   # (domain, hour) of this batch's deliveries
        self.demoted = 0

    def note_row(self, entry: list, row: tuple, counted: bool) -> None:
        """Called for each send row the batch writes."""
        outcome = row[S_OUTCOME]
        if outcome is None or not self.active:
            return
        writer = self.writer
        if outcome == DELIVERED:
            domain = writer.domain_of(row[S_PERSON])
            if domain is not None:
                self.accepts.add((domain, row[S_OUT_TS] // 3600))
        elif row[S_OUT_REASON] is not None and row[S_OUT_REASON] == writer.names.get(("reason", "bad_domain")) \
                and says_no_such_domain(writer.template_of(row[S_OUT_TEXT])):
            self.pending.append((entry, counted))

    def settle(self, result, acc) -> None:
        """Demote what the batch's doubts and deliveries prove wrong."""
        if self.pending:
            self._new_doubts(result, acc)
        if self.accepts:
            self._stored_doubts(result, acc)
        result.resolver_demoted += self.demoted
        self.begin()

    def _new_doubts(self, result, acc) -> None:
        conn, writer = self.writer.conn, self.writer
        ids = [entry[0] for entry, _ in self.pending]
        demoted = set()
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            demoted.update(r[0] for r in conn.execute(
                f"SELECT send FROM dns_doubts WHERE demoted = 1 AND send IN ({', '.join('?' * len(chunk))})", chunk))
        keep = []
        for entry, counted in self.pending:
            send_id, row, _ = entry
            domain = writer.domain_of(row[S_PERSON])
            if domain is None:
                continue
            if send_id in demoted:  # a send read again: its attempt is in the soft bounce already
                self._demote(entry, domain, acc, result, counted, attempt=False)
            elif self._accepted(domain, row[S_OUT_TS] // 3600):
                self._demote(entry, domain, acc, result, counted, attempt=True)
            else:
                keep.append((send_id, domain, row[S_OUT_TS], 0))
        bulk.insert(conn, "dns_doubts", DOUBT_COLUMNS, keep, key=0,
                    tail="ON CONFLICT (send) DO UPDATE SET domain = excluded.domain, ts = excluded.ts")

    def _accepted(self, domain: int, hour: int) -> bool:
        lo, hi = hour - self.hours, hour + self.hours
        if any((domain, h) in self.accepts for h in range(lo, hi + 1)):
            return True
        return self.writer.conn.execute(
            "SELECT 1 FROM domain_counts WHERE domain = ? AND hour BETWEEN ? AND ? AND delivered > 0 LIMIT 1",
            (domain, lo, hi)).fetchone() is not None

    def _stored_doubts(self, result, acc) -> None:
        hours = [h for _, h in self.accepts]
        lo, hi = (min(hours) - self.hours) * 3600, (max(hours) + self.hours + 1) * 3600
        found = self.writer.conn.execute(
            "SELECT send, domain, ts FROM dns_doubts WHERE demoted = 0 AND ts >= ? AND ts < ?", (lo, hi)).fetchall()
        hit = [(send, domain) for send, domain, ts in found
               if any((domain, h) in self.accepts for h in range(ts // 3600 - self.hours, ts // 3600 + self.hours + 1))]
        if not hit:
            return
        entries = {e[0]: e for e in self.writer.handles.values() if e[1] is not None}
        for send, domain in hit:
            entry = entries.get(send) or self._load(send)
            if entry is None or entry[1][S_OUTCOME] is None or entry[1][S_OUTCOME] == DELIVERED:
                self.writer.conn.execute("DELETE FROM dns_doubts WHERE send = ?", (send,))
                continue
            self._demote(entry, domain, acc, result, counted=False, attempt=True)

    def _load(self, send: int) -> list | None:
        conn = self.writer.conn
        row = conn.execute("SELECT * FROM sends WHERE id = ?", (send,)).fetchone()
        if row is None:
            return None
        soft = conn.execute("SELECT * FROM soft_bounces WHERE send = ?", (send,)).fetchone()
        return [send, tuple(row), tuple(soft) if soft else None]

    def _demote(self, entry: list, domain: int, acc, result, counted: bool, *, attempt: bool) -> None:
        """The hard bounce becomes an attempt of the send's soft bounce."""
        writer = self.writer
        send_id, row, soft = entry
        reason = writer.name("reason", REASON)
        if attempt or soft is None:
            ts, file, line = row[S_OUT_TS], row[S_OUT_FILE], row[S_OUT_LINE]
            if file is None and line is None:  # the outcome's line is the sent line (an ESP's record)
                file, line = row[S_SENT_FILE], row[S_SENT_LINE]
            elif file is None:
                file = row[S_SENT_FILE]
            said = (reason, row[S_OUT_CODE], row[S_OUT_DSN], row[S_OUT_TEXT], row[S_OUT_ARG])
            mine = (send_id, ts, file, line, 1, ts, *said, *said, None, None, None)
            new_soft = mine if soft is None else merge_soft(soft, mine)
        else:
            new_soft = soft
        new_row = (*row[:S_OUTCOME], *(None,) * (len(SEND_COLUMNS) - S_OUTCOME))
        new_soft = (*new_soft[:F_RESOLVED], *of_send(new_row))
        writer._contribute(row, soft, acc, -1)
        writer._contribute(new_row, new_soft, acc, +1)
        entry[1], entry[2] = new_row, new_soft
        conn = writer.conn
        bulk.update(conn, "sends", SEND_COLUMNS, [new_row])
        bulk.insert(conn, "soft_bounces", SOFT_COLUMNS, [new_soft], key=0,
                    tail=f"ON CONFLICT (send) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in SOFT_COLUMNS[1:])}")
        bulk.insert(conn, "dns_doubts", DOUBT_COLUMNS, [(send_id, domain, row[S_OUT_TS], 1)], key=0,
                    tail="ON CONFLICT (send) DO UPDATE SET demoted = 1")
        writer.touched.add(row[S_PERSON])
        if counted:
            result.added["hard_bounced"] -= 1
        if soft is None:
            result.added["soft_bounced"] += 1
            result.resolver_soft += 1
        self.demoted += 1


def review(conn, config) -> int:
    """The rule applied to every hard bounce already stored (a database
    written before it); returns how many were demoted."""
    from collections import Counter, defaultdict
    from .writer import BatchResult, Writer
    writer = Writer(conn, config)
    bad = writer.names.get(("reason", "bad_domain"))
    if bad is None:
        return 0
    for row in conn.execute("SELECT * FROM sends WHERE outcome > 1 AND out_reason = ?", (bad,)).fetchall():
        soft = conn.execute("SELECT * FROM soft_bounces WHERE send = ?", (row[0],)).fetchone()
        row = tuple(row)
        writer.doubts.note_row([row[0], row, tuple(soft) if soft else None], row, False)
    if not writer.doubts.pending:
        return 0
    result, acc = BatchResult(), (Counter(), {}, defaultdict(lambda: [0, 0, 0, 0]))
    writer.doubts.settle(result, acc)
    writer._counts(*acc)
    if writer.touched:
        writer._recompute()
    return result.resolver_demoted
