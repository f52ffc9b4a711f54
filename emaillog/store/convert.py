"""Bringing a database of the first release's layout (one wide `events`
row per event, keyed by text) into the compact layout, nothing lost.

Send events are grouped by the send they belong to (the old `send`
column), rebuilt as the record the correlator would have made, and written
by the same writer as an ingest; other events become actions. Open message
state is rebuilt so that an ingest continuing those messages joins them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from ..correlate import FINAL, MessageState, SendView
from ..events import Event
from .codec import epoch, hash32, iso

PROGRESS = None  # callable(done, total) set by Store while it migrates
BATCH = 20_000
_ISO_UID = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\|(.*)$", re.S)
SEND_TYPES = ("sent", "delivered", "hard_bounced", "soft_bounced")


def _mkey(uid: str) -> int:
    m = _ISO_UID.match(uid)
    return hash32(f"{epoch(m.group(1))}|{m.group(2)}" if m else uid)


def _src(source: str | None):
    if not source:
        return None, None
    label, colon, line = source.rpartition(":")
    return (label, int(line)) if colon and line.isdigit() else (source, None)


def _view(handle: int, events: dict) -> SendView:
    """A send's view from its old events (by type)."""
    sent = events.get("sent") or next(iter(events.values()))
    src, line = _src(sent["source"])
    view = SendView(handle, sent["person"], epoch(sent["ts"]), src, line)
    view.campaign, view.message_id, view.queue_id = sent["campaign"], sent["message_id"], sent["queue_id"]
    view.host, view.format = sent["host"], sent["source_format"]
    for kind in sorted(("delivered", "hard_bounced"), key=lambda k: (k not in events, events.get(k, {}).get("id", 0))):
        if kind in events:
            e = events[kind]
            src, line = _src(e["source"])
            view.set_outcome(kind, epoch(e["ts"]), src, line, e["bounce_class"], e["reason"], e["smtp_code"],
                             e["dsn"], e["detail"])
    soft = events.get("soft_bounced")
    if soft is not None:
        src, line = _src(soft["source"])
        last = epoch(soft["last_attempt"]) if soft["last_attempt"] else epoch(soft["ts"])
        verdict = (soft["reason"], soft["smtp_code"], soft["dsn"], soft["detail"])
        view.soft = [epoch(soft["ts"]), src, line, soft["attempts"] or 1, last, *verdict, *verdict]
    return view


def _record(view: SendView, mkey: int, events: dict) -> tuple:
    sent = events.get("sent") or next(iter(events.values()))
    return (view.handle, FINAL, view.person, mkey, view.campaign, sent["email"], view.host, view.format,
            view.queue_id, view.message_id, view.sent_ts, view.sent_src, view.sent_line, view.outcome,
            view.out_ts, view.out_src, view.out_line, view.out_class, view.out_reason, view.out_code,
            view.out_dsn, view.out_detail, tuple(view.soft) if view.soft else None,
            tuple(view.extra) if view.extra else None)


def _event(row: dict) -> Event:
    fields = {k: row[k] for k in ("campaign", "email", "message_id", "queue_id", "source_format", "host",
                                  "bounce_class", "reason", "smtp_code", "dsn", "detail", "url", "source",
                                  "attempts", "machine", "note", "actor", "scope")}
    until = epoch(row["until"]) if row["until"] else None
    return Event(ts=epoch(row["ts"]), type=row["type"], person=row["person"], key=row["dedupe_key"],
                 until=until, **fields)


def convert_release_1(conn) -> None:
    """Convert in a few streaming passes: memory stays flat however many
    events the old table holds."""
    from ..config import Config
    from .writer import Writer
    total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    writer = Writer(conn, Config())
    wanted = _open_sends(conn)  # sends that open message state refers to
    views: dict[str, SendView] = {}
    handles = iter(range(1, 1 << 62))
    done = 0
    kinds = ", ".join(f"'{t}'" for t in SEND_TYPES)
    cur = conn.execute(f"SELECT * FROM events WHERE send IS NOT NULL AND type IN ({kinds}) ORDER BY send, id")
    names = [d[0] for d in cur.description]
    records: list[tuple] = []
    send, events = None, {}

    def flush_send():
        person = next(iter(events.values()))["person"]
        uid = send[:-len(person) - 1] if send.endswith("|" + person) else send.rpartition("|")[0]
        view = _view(next(handles), events)
        view.mkey = _mkey(uid)
        if send in wanted:
            views[send] = view
        records.append(_record(view, _mkey(uid), events))

    for values in cur:  # the writer writes other tables meanwhile: SQLite allows it
        row = dict(zip(names, values))
        done += 1
        if row["send"] != send and events:
            flush_send()
            events = {}
            if len(records) >= BATCH:
                writer.write(records, [])
                records = []
                if PROGRESS:
                    PROGRESS(done, total)
        send = row["send"]
        events.setdefault(row["type"], row)
    if events:
        flush_send()
    writer.write(records, [])
    others: list[Event] = []
    for values in conn.execute(f"SELECT * FROM events WHERE send IS NULL OR type NOT IN ({kinds}) ORDER BY ts, id"):
        others.append(_event(dict(zip(names, values))))
        done += 1
        if len(others) >= BATCH:
            writer.write([], others)
            others = []
            if PROGRESS:
                PROGRESS(done, total)
    writer.write([], others)
    _convert_open_state(conn, views, handles)
    if PROGRESS:
        PROGRESS(total, total)


def _open_sends(conn) -> set[str]:
    """The old send keys (`uid|person`) of the open messages' recipients."""
    out = set()
    for key, text in conn.execute("SELECT key, state FROM open_messages"):
        old = json.loads(text)
        first = int(datetime.fromisoformat(old["first_ts"]).timestamp())
        uid = key if old.get("unique_key") else f"{iso(first)}|{key}"
        out.update(f"{uid}|{person}" for person in old.get("sent_to", ()))
    return out


def _convert_open_state(conn, views: dict[str, SendView], handles) -> None:
    rows = conn.execute("SELECT key, state FROM open_messages").fetchall()
    conn.execute("DELETE FROM open_messages")
    for key, text in rows:
        old = json.loads(text)
        first = int(datetime.fromisoformat(old["first_ts"]).timestamp())
        state = MessageState(key, first, old.get("source_format"))
        state.last_ts = int(datetime.fromisoformat(old["last_ts"]).timestamp())
        for name in ("host", "queue_id", "message_id", "sender", "campaign", "email"):
            setattr(state, name, old.get(name))
        state.is_notice, state.unique_key = bool(old.get("is_notice")), bool(old.get("unique_key"))
        state.settled = set(old.get("settled", ()))
        uid = key if state.unique_key else f"{iso(first)}|{key}"
        for person in old.get("sent_to", ()):
            view = views.get(f"{uid}|{person}")
            if view is None:  # a send whose events are gone: start it afresh
                continue
            view.handle = next(handles)
            state.sends[person] = view
        conn.execute("INSERT INTO open_messages (key, last_ts, state) VALUES (?, ?, ?)",
                     (key, state.last_ts, json.dumps(state.to_json(), separators=(",", ":"))))
