"""Who is suppressed and which sends are being retried, at a given time.

Both are kept at ingest (store/suppressions.py keeps the suppression
intervals, `soft_bounces` is the retry state), so an answer "as of" any
moment is an indexed query. The rules themselves are in rules/.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .config import Config
from .rules.retry import retry_status
from .store.codec import epoch, iso, join_text
from .store.schema import SUPPRESSION_REASONS

REASONS = SUPPRESSION_REASONS


def columns(cls) -> list[str]:
    """The export columns of Suppression or Retry (their to_json keys, the
    order of as_row)."""
    return [f.name for f in fields(cls)]


# A suppression version or a kept one (alias v) in force at a time (given three times).
_IN_FORCE = "v.valid_from <= ? AND (v.valid_to IS NULL OR v.valid_to > ?) AND (v.until IS NULL OR v.until > ?)"


@dataclass(slots=True)
class Suppression:
    person: str
    scope: str | None  # a campaign, or None = every campaign
    reason: str
    since: str
    until: str | None  # None = until released
    event_id: int | None  # None: kept from a forgotten person, whose events are gone
    detail: str | None

    def as_row(self) -> tuple:
        """The export's values, in `columns` order: an export of 100k
        rows makes no dict per row for CSV."""
        return (self.person, self.scope or "*", self.reason, self.since, self.until, self.event_id, self.detail)

    def to_json(self) -> dict:
        return dict(zip(_SUPPRESSION_COLUMNS, self.as_row()))

    def applies_to(self, campaign: str | None) -> bool:
        return self.scope is None or self.scope == campaign

    def matches(self, campaign: str | None, reason: str | None) -> bool:
        """Listed under `suppressed --campaign --reason` (None: any)."""
        return (not campaign or self.applies_to(campaign)) and (not reason or self.reason == reason)


def _listing_order(s: Suppression) -> tuple:
    """How suppressions are listed: by person, then scope (every campaign first), then reason."""
    return s.person, s.scope or "", s.reason


@dataclass(slots=True)
class Retry:
    person: str
    campaign: str | None
    message_id: str | None
    queue_id: str | None
    first_soft_bounce: str
    attempts: int
    last_attempt: str | None
    last_reason: str | None
    window_closes: str
    status: str  # pending | given_up
    event_id: int

    def as_row(self) -> tuple:
        """The export's values, in `columns` order."""
        return (self.person, self.campaign, self.message_id, self.queue_id, self.first_soft_bounce, self.attempts,
                self.last_attempt, self.last_reason, self.window_closes, self.status, self.event_id)

    def to_json(self) -> dict:
        return dict(zip(_RETRY_COLUMNS, self.as_row()))


_SUPPRESSION_COLUMNS, _RETRY_COLUMNS = tuple(columns(Suppression)), tuple(columns(Retry))


def _retry_order(r: Retry) -> tuple:
    return r.window_closes, r.person


class StateQueries:
    """The store queries behind `suppressed`, `retries`, `check` and `person`."""

    def __init__(self, store, config: Config):
        self.store = store
        self.config = config

    def iter_suppressions(self, at: str, *, person: str | None = None):
        """Suppressions in force at `at`, unsorted. For one person, those
        kept under the hash of their address when they were forgotten too."""
        reader = self.store.reader
        where, args = "", []
        if person is not None:
            yield from self.forgotten_suppressions(at, person)
            person_id = reader.person_id(person)
            if person_id is None:
                return
            where, args = " AND v.person = ?", [person_id]
        for _, suppression in self._suppressions(at, where, args):
            yield suppression

    def _in_force(self, at: str, where: str, args: list, columns: str, tail: str = "", tail_args=()):
        t = epoch(at)
        return self.store.conn.execute(f"""
            SELECT {columns}
            FROM suppressions v JOIN persons p ON p.id = v.person
            LEFT JOIN sends s ON v.event % 4 = 2 AND s.id = v.event / 4
            LEFT JOIN actions a ON v.event % 4 = 3 AND a.id = v.event / 4
            WHERE v.valid_from <= ? AND (v.valid_to IS NULL OR v.valid_to > ?)
              AND (v.until IS NULL OR v.until > ?){where}{tail}""", [t, t, t, *args, *tail_args])

    def _suppressions(self, at: str, where: str, args: list, tail: str = "", tail_args=()):
        """(person id, Suppression) of the rows `_in_force` finds."""
        for person_id, values in self._values(at, where, args, tail, tail_args):
            yield person_id, Suppression(*values)

    def _values(self, at: str, where: str, args: list, tail: str = "", tail_args=()):
        """(person id, a Suppression's fields in order) of the rows `_in_force` finds."""
        reader = self.store.reader
        names = reader.names()
        template = reader.template
        for address, scope, reason, since, until, event, s_text, s_arg, a_text, a_arg, note, person_id in \
                self._in_force(at, where, args, "p.address, v.scope, v.reason, v.since, v.until, v.event, "
                               "s.out_text, s.out_arg, a.text, a.arg, a.note, v.person", tail, tail_args):
            if s_text is not None or s_arg is not None:
                detail = join_text(template(s_text), s_arg, address)
            else:
                detail = join_text(template(a_text), a_arg, address) or note
            yield person_id, (address, names.get(scope), REASONS[reason - 1], iso(since), iso(until), event, detail)

    def _filters(self, campaign: str | None, reason: str | None) -> tuple[str, list]:
        """SQL for `suppressions_page` and `suppression_rows`: those
        stopping `campaign`, of `reason`."""
        where, args = "", []
        if reason:
            where, args = " AND v.reason = ?", [REASONS.index(reason) + 1]
        if campaign:
            scope = self.store.reader.name_id("campaign", campaign)
            where += " AND (v.scope IS NULL OR v.scope = ?)" if scope is not None else " AND v.scope IS NULL"
            args += [scope] if scope is not None else []
        return where, args

    def suppression_rows(self, at: str, *, campaign: str | None = None, reason: str | None = None):
        """`suppressions` (those stopping `campaign`, of `reason`) as export
        rows (`Suppression.as_row`), one by one in their order, in constant
        memory. SQLite gives the order: its byte order of text is Python's
        order of the same text, and a person's few come by scope (every
        campaign first) and reason, by name, as `_listing_order` has them.
        PostgreSQL orders text by the server's collation, so there they are
        sorted here, all of them."""
        if self.store.dialect.name != "sqlite":
            yield from (s.as_row() for s in self.suppressions(at) if s.matches(campaign, reason))
            return
        where, args = self._filters(campaign, reason)
        by_name = " ".join(f"WHEN {REASONS.index(r) + 1} THEN {i}" for i, r in enumerate(sorted(REASONS)))
        order = (" ORDER BY p.address, v.scope IS NOT NULL, (SELECT value FROM names WHERE id = v.scope), "
                 f"CASE v.reason {by_name} END")
        for _, (address, scope, *rest) in self._values(at, where, args, order):
            yield address, scope or "*", *rest

    def suppressions_page(self, at: str, limit: int, *, campaign: str | None = None,
                          reason: str | None = None) -> tuple[list[Suppression], int]:
        """The first `limit` of `suppressions` (those stopping `campaign`, of
        `reason`) and how many there are, without making the others: a table
        on a terminal shows a screenful of hundreds of thousands."""
        if self.store.dialect.name != "sqlite":  # text order is the server's collation there: sort here
            items = [s for s in self.suppressions(at) if s.matches(campaign, reason)]
            return items[:limit], len(items)
        where, args = self._filters(campaign, reason)
        # The count and the first people alone first, without the joins for
        # texts (every suppression has its person); the people are read in
        # id order (their pages in turn, not at random); then the rows of the
        # first `limit` people, which hold the first `limit` rows.
        t = epoch(at)
        in_force, in_force_args = f"FROM suppressions v WHERE {_IN_FORCE}{where}", [t, t, t, *args]
        conn = self.store.conn
        total = conn.execute(f"SELECT count(*) {in_force}", in_force_args).fetchone()[0]
        first = [p for p, in conn.execute(f"SELECT p.id FROM persons p WHERE p.id IN (SELECT v.person {in_force}) "
                                          "ORDER BY p.address LIMIT ?", [*in_force_args, limit])]
        marks = ", ".join("?" * len(first))
        page = list(self._suppressions(at, where + f" AND v.person IN ({marks})", [*args, *first])) if first else []
        items = sorted((s for _, s in page), key=_listing_order)
        return items[:limit], total

    def forgotten_suppressions(self, at: str, person: str) -> list[Suppression]:
        """What was kept for `person` (an address) when it was forgotten and
        is in force at `at` (no release lifted it, its until is later)."""
        from .store.forget import address_hash
        conn = self.store.conn
        if not conn.execute("SELECT 1 FROM forgotten_suppressions LIMIT 1").fetchone():
            return []
        t = epoch(at)
        names = self.store.reader.names()
        return [Suppression(person, names.get(scope), REASONS[reason - 1], iso(since), iso(until), None,
                            f"kept when the address was forgotten ({iso(forgotten)})")
                for scope, reason, since, until, forgotten in conn.execute(
                    f"SELECT scope, reason, since, until, forgotten FROM forgotten_suppressions v "
                    f"WHERE hash = ? AND {_IN_FORCE}", (address_hash(conn, person), t, t, t))]

    def forgotten_people(self, at: str, *, campaign: str | None = None, reason: str | None = None) -> int:
        """How many forgotten people are suppressed at `at` (for `campaign`:
        every campaign or that one; for `reason`)."""
        where, args = [_IN_FORCE], [epoch(at)] * 3
        if campaign is not None:
            where.append("(scope IS NULL OR scope = ?)")
            args.append(self.store.reader.name_id("campaign", campaign))
        if reason is not None:
            where.append("reason = ?")
            args.append(REASONS.index(reason) + 1)
        return self.store.conn.execute(f"SELECT count(DISTINCT hash) FROM forgotten_suppressions v "
                                       f"WHERE {' AND '.join(where)}", args).fetchone()[0]

    def erasures(self, person: str) -> list[dict]:
        """When (and by whom) `person` was forgotten, oldest first."""
        from .store.forget import address_hash
        conn = self.store.conn
        return [{"at": iso(ts), "by": actor, "id": id_} for id_, ts, actor in conn.execute(
            "SELECT id, ts, actor FROM erasures WHERE hash = ? ORDER BY ts, id", (address_hash(conn, person),))]

    def suppressions(self, at: str, *, person: str | None = None) -> list[Suppression]:
        return sorted(self.iter_suppressions(at, person=person), key=_listing_order)

    def retries(self, at: str, *, person: str | None = None, include_given_up: bool = False) -> list[Retry]:
        """Sends being retried at `at` (and those given up), soonest window close first."""
        if self.store.dialect.name == "sqlite":
            return list(self.ordered_retries(at, person=person, include_given_up=include_given_up))
        return sorted(self._retries(at, person, include_given_up, ""), key=_retry_order)

    def ordered_retries(self, at: str, *, person: str | None = None, include_given_up: bool = False):
        """`retries` one by one, in constant memory where the database gives
        the order (SQLite: a window closes a fixed time after the first soft
        bounce, and addresses sort as Python sorts them)."""
        if self.store.dialect.name != "sqlite":
            yield from self.retries(at, person=person, include_given_up=include_given_up)
            return
        yield from self._retries(at, person, include_given_up, " ORDER BY b.first_ts, p.address, b.send")

    def _retries(self, at: str, person: str | None, include_given_up: bool, order: str):
        reader = self.store.reader
        t = epoch(at)
        window = int(self.config.retry_window_hours * 3600)
        where, args = ["b.first_ts <= ?", "NOT coalesce(b.resolved_ts <= ?, FALSE)"], [t, t]
        if not include_given_up:
            where.append("b.first_ts > ?")
            args.append(t - window)
        if person is not None:
            person_id = reader.person_id(person)
            if person_id is None:
                return
            where.append("s.person = ?")
            args.append(person_id)
        names = reader.names()
        for (address, campaign, mid, mid_arg, queue_id, first, attempts, last, reason, resolved,
             send) in self.store.conn.execute(
                "SELECT p.address, s.campaign, s.mid, s.mid_arg, s.queue_id, b.first_ts, b.attempts, b.last_ts, "
                "b.reason, b.resolved_ts, b.send FROM soft_bounces b JOIN sends s ON s.id = b.send "
                f"JOIN persons p ON p.id = s.person WHERE {' AND '.join(where)}{order}", args):
            last_reason = names.get(reason)
            status = retry_status(first, last, last_reason, resolved, t, window)
            if status is None or (status == "given_up" and not include_given_up):
                continue
            yield Retry(person=address, campaign=names.get(campaign),
                        message_id=join_text(reader.template(mid), mid_arg), queue_id=queue_id,
                        first_soft_bounce=iso(first), attempts=attempts or 1, last_attempt=iso(last),
                        last_reason=last_reason, window_closes=iso(first + window),
                        status=status, event_id=send * 4 + 1)

    def check(self, person: str, campaign: str | None, at: str) -> list[Suppression]:
        """What stops `campaign` mailing `person` at `at` (empty: go ahead)."""
        return [s for s in self.suppressions(at, person=person) if s.applies_to(campaign)]
