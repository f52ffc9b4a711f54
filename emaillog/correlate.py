"""Joins a message's facts into one view per send, by the SPEC §2 rules.

A *send* is one message to one person. Its view carries everything the SPEC
says about it: when it was sent (the first delivery attempt), its outcome (at
most one `delivered`, or a `hard_bounced` with its class), and its soft
bounce (ONE however many deferrals, with an attempt count and the latest
reply). The store keeps one row per send; the event stream is derived from
it, so a deferral line updates a view instead of adding an event.

Open messages (queued, not yet `removed`) are kept as `MessageState` and
saved with each batch, so a message whose lines arrive in two runs is still
joined. State older than the horizon is closed and counted.

Times are whole UTC seconds (integers) throughout.
"""

from __future__ import annotations

import re
from collections import OrderedDict

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from . import cython_shim as cython

from .config import Config
from .store.codec import hash32
from .events import Attempt, Event, MessageDone, MessageExpired, MessageSeen, person_address, person_of

DELIVERED, HARD = "delivered", "hard_bounced"
RECENT = 20_000  # finished messages kept for a hand-off logged after its copy finished
SHARED_VALUES = 50_000  # distinct repeated values a correlator keeps one object of
# The copy a hand-off made: an SMTP reply's "queued as X", or Postfix local(8)
# expanding an alias into a new message ("forwarded as X").
_QUEUED_AS = re.compile(r"(?:queued|forwarded) as ([0-9A-Za-z]{5,20})\)?\s*$")
EXPIRED_DETAIL = "the MTA gave up after its retries (expired)"


@cython.cclass
class SendView:
    """What this run knows of one send. `soft` is None or the list
    [first_ts, first_src, first_line, attempts, last_ts, reason, code, dsn,
    detail, first_reason, first_code, first_dsn, first_detail];
    `extra` holds outcomes of a second type (a hard bounce after a delivery),
    as (type, ts, src, line, class, reason, code, dsn, detail) tuples."""

    FIELDS = ("handle", "person", "campaign", "message_id", "queue_id", "host", "format",
              "sent_ts", "sent_src", "sent_line",
              "outcome", "out_ts", "out_src", "out_line", "out_class", "out_reason",
              "out_code", "out_dsn", "out_detail", "soft", "extra", "mkey")
    handle = cython.declare(object, visibility="public")
    person = cython.declare(object, visibility="public")
    campaign = cython.declare(object, visibility="public")
    message_id = cython.declare(object, visibility="public")
    queue_id = cython.declare(object, visibility="public")
    host = cython.declare(object, visibility="public")
    format = cython.declare(object, visibility="public")
    sent_ts = cython.declare(object, visibility="public")
    sent_src = cython.declare(object, visibility="public")
    sent_line = cython.declare(object, visibility="public")
    outcome = cython.declare(object, visibility="public")
    out_ts = cython.declare(object, visibility="public")
    out_src = cython.declare(object, visibility="public")
    out_line = cython.declare(object, visibility="public")
    out_class = cython.declare(object, visibility="public")
    out_reason = cython.declare(object, visibility="public")
    out_code = cython.declare(object, visibility="public")
    out_dsn = cython.declare(object, visibility="public")
    out_detail = cython.declare(object, visibility="public")
    soft = cython.declare(object, visibility="public")
    extra = cython.declare(object, visibility="public")
    mkey = cython.declare(object, visibility="public")

    def __init__(self, handle: int, person: str, ts: int, src: str | None, line: int | None):
        self.handle = handle
        self.person = person
        self.campaign = self.message_id = self.queue_id = self.host = self.format = None
        self.sent_ts, self.sent_src, self.sent_line = ts, src, line
        self.outcome = self.out_ts = self.out_src = self.out_line = None
        self.out_class = self.out_reason = self.out_code = self.out_dsn = self.out_detail = None
        self.soft = None
        self.extra = None
        self.mkey = None  # the message's identity where the send began (see Correlator.record)

    def take_from(self, copy: SendView) -> None:
        """What the copy made by a content filter or a local relay did is
        what happened to this send: its first attempt is the sending, its
        outcome and soft bounce are this send's (the hop was neither)."""
        self.sent_ts, self.sent_src, self.sent_line = copy.sent_ts, copy.sent_src, copy.sent_line
        self.outcome, self.out_ts, self.out_src, self.out_line = copy.outcome, copy.out_ts, copy.out_src, copy.out_line
        self.out_class, self.out_reason, self.out_code = copy.out_class, copy.out_reason, copy.out_code
        self.out_dsn, self.out_detail = copy.out_dsn, copy.out_detail
        self.soft, self.extra = copy.soft, copy.extra

    def set_outcome(self, kind: str, ts: int, src, line, cls, reason, code, dsn, detail) -> bool:
        """The first outcome of each type counts (SPEC: at most one delivered);
        False when this one was a repeat."""
        if self.outcome is None:
            self.outcome, self.out_ts, self.out_src, self.out_line = kind, ts, src, line
            self.out_class, self.out_reason, self.out_code, self.out_dsn, self.out_detail = cls, reason, code, dsn, detail
            return True
        if kind != self.outcome and not any(e[0] == kind for e in self.extra or ()):
            self.extra = [*(self.extra or ()), (kind, ts, src, line, cls, reason, code, dsn, detail)]
            return True
        return False

    def add_soft(self, ts: int, src, line, reason, code, dsn, detail, *, tried: bool) -> None:
        soft = self.soft
        if soft is None:
            self.soft = [ts, src, line, 1, ts, reason, code, dsn, detail, reason, code, dsn, detail]
            return
        if tried:
            soft[3] += 1
        if ts >= soft[4]:  # the latest attempt speaks; codes only when it gave some
            soft[4] = ts
            soft[5], soft[8] = reason, detail
            if code is not None:
                soft[6] = code
            if dsn is not None:
                soft[7] = dsn
        if ts < soft[0]:
            soft[0:3] = ts, src, line
            soft[9:13] = reason, code, dsn, detail

    def to_json(self) -> list:
        return [getattr(self, name) for name in self.FIELDS]

    @classmethod
    def from_json(cls, data: list) -> SendView:
        view = cls(0, None, 0, None, None)
        for name, value in zip(cls.FIELDS, data):
            setattr(view, name, value)
        # JSON made lists of the (fingerprint, label) sources
        view.sent_src, view.out_src = _pair(view.sent_src), _pair(view.out_src)
        if view.soft is not None:
            view.soft[1] = _pair(view.soft[1])
        if view.extra is not None:
            view.extra = [(e[0], e[1], _pair(e[2]), *e[3:]) for e in view.extra]
        return view

    def waiting(self) -> bool:
        """Handed to a filter or relay whose copy has made no attempt yet."""
        return self.sent_ts is None


@cython.cclass
class MessageState:
    """What we know of one queued message so far, and its sends."""

    FIELDS = ("key", "first_ts", "last_ts", "format", "host", "queue_id", "message_id", "sender",
              "campaign", "email", "is_notice", "unique_key", "sends", "settled", "forward")
    key = cython.declare(object, visibility="public")
    first_ts = cython.declare(object, visibility="public")
    last_ts = cython.declare(object, visibility="public")
    format = cython.declare(object, visibility="public")
    host = cython.declare(object, visibility="public")
    queue_id = cython.declare(object, visibility="public")
    message_id = cython.declare(object, visibility="public")
    sender = cython.declare(object, visibility="public")
    campaign = cython.declare(object, visibility="public")
    email = cython.declare(object, visibility="public")
    is_notice = cython.declare(object, visibility="public")
    unique_key = cython.declare(object, visibility="public")
    sends = cython.declare(dict, visibility="public")
    settled = cython.declare(set, visibility="public")
    forward = cython.declare(dict, visibility="public")

    def __init__(self, key: str, ts: int, fmt: str):
        self.key, self.first_ts, self.last_ts, self.format = key, ts, ts, fmt
        self.host = self.queue_id = self.message_id = self.sender = self.campaign = self.email = None
        self.is_notice = self.unique_key = False
        self.sends: dict[str, SendView] = {}
        # people delivered or hard-bounced: an expiry no longer concerns them
        self.settled: set[str] = set()
        # a copy made by a filter or relay: its recipient -> the person of the original send
        self.forward: dict[str, str] = {}

    def to_json(self) -> dict:
        data = {name: getattr(self, name) for name in self.FIELDS if name not in ("sends", "settled")}
        data["forward"] = dict(self.forward)
        data["sends"] = [v.to_json() for v in self.sends.values()]
        data["settled"] = sorted(self.settled)
        return data

    @classmethod
    def from_json(cls, data: dict) -> MessageState:
        state = cls("", 0, None)
        for name in cls.FIELDS:
            if name not in ("sends", "settled", "forward"):
                setattr(state, name, data.get(name))
        state.forward = dict(data.get("forward") or {})
        state.is_notice, state.unique_key = bool(state.is_notice), bool(state.unique_key)
        state.sends = {}
        for item in data.get("sends", ()):
            view = SendView.from_json(item)
            state.sends[view.person] = view
        state.settled = set(data.get("settled", ()))
        return state


class Counters:
    __slots__ = ("notices_skipped", "stale_closed", "soft_facts", "repeats")

    def __init__(self):
        self.notices_skipped = 0
        self.stale_closed = 0
        self.soft_facts = 0  # deferrals and expiries met (the first of a send included)
        self.repeats = 0     # outcomes met again (a repeated line)


def seconds(ts) -> int:
    """A fact's time as whole UTC seconds (parsers may give datetimes)."""
    return ts if isinstance(ts, int) else int(ts.timestamp())


def _pair(src):
    """A source read back from JSON: (fingerprint, label), or a label alone."""
    return tuple(src) if isinstance(src, list) else src


def split_source(source: str | None) -> tuple[str | None, int | None]:
    """`mail.log:12` -> (`mail.log`, 12); other sources stay whole."""
    if not source:
        return None, None
    label, colon, line = source.rpartition(":")
    if colon and line.isdigit():
        return label, int(line)
    return source, None


class Correlator:
    """Feeds facts in log order; `collect()` hands over the sends that changed."""

    def __init__(self, config: Config, open_messages: dict[str, MessageState] | None = None,
                 first_handle: int = 1):
        self.config = config
        self.open: dict[str, MessageState] = open_messages or {}
        self.dirty_states: set[str] = set()
        self.closed: set[str] = set()
        # Keys whose state the store holds: a message that opened and closed
        # between two batches was never saved, and has nothing to delete.
        self.saved: set[str] = set(self.open)
        self.changed: dict[int, tuple[SendView, MessageState]] = {}
        self.counters = Counters()
        self.horizon = int(config.open_state_horizon_hours * 3600)
        self.next_handle = first_handle
        self.loaded: set[int] = set()  # handles of views saved by an earlier run
        for state in self.open.values():
            for view in state.sends.values():
                self.next_handle = max(self.next_handle, view.handle + 1)
                self.loaded.add(view.handle)
        self.events: list[Event] = []
        self.file: str | None = None  # the fingerprint of the input being read (see `sources`)
        # (host, queue id) -> open message key, and recently finished messages:
        # where a hand-off's "queued as X" finds the copy it made
        self.qids: dict[tuple, str] = {}
        self.recent: OrderedDict = OrderedDict()
        self.drops: list[tuple] = []  # records of copies' sends folded into their originals
        self.finished: list[int] = []  # handles of sends whose message closed (the writer forgets them)
        for state in self.open.values():
            if state.queue_id:
                self.qids[(state.host, state.queue_id)] = state.key
        # The classifier, imported when there is work: compiling its tables
        # costs a cron run that finds nothing new.
        from . import classify
        self.classify = classify.classify_memo
        self.parse_reply = classify.parse_reply
        from .formats import FORMATS
        self.stable_ids = frozenset(name for name, m in FORMATS.items() if getattr(m, "IDS_NEVER_REUSED", False))
        # One object for each repeated value of the records (see `record`).
        self.shared: dict = {}

    # -- state -------------------------------------------------------------
    @cython.locals(state=MessageState, key=str)
    def _state(self, key: str, ts: int, fmt: str) -> MessageState:
        state = self.open.get(key)
        if state is None:
            state = self.open[key] = MessageState(key, ts, fmt)
            self.closed.discard(key)
        elif ts > state.last_ts:
            state.last_ts = ts
        self.dirty_states.add(key)
        return state

    @cython.locals(state=MessageState, view=SendView, key=str)
    def _close(self, key: str) -> None:
        state = self.open.pop(key, None)
        if state is not None:
            finished = self.finished
            for view in state.sends.values():
                finished.append(view.handle)
            self.closed.add(key)
            self.dirty_states.discard(key)
            if state.queue_id:
                where = (state.host, state.queue_id)
                if self.qids.get(where) == key:
                    del self.qids[where]
                self.recent[where] = state
                if len(self.recent) > RECENT:
                    self.recent.popitem(last=False)

    def prune(self, now: int) -> int:
        """Close messages not heard of within the horizon before `now`."""
        cutoff = now - self.horizon
        stale = [k for k, s in self.open.items() if s.last_ts < cutoff]
        for key in stale:
            self._close(key)
        self.counters.stale_closed += len(stale)
        return len(stale)

    def _touch(self, view: SendView, state: MessageState) -> None:
        self.changed[view.handle] = (view, state)

    # -- facts (the generic path; fast parsers call the methods below) -----
    def feed(self, fact) -> None:
        if isinstance(fact, Attempt):
            src, line = split_source(fact.source)
            self.attempt(fact.key, seconds(fact.ts), fact.source_format, fact.recipient, fact.outcome,
                         orig=fact.orig_recipient, host=fact.host, queue_id=fact.queue_id, code=fact.smtp_code,
                         dsn=fact.dsn, detail=fact.detail, hint=fact.hint, stage=fact.stage, src=src, line=line,
                         message_id=fact.message_id, sender=fact.sender, campaign=fact.campaign)
        elif isinstance(fact, MessageSeen):
            self.seen(fact.key, seconds(fact.ts), fact.source_format, host=fact.host, queue_id=fact.queue_id,
                      message_id=fact.message_id, sender=fact.sender, campaign=fact.campaign, email=fact.email,
                      is_notice=fact.is_notice, unique_key=fact.unique_key)
        elif isinstance(fact, MessageExpired):
            src, line = split_source(fact.source)
            self.expired(fact.key, seconds(fact.ts), src, line)
        elif isinstance(fact, MessageDone):
            self._close(fact.key)
        elif isinstance(fact, Event):
            fact.source_file = self.file
            self.events.append(fact)

    def done(self, key: str) -> None:
        self._close(key)

    @cython.locals(state=MessageState)
    def seen(self, key: str, ts: int, fmt: str, *, host=None, queue_id=None, message_id=None, sender=None,
             campaign=None, email=None, is_notice=False, unique_key=False) -> None:
        state = self._state(key, ts, fmt)
        if host is not None:
            state.host = host
        if queue_id is not None:
            state.queue_id = queue_id
            self.qids[(state.host if state.host is not None else host, queue_id)] = key
        if message_id is not None:
            state.message_id = message_id
        if sender is not None:
            state.sender = sender
        if campaign is not None:
            state.campaign = campaign
        if email is not None:
            state.email = email
        if is_notice:
            state.is_notice = True
        if unique_key:
            state.unique_key = True

    @cython.locals(state=MessageState, view=SendView, key=str, fmt=str, recipient=str, outcome=str, person=str,
                   detail=str)
    def attempt(self, key: str, ts: int, fmt: str, recipient: str, outcome: str, *, orig=None, host=None,
                queue_id=None, code=None, dsn=None, detail=None, hint=None, stage=None, src=None, line=None,
                message_id=None, sender=None, campaign=None) -> None:
        state = self._state(key, ts, fmt)
        if sender and not state.sender:
            state.sender = sender
        if src is not None:
            src = (self.file, src)  # which input, and its name then: an event's `source`
            src = self.shared.setdefault(src, src)
        if state.is_notice:
            self.counters.notices_skipped += 1
            return
        # The address the campaign sent to is the person; but a person always
        # has a domain: a bare local orig_to (an alias) is not one (SPEC §3).
        person = person_of(person_address(recipient, orig))
        if not person:
            return
        person = state.forward.get(person, person)  # a copy's recipient is the original send's person
        if outcome == "delivered" and detail and (" queued as " in detail or "forwarded as " in detail) and \
                self._hand_off(state, person, ts, fmt, detail, host, queue_id, src, line, recipient):
            return
        view = state.sends.get(person)
        if view is None:
            view = state.sends[person] = SendView(self.next_handle, person, ts, src, line)
            self.next_handle += 1
            view.format = fmt
            view.mkey = self._mkey(state)
        elif view.waiting():  # the copy's first attempt: the send leaves our servers now
            view.sent_ts, view.sent_src, view.sent_line = ts, src, line
        if campaign and not view.campaign:
            view.campaign = campaign
        if message_id and not view.message_id:
            view.message_id = message_id
        if queue_id and not view.queue_id:
            view.queue_id = queue_id
        if host and not view.host:
            view.host = host
        self._touch(view, state)
        if outcome != "accepted":  # accepted: an ESP took the message, sent and nothing more yet
            self._outcome(state, view, person, ts, outcome, code, dsn, detail, hint, stage, src, line)
        if state.unique_key and state.settled.issuperset(state.sends):
            self._close(key)  # nothing more to join; a late duplicate finds the same send

    def _mkey(self, state) -> int:
        """A message's identity as the first release's event keys named it:
        its key and, unless the key is unique by itself (an ESP's message id,
        an MTA's id that is never reused), the time it was first seen (queue
        ids are reused)."""
        if state.unique_key or state.format in self.stable_ids:
            return hash32(state.key)
        return hash32(f"{state.first_ts}|{state.key}")

    @cython.locals(state=MessageState, copy=MessageState, view=SendView, theirs=SendView)
    def _hand_off(self, state, person, ts, fmt, detail, host, queue_id, src, line, recipient) -> bool:
        """A "delivery" that only handed the message to a content filter or a
        local relay on this host (amavis, an MSP to the local MTA, one Postfix
        instance to another): the reply names the copy's queue id, and that
        copy is in this log. The copy's outcome is this send's; the hop is
        neither sent nor delivered. False when no such copy is known (a
        remote server's `queued as`)."""
        new_id = _QUEUED_AS.search(detail)
        if new_id is None:
            return False
        where = (host if host is not None else state.host, new_id.group(1))
        copy = self.open.get(self.qids.get(where, ""))
        if copy is None:
            copy = self.recent.get(where)
        if copy is None or copy is state:
            return False
        target = person_of(recipient) or person
        view = state.sends.pop(person, None)
        if view is None:
            view = SendView(self.next_handle, person, ts, src, line)
            self.next_handle += 1
            view.format = fmt
            view.mkey = self._mkey(state)
            view.sent_ts = view.sent_src = view.sent_line = None  # not sent until the copy's attempt
        elif view.outcome is None and view.soft is None:
            view.sent_ts = view.sent_src = view.sent_line = None
        if view.campaign is None:
            view.campaign = state.campaign or self.config.campaign_from_sender(state.sender)
        if view.message_id is None:
            view.message_id = state.message_id
        if view.queue_id is None:
            view.queue_id = state.queue_id
        theirs = copy.sends.pop(target, None)
        if theirs is not None:  # the copy went ahead of the hand-off line: fold it in
            view.take_from(theirs)
            self.changed.pop(theirs.handle, None)
            self.drops.append(self.record(theirs, copy))
        copy.forward[target] = person
        copy.sends[person] = view
        if view.handle in self.changed:
            self.changed[view.handle] = (view, copy)
        if person in copy.settled or theirs is not None and theirs.outcome is not None:
            copy.settled.add(person)
        if not view.waiting():
            self._touch(view, copy)
        self.dirty_states.add(copy.key)
        if copy.key not in self.open:  # the copy is finished: so is this send
            self.changed[view.handle] = (view, copy)
        return True

    @cython.locals(state=MessageState, view=SendView, outcome=str, detail=str, person=str)
    def _outcome(self, state, view, person, ts, outcome, code, dsn, detail, hint, stage, src, line) -> None:
        # The reply code is read from the text, as the MTA wrote it.
        if outcome == "delivered" and dsn and detail and detail[:1] in "245" and detail[1:3].isdigit() \
                and detail[3:4] in (" ", "-", ""):
            code = int(detail[:3])  # "250 2.0.0 Ok: ...": what parse_reply would find first
        else:
            code, parsed_dsn, text = self.parse_reply(detail or "")
            dsn = dsn or parsed_dsn
        if outcome == "delivered":
            state.settled.add(person)
            if not view.set_outcome(DELIVERED, ts, src, line, None, None, code, dsn, detail):
                self.counters.repeats += 1
            return
        if outcome == "expired":
            # Giving up is not another try, unless the line carries a reply.
            self.counters.soft_facts += 1
            view.add_soft(ts, src, line, "expired", code, dsn, detail, tried=code is not None)
            return
        verdict = self.classify(code, dsn, text, stage=stage, hint=hint, address=person)
        if outcome == "bounced":
            state.settled.add(person)  # the MTA will not try again
        if outcome == "bounced" and verdict.hard:
            if not view.set_outcome(HARD, ts, src, line, verdict.bounce_class, verdict.reason, code, dsn, detail):
                self.counters.repeats += 1
        else:
            # Deferrals are soft whatever the words say; so are 5xx replies
            # the classifier calls temporary (mailbox full, rate limits).
            self.counters.soft_facts += 1
            view.add_soft(ts, src, line, verdict.reason, code, dsn, detail, tried=True)

    def expired(self, key: str, ts: int, src=None, line=None) -> None:
        """The MTA gave up: every soft-bounced recipient's retry is over."""
        state = self.open.get(key)
        if state is None or state.is_notice:
            return
        state.last_ts = max(state.last_ts, ts)
        self.dirty_states.add(key)
        if src is not None:
            src = (self.file, src)
        for person, view in state.sends.items():
            if view.soft is None or person in state.settled or view.waiting():
                continue
            self.counters.soft_facts += 1
            view.add_soft(ts, src, line, "expired", None, None, EXPIRED_DETAIL, tried=False)
            self._touch(view, state)

    # -- handing over ------------------------------------------------------
    def collect(self) -> tuple[list[tuple], list[Event]]:
        """The changed sends as records (see `record`) and the engagement
        events since the last call."""
        records = [self.record(view, state) for view, state in self.changed.values() if not view.waiting()]
        self.changed.clear()
        events, self.events = self.events, []
        return records, events

    def collect_finished(self) -> list[int]:
        """Handles of sends that will bring no more records this run: their
        message closed, maybe in a batch where they did not change."""
        finished, self.finished = self.finished, []
        return finished

    def collect_drops(self) -> list[tuple]:
        """Records of copies' sends that were folded into their originals
        after being handed over: the store removes what it has of them."""
        drops, self.drops = self.drops, []
        return drops

    @cython.locals(view=SendView, state=MessageState)
    def record(self, view: SendView, state: MessageState) -> tuple:
        """The tuple the store writes (fields R_*): the view with the
        message's facts resolved (campaign: the attempt's, the header's, or
        the VERP sender's). `mkey` names the message as the first release's
        event keys did: by its key, and unless the key is unique by itself
        (an ESP's message id), the time it was first seen (queue ids are
        reused)."""
        campaign = view.campaign or state.campaign or self.config.campaign_from_sender(state.sender)
        flags = (FINAL if state.key not in self.open else 0) | (CONTINUING if view.handle in self.loaded else 0)
        mkey = view.mkey if view.mkey is not None else self._mkey(state)
        message_id = view.message_id or state.message_id
        soft = view.soft
        person = view.person
        # Values that repeat (names, sources) as one object each: the batch
        # is pickled to the writing process, and pickle writes an object it
        # has met before as a reference; each line's parse made its own copy
        # of the same text. (The writer splits the texts into template and
        # argument: the parsing process is the busier one.)
        shared = self.shared
        if len(shared) > SHARED_VALUES:
            shared.clear()
        share = shared.setdefault
        host, fmt, dsn = view.host or state.host, view.format or state.format, view.out_dsn
        return (view.handle, flags, person, mkey, share(campaign, campaign), state.email,
                share(host, host), share(fmt, fmt), view.queue_id or state.queue_id,
                message_id, view.sent_ts, view.sent_src, view.sent_line,
                view.outcome, view.out_ts, view.out_src, view.out_line, view.out_class, view.out_reason,
                view.out_code, share(dsn, dsn), view.out_detail,
                tuple(soft) if soft is not None else None,
                tuple(view.extra) if view.extra else None)

    def open_state_rows(self) -> tuple[list[tuple[str, int, dict]], list[str]]:
        """(upserts, deletes) of open message state since the last call."""
        upserts = [(k, self.open[k].last_ts, self.open[k].to_json()) for k in self.dirty_states if k in self.open]
        saved = self.saved
        deletes = [k for k in self.closed if k in saved]
        saved.difference_update(deletes)
        saved.update(k for k, _, _ in upserts)
        self.dirty_states.clear()
        self.closed.clear()
        return upserts, deletes


# Field positions in a send record (Correlator.record), and its flags.
(R_HANDLE, R_FLAGS, R_PERSON, R_MKEY, R_CAMPAIGN, R_EMAIL, R_HOST, R_FORMAT, R_QUEUE_ID,
 R_MESSAGE_ID, R_SENT_TS, R_SENT_SRC, R_SENT_LINE, R_OUTCOME, R_OUT_TS, R_OUT_SRC, R_OUT_LINE, R_CLASS,
 R_REASON, R_CODE, R_DSN, R_DETAIL, R_SOFT, R_EXTRA) = range(24)
FINAL = 1        # its message is closed: nothing more will come this run
CONTINUING = 2   # the view was saved by an earlier run (open state)
