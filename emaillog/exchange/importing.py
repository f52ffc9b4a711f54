"""Read suppression records as the events emaillog stores: each one a
manual suppression (`manual_suppressed`) with its scope and end, the file,
line and provider's words in its note, and a natural key made from the
record's own, so that importing the same file twice stores nothing new."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from ..events import MANUAL_SUPPRESSED, Event
from .records import Record

SOURCE_FORMAT = "import"


def event_key(record: Record) -> str:
    return f"import|{record.key}"


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def note_of(record: Record, file_name: str) -> str:
    detail = f"; {record.detail}" if record.detail else ""
    return f"imported from {file_name} ({record.source} {record.reason}, line {record.line}){detail}"


def as_events(records: Iterable[Record], *, file_name: str, actor: str, now: datetime) -> list[Event]:
    """One event per record; a record without a time (SES's import layout)
    is stamped `now`."""
    return [Event(ts=_time(r.since) or now, type=MANUAL_SUPPRESSED, person=r.address, key=event_key(r),
                  campaign=r.scope, scope=r.scope, until=_time(r.until), note=note_of(r, file_name), actor=actor,
                  source_format=SOURCE_FORMAT, source=f"{file_name}:{r.line}")
            for r in records]
