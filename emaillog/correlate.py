"""Joins a message's facts into per-recipient events, by the SPEC §2 rules.

Per (message, recipient): one `sent` at the first delivery attempt, at most
one `delivered`, one `hard_bounced`, and ONE `soft_bounced` however many
deferrals (its `attempts` counts them). Every event carries a natural key
built from the message's identity, so feeding the same lines twice, or
re-reading a file, yields the same keys and the store adds nothing.

Open messages (queued, not yet `removed`) are kept as `MessageState` and
saved with each batch, so a message whose lines arrive in two runs is still
joined. State older than the horizon is closed and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Config
from .events import (
    DELIVERED, HARD_BOUNCED, SENT, SOFT_BOUNCED, Attempt, Event, MessageDone,
    MessageExpired, MessageSeen, iso, person_of,
)


@dataclass
class MessageState:
    """What we know of one queued message so far."""

    key: str
    first_ts: datetime
    last_ts: datetime
    source_format: str
    host: str | None = None
    queue_id: str | None = None
    message_id: str | None = None
    sender: str | None = None
    campaign: str | None = None  # from a header or an ESP tag (beats VERP)
    email: str | None = None
    is_notice: bool = False
    unique_key: bool = False
    sent_to: list[str] = field(default_factory=list)
    # people delivered or hard-bounced: an expiry no longer concerns them
    settled: list[str] = field(default_factory=list)
    # person -> [attempts, first soft-bounce ts (ISO)]
    soft: dict[str, list] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        """The message's identity in event keys. Queue ids get reused, so the
        time it was first seen leads (which also keeps the key index
        append-only); an ESP's message id is unique on its own."""
        return self.key if self.unique_key else f"{iso(self.first_ts)}|{self.key}"

    def to_json(self) -> dict:
        data = dict(self.__dict__)
        data["soft"] = {k: list(v) for k, v in self.soft.items()}
        data["first_ts"] = self.first_ts.isoformat()
        data["last_ts"] = self.last_ts.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> MessageState:
        data = dict(data)
        data["first_ts"] = datetime.fromisoformat(data["first_ts"])
        data["last_ts"] = datetime.fromisoformat(data["last_ts"])
        return cls(**data)


@dataclass
class Counters:
    notices_skipped: int = 0
    stale_closed: int = 0


class Correlator:
    """Feeds facts in log order; returns the events each one completes."""

    def __init__(self, config: Config, open_messages: dict[str, MessageState] | None = None):
        self.config = config
        self.open: dict[str, MessageState] = open_messages or {}
        self.dirty: set[str] = set()
        self.closed: set[str] = set()
        self.counters = Counters()
        self.horizon = timedelta(hours=config.open_state_horizon_hours)

    # -- state -------------------------------------------------------------
    def _state(self, key: str, ts: datetime, source_format: str) -> MessageState:
        state = self.open.get(key)
        if state is None:
            state = self.open[key] = MessageState(key, ts, ts, source_format)
            self.closed.discard(key)
        elif ts > state.last_ts:
            state.last_ts = ts
        self.dirty.add(key)
        return state

    def _close(self, key: str) -> None:
        if self.open.pop(key, None) is not None:
            self.closed.add(key)
            self.dirty.discard(key)

    def prune(self, now: datetime) -> int:
        """Close messages not heard of within the horizon before `now`."""
        cutoff = now - self.horizon
        stale = [k for k, s in self.open.items() if s.last_ts < cutoff]
        for key in stale:
            self._close(key)
        self.counters.stale_closed += len(stale)
        return len(stale)

    # -- facts -------------------------------------------------------------
    def feed(self, fact) -> list[Event]:
        if isinstance(fact, Attempt):
            return self._attempt(fact)
        if isinstance(fact, MessageSeen):
            self._seen(fact)
            return []
        if isinstance(fact, MessageExpired):
            return self._expired(fact)
        if isinstance(fact, MessageDone):
            self._close(fact.key)
            return []
        if isinstance(fact, Event):
            return [fact]
        return []

    def _seen(self, fact: MessageSeen) -> None:
        state = self._state(fact.key, fact.ts, fact.source_format)
        if fact.host is not None:
            state.host = fact.host
        if fact.queue_id is not None:
            state.queue_id = fact.queue_id
        if fact.message_id is not None:
            state.message_id = fact.message_id
        if fact.sender is not None:
            state.sender = fact.sender
        if fact.campaign is not None:
            state.campaign = fact.campaign
        if fact.email is not None:
            state.email = fact.email
        if fact.is_notice:
            state.is_notice = True
        if fact.unique_key:
            state.unique_key = True

    def _event(self, state: MessageState, fact, person: str, type_: str, ts: datetime, **extra) -> Event:
        """An event of this message for `person`; `fact` (an Attempt or a
        MessageExpired) adds what only it knows."""
        attempt = fact if isinstance(fact, Attempt) else None
        campaign = (attempt and attempt.campaign) or state.campaign or self.config.campaign_from_sender(
            (attempt and attempt.sender) or state.sender)
        send = f"{state.uid}|{person}"
        return Event(
            ts=ts, type=type_, person=person, key=f"{send}|{type_}", send=send,
            campaign=campaign, email=state.email,
            message_id=(attempt and attempt.message_id) or state.message_id,
            queue_id=(attempt and attempt.queue_id) or state.queue_id, source_format=fact.source_format,
            host=(attempt and attempt.host) or state.host, source=fact.source, **extra,
        )

    def _attempt(self, fact: Attempt) -> list[Event]:
        events = self._attempt_events(fact)
        state = self.open.get(fact.key)
        if (state is not None and state.unique_key and state.sent_to
                and all(person in state.settled for person in state.sent_to)):
            self._close(fact.key)  # nothing more to join; a late duplicate finds the same keys
        return events

    def _attempt_events(self, fact: Attempt) -> list[Event]:
        state = self._state(fact.key, fact.ts, fact.source_format)
        if fact.sender and not state.sender:
            state.sender = fact.sender
        if state.is_notice:
            self.counters.notices_skipped += 1
            return []
        person = person_of(fact.orig_recipient or fact.recipient)
        if not person:
            return []
        events = []
        if person not in state.sent_to:
            state.sent_to.append(person)
            events.append(self._event(state, fact, person, SENT, fact.ts))
        if fact.outcome == "accepted":  # an ESP took the message: sent, nothing more yet
            return events
        if fact.outcome == "delivered":
            state.settled.append(person)
            code, dsn, _ = parse_reply(fact.detail or "")
            events.append(self._event(state, fact, person, DELIVERED, fact.ts,
                                      smtp_code=code, dsn=fact.dsn or dsn, detail=fact.detail))
            return events
        code, dsn, text = parse_reply(fact.detail or "")
        dsn = fact.dsn or dsn
        if fact.outcome == "expired":
            # Giving up is not another try, unless the line carries a reply.
            events.append(self._soft(state, fact, person, "expired", code, dsn, tried=code is not None))
            return events
        verdict = classify(code, dsn, text, stage=fact.stage, hint=fact.hint)
        if fact.outcome == "bounced":
            state.settled.append(person)  # the MTA will not try again
        if fact.outcome == "bounced" and verdict.hard:
            events.append(self._event(state, fact, person, HARD_BOUNCED, fact.ts,
                                      bounce_class=verdict.bounce_class, reason=verdict.reason,
                                      smtp_code=code, dsn=dsn, detail=fact.detail))
        else:
            # Deferrals are soft whatever the words say; so are 5xx replies
            # the classifier calls temporary (mailbox full, rate limits).
            events.append(self._soft(state, fact, person, verdict.reason, code, dsn))
        return events

    def _soft(self, state, fact: Attempt, person: str, reason: str, code, dsn, *, tried: bool = True) -> Event:
        counts = state.soft.setdefault(person, [0, iso(fact.ts)])
        counts[0] += 1 if tried or not counts[0] else 0
        return self._event(state, fact, person, SOFT_BOUNCED, _from_iso(counts[1]), reason=reason,
                           smtp_code=code, dsn=dsn, detail=fact.detail,
                           attempts=counts[0], last_attempt=fact.ts)

    def _expired(self, fact: MessageExpired) -> list[Event]:
        """The MTA gave up: every soft-bounced recipient's retry is over."""
        state = self.open.get(fact.key)
        if state is None or state.is_notice:
            return []
        state.last_ts = max(state.last_ts, fact.ts)
        self.dirty.add(fact.key)
        events = []
        for person, (attempts, first) in state.soft.items():
            if person in state.settled:
                continue
            events.append(self._event(
                state, fact, person, SOFT_BOUNCED, _from_iso(first), reason="expired",
                detail="the MTA gave up after its retries (expired)",
                attempts=attempts, last_attempt=fact.ts))
        return events


def classify(*args, **kwargs):
    return _classifier().classify(*args, **kwargs)


def parse_reply(text):
    return _classifier().parse_reply(text)


def _classifier():
    """The classifier module, imported on first use: compiling its tables
    costs a cron run that finds nothing new."""
    global _CLASSIFY
    if _CLASSIFY is None:
        from . import classify as module
        _CLASSIFY = module
    return _CLASSIFY


_CLASSIFY = None


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
