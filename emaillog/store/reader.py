"""The SPEC's event stream, derived from the compact rows.

A send row yields a `sent` event (id*4), its outcome (id*4+2: `delivered` or
`hard_bounced`) and, through `soft_bounces`, a `soft_bounced` event (id*4+1);
an action row yields one event (id*4+3). Each kind is read in time order
from its own index and the streams are merged, so the first rows of any
listing come at once and memory stays flat however many there are.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from ..events import EVENT_TYPES, JSON_FIELDS
from ..rules.resolver import note as resolver_note
from .codec import epoch, hash32, iso, join_text
from .schema import CLASS_NAME, CLASS_OF_OUTCOME, DELIVERED, TYPE_CODE

ROW_FIELDS = (*JSON_FIELDS, "scope", "until")
# A soft bounce, its send, its person, and whether the resolver rule demoted it.
SOFT_TABLES = ("soft_bounces b JOIN sends s ON s.id = b.send JOIN persons p ON p.id = s.person "
               "LEFT JOIN dns_doubts d ON d.send = b.send")
SEND_TYPES = ("sent", "delivered", "hard_bounced", "soft_bounced")


def _source(file: str | None, line: int | None) -> str | None:
    if file is None:
        return None
    return file if line is None else f"{file}:{line}"


class _Names(dict):
    """names.id -> value, read again when an id is new (an ingest in the
    same process may have added it)."""

    def __init__(self, conn, sql: str = "SELECT id, value FROM names"):
        super().__init__()
        self.conn = conn
        self.sql = sql
        self.update(conn.execute(sql))

    def get(self, key, default=None):
        if key is None:
            return default
        if key not in self:
            self.update(self.conn.execute(f"{self.sql} WHERE id >= ?", (key,)))
        return super().get(key, default)


class Reader:
    """Read queries over one connection."""

    def __init__(self, conn):
        self.conn = conn
        self._names: dict[int, str] | None = None
        self._sources: dict[int, str] | None = None
        self._texts: dict[int, str] = {}

    # -- vocabularies ------------------------------------------------------
    def sources(self) -> dict[int, str]:
        """sources.id -> the label events from it show."""
        if self._sources is None:
            self._sources = _Names(self.conn, "SELECT id, label FROM sources")
        return self._sources

    def names(self) -> dict[int, str]:
        if self._names is None:
            self._names = _Names(self.conn)
        return self._names

    def name_id(self, kind: str, value: str) -> int | None:
        row = self.conn.execute("SELECT id FROM names WHERE kind = ? AND value = ?", (kind, value)).fetchone()
        return row[0] if row else None

    def template(self, text_id: int | None) -> str | None:
        if text_id is None:
            return None
        found = self._texts.get(text_id)
        if found is None:
            row = self.conn.execute("SELECT template FROM texts WHERE id = ?", (text_id,)).fetchone()
            found = self._texts[text_id] = row[0] if row else ""
        return found

    def person_id(self, address: str) -> int | None:
        address = address.lower()
        row = self.conn.execute("SELECT id FROM persons WHERE hash = ? AND address = ?",
                                (hash32(address), address)).fetchone()
        return row[0] if row else None

    # -- the event stream --------------------------------------------------
    def events(self, *, person: str | None = None, campaign: str | None = None, types=None,
               since: str | None = None, until: str | None = None, through: str | None = None,
               newest_first: bool = False, limit: int | None = None) -> Iterator[dict]:
        """Events matching the filters (`since` <= ts < `until`, ts <=
        `through`), oldest first (or newest first), as dicts of ROW_FIELDS."""
        streams = self._streams(person, campaign, types, since, until, through, newest_first)
        if streams is None:
            return iter(())
        merged = heapq.merge(*streams, key=lambda e: (e["ts"], e["id"]), reverse=newest_first)
        if limit:
            return (event for _, event in zip(range(int(limit)), merged))
        return merged

    def count(self, *, person=None, campaign=None, types=None, since=None, until=None, through=None) -> int:
        """How many events `events` would give with the same filters."""
        queries = self._queries(person, campaign, types, since, until, through, False, count=True)
        if queries is None:
            return 0
        return sum(self.conn.execute(sql, args).fetchone()[0] for _, sql, args in queries)

    def _streams(self, person, campaign, types, since, until, through, newest_first):
        queries = self._queries(person, campaign, types, since, until, through, newest_first)
        if queries is None:
            return None
        return [self._rows(kind, sql, args) for kind, sql, args in queries]

    def _queries(self, person, campaign, types, since, until, through, newest_first, *, count=False):
        """(kind, sql, args) per stream: sent, outcome, soft, actions."""
        wanted = set(types) if types else set(EVENT_TYPES)
        person_id = campaign_id = None
        if person is not None:
            person_id = self.person_id(person)
            if person_id is None:
                return None
        if campaign is not None:
            campaign_id = self.name_id("campaign", campaign)
            if campaign_id is None:
                return None
        bounds = [(">=", epoch(since)), ("<", epoch(until)), ("<=", epoch(through))]
        order = "DESC" if newest_first else "ASC"
        queries = []

        def add(kind, select, table, time_column, id_column, person_column, campaign_column, extra=()):
            where, args = list(extra), []
            if person_id is not None:
                where.append(f"{person_column} = ?")
                args.append(person_id)
            if campaign_id is not None:
                where.append(f"{campaign_column} = ?")
                args.append(campaign_id)
            for op, value in bounds:
                if value is not None:
                    where.append(f"{time_column} {op} ?")
                    args.append(value)
            sql = (f"SELECT {'count(*)' if count else select} FROM {table}"
                   + (f" WHERE {' AND '.join(where)}" if where else ""))
            if not count:
                sql += f" ORDER BY {time_column} {order}, {id_column} {order}"
            queries.append((kind, sql, args))

        sends = ("s.id, s.sent_ts, p.address, s.campaign, s.email, s.mid, s.mid_arg, s.queue_id, s.format, "
                 "s.host, s.sent_file, s.sent_line")
        if "sent" in wanted:
            add("sent", sends, "sends s JOIN persons p ON p.id = s.person", "s.sent_ts", "s.id", "s.person",
                "s.campaign")
        outcomes = [code for kind, code in (("delivered", "s.outcome = 1"), ("hard_bounced", "s.outcome > 1"))
                    if kind in wanted]
        if outcomes:
            add("outcome", sends + ", s.outcome, s.out_ts, s.out_file, s.out_line, s.out_reason, s.out_code, "
                "s.out_dsn, s.out_text, s.out_arg", "sends s JOIN persons p ON p.id = s.person", "s.out_ts",
                "s.id", "s.person", "s.campaign",
                ["s.out_ts IS NOT NULL" if len(outcomes) == 2 else outcomes[0]])
        if "soft_bounced" in wanted:
            add("soft", sends + ", b.first_ts, b.first_file, b.first_line, b.attempts, b.last_ts, b.first_reason, "
                "b.first_code, b.first_dsn, b.first_text, b.first_arg, d.demoted", SOFT_TABLES,
                "b.first_ts", "b.send", "s.person", "s.campaign")
        action_types = sorted(TYPE_CODE[t] for t in wanted if t not in ("sent",) and t in TYPE_CODE)
        if action_types:
            add("action", "a.id, a.ts, a.type, p.address, a.campaign, a.email, a.mid, a.mid_arg, a.queue_id, "
                "a.format, a.host, a.class, a.reason, a.code, a.dsn, a.text, a.arg, a.url, a.url_arg, a.file, "
                "a.line, a.machine, a.note, a.actor, a.scope, a.until",
                "actions a JOIN persons p ON p.id = a.person", "a.ts", "a.id", "a.person", "a.campaign",
                [f"a.type IN ({', '.join(map(str, action_types))})"])
        return queries

    def _rows(self, kind: str, sql: str, args) -> Iterator[dict]:
        make = getattr(self, f"_{kind}")
        for row in self.conn.execute(sql, args):
            yield make(row)

    def _base(self, row) -> dict:
        names = self.names()
        id_, ts, address, campaign, email, mid, mid_arg, queue_id, fmt, host, sent_file, sent_line = row[:12]
        return {"id": id_ * 4, "ts": iso(ts), "type": "sent", "person": address, "campaign": names.get(campaign),
                "email": names.get(email), "message_id": join_text(self.template(mid), mid_arg),
                "queue_id": queue_id, "source_format": names.get(fmt), "host": names.get(host),
                "bounce_class": None, "reason": None, "smtp_code": None, "dsn": None, "detail": None,
                "url": None, "source": _source(self.sources().get(sent_file), sent_line), "attempts": None,
                "last_attempt": None, "machine": None, "note": None, "actor": None, "scope": None, "until": None}

    def _sent(self, row) -> dict:
        return self._base(row)

    def _outcome(self, row) -> dict:
        event = self._base(row)
        names = self.names()
        outcome, out_ts, out_file, out_line, reason, code, dsn, text, arg = row[12:21]
        event["id"] += 2
        event["ts"] = iso(out_ts)
        if outcome == DELIVERED:
            event["type"] = "delivered"
        else:
            event["type"] = "hard_bounced"
            event["bounce_class"] = CLASS_OF_OUTCOME.get(outcome)
            event["reason"] = names.get(reason)
        event["smtp_code"], event["dsn"] = code, names.get(dsn)
        event["detail"] = join_text(self.template(text), arg, event["person"])
        if out_file is not None or out_line is not None:
            sources = self.sources()
            event["source"] = _source(sources.get(out_file) if out_file is not None else sources.get(row[10]), out_line)
        return event

    def _soft(self, row) -> dict:
        """A soft bounce shows its first attempt's reply at its time, with
        the number of attempts and the last one's time (how the retries
        ended is the retry state's: `retries`)."""
        event = self._base(row)
        names = self.names()
        first_ts, first_file, first_line, attempts, last_ts, reason, code, dsn, text, arg, doubted = row[12:23]
        event.update(id=event["id"] + 1, ts=iso(first_ts), type="soft_bounced", reason=names.get(reason),
                     smtp_code=code, dsn=names.get(dsn), detail=join_text(self.template(text), arg, event["person"]),
                     attempts=attempts, last_attempt=iso(last_ts),
                     source=_source(self.sources().get(first_file), first_line))
        if doubted:
            event["note"] = resolver_note(event["person"].rpartition("@")[2])
        return event

    def _action(self, row) -> dict:
        names = self.names()
        (id_, ts, type_, address, campaign, email, mid, mid_arg, queue_id, fmt, host, cls, reason, code, dsn, text,
         arg, url, url_arg, file, line, machine, note, actor, scope, until) = row
        return {"id": id_ * 4 + 3, "ts": iso(ts), "type": EVENT_TYPES[type_], "person": address,
                "campaign": names.get(campaign), "email": names.get(email),
                "message_id": join_text(self.template(mid), mid_arg), "queue_id": queue_id,
                "source_format": names.get(fmt), "host": names.get(host), "bounce_class": CLASS_NAME.get(cls),
                "reason": names.get(reason), "smtp_code": code, "dsn": names.get(dsn),
                "detail": join_text(self.template(text), arg, address),
                "url": join_text(self.template(url), url_arg), "source": _source(self.sources().get(file), line),
                "attempts": None, "last_attempt": None, "machine": names.get(machine), "note": note,
                "actor": names.get(actor), "scope": names.get(scope), "until": iso(until)}

    # -- lookups -----------------------------------------------------------
    def event(self, event_id: int) -> dict | None:
        """One event by id (the suppressions name the event that set them)."""
        row_id, slot = divmod(event_id, 4)
        if slot == 3:
            kind, table, key = "action", "actions a JOIN persons p ON p.id = a.person", "a.id"
            select = ("a.id, a.ts, a.type, p.address, a.campaign, a.email, a.mid, a.mid_arg, a.queue_id, a.format, "
                      "a.host, a.class, a.reason, a.code, a.dsn, a.text, a.arg, a.url, a.url_arg, a.file, a.line, "
                      "a.machine, a.note, a.actor, a.scope, a.until")
        else:
            queries = self._queries(None, None, None, None, None, None, False)
            kind = {0: "sent", 1: "soft", 2: "outcome"}[slot]
            select = next(sql for k, sql, _ in queries if k == kind).split(" FROM ")[0][len("SELECT "):]
            table = {"soft": SOFT_TABLES}.get(
                kind, "sends s JOIN persons p ON p.id = s.person")
            key = "b.send" if kind == "soft" else "s.id"
        row = self.conn.execute(f"SELECT {select} FROM {table} WHERE {key} = ?", (row_id,)).fetchone()
        return getattr(self, f"_{kind}")(row) if row else None

    def send_by_message_id(self, message_id: str) -> dict | None:
        """The earliest `sent` event of a message (for tracking tokens): by
        its Message-ID with or without <>, or by the Message-ID's local part."""
        token = (message_id or "").strip().strip("<>")
        if not token:
            return None
        local, at, domain = token.rpartition("@")
        candidates = []
        if at:  # a whole Message-ID: its template and argument
            candidates = [(f"<\x02@{domain}>", local), (f"\x02@{domain}", local)]
            args = [local]
        else:   # a local part: any domain
            args = [token]
        for arg in args:
            rows = self.conn.execute(
                "SELECT s.id, s.sent_ts, p.address, s.campaign, s.email, s.mid, s.mid_arg, s.queue_id, s.format, "
                "s.host, s.sent_file, s.sent_line FROM sends s JOIN persons p ON p.id = s.person "
                "WHERE s.mid_arg = ? ORDER BY s.sent_ts, s.id", (arg,)).fetchall()
            for row in rows:
                template = self.template(row[5])
                if not candidates or any(template == c for c, _ in candidates):
                    return self._sent(row)
        return None
