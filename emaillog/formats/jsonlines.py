"""What the ESP formats share: JSON records, one object (or one array of
objects, as webhook bodies arrive) per line, and the small lookups every
ESP payload needs.

An ESP module subclasses `JsonParser` and writes `record(obj, source)`; a
line that is not JSON, or an array holding non-objects, is a Reject and
never an exception (STYLE: a bad line is a defect).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from ..events import Reject, Skip, person_of
from .context import ParseContext

# `Name <addr@host>` or a bare address: the address.
_ANGLE = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")


def looks_json(line: str) -> bool:
    """Cheap first test for sniff(): an object or array starts the line."""
    head = line.lstrip()[:1]
    return head in ("{", "[")


def records(line: str) -> list | None:
    """The JSON objects on a line: one object, or an array of them (SendGrid
    posts arrays; people save webhook bodies as they came). None if the line
    is not JSON at all."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if isinstance(data, list):
        return data
    return [data]


def dig(obj, path: str):
    """The value at a dotted path (`mail.tags.campaign`), or None. Keys may
    contain dashes (`user-variables.campaign`)."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
        if obj is None:
            return None
    return obj


def scalar(value) -> str | None:
    """One text value from a payload field: the first of a list (SES tags
    are lists, SendGrid `category` may be), a dict's `id`/`name` (Mailgun
    `campaigns`), numbers as text; empty values are None."""
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "", [], {})), None)
    if isinstance(value, dict):
        value = value.get("id") or value.get("name")
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def first_field(obj, paths) -> str | None:
    """The first of `paths` that holds a value."""
    for path in paths or ():
        value = scalar(dig(obj, path))
        if value:
            return value
    return None


def address(text: str | None) -> str | None:
    """`"Ann" <ann@example.com>` -> `ann@example.com` (case kept)."""
    if not text:
        return None
    m = _ANGLE.search(text)
    return (m.group(1) if m else text).strip() or None


def epoch(value) -> datetime | None:
    """Unix seconds (int, float or numeric text) as UTC."""
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def iso_time(value) -> datetime | None:
    """An ISO 8601 stamp as UTC; zone-less ones are taken as UTC (ESPs
    write UTC). Postmark's 7-digit fractions are fine in Python 3.11."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def bare_id(message_id: str | None) -> str | None:
    """A Message-ID without its angle brackets and blanks."""
    if not message_id:
        return None
    return str(message_id).strip().strip("<>").strip() or None


class JsonParser:
    """Line -> JSON objects -> `record()` facts, for one ESP."""

    NAME = "json"
    CAMPAIGN_FIELDS: list[str] = []  # each ESP's defaults; config overrides per ESP
    EMAIL_FIELDS: list[str] = []

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        cfg = ctx.config
        self.campaign_fields = (cfg.esp_campaign_fields or {}).get(self.NAME, self.CAMPAIGN_FIELDS)
        self.email_fields = (cfg.esp_email_fields or {}).get(self.NAME, self.EMAIL_FIELDS)

    def parse(self, line: str, source: str) -> list:
        if not line.strip():
            return []
        objs = records(line)
        if objs is None:
            return [Reject(f"not a JSON {self.NAME} event")]
        facts: list = []
        for obj in objs:
            if not isinstance(obj, dict):
                facts.append(Reject(f"a JSON {type(obj).__name__} where a {self.NAME} event object was expected"))
                continue
            facts.extend(self.record(obj, source))
        return facts

    def record(self, obj: dict, source: str) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared field rules ------------------------------------------------
    def campaign(self, obj: dict) -> str | None:
        return first_field(obj, self.campaign_fields)

    def email(self, obj: dict) -> str | None:
        return first_field(obj, self.email_fields)

    @staticmethod
    def person(address_text: str | None) -> str | None:
        return person_of(address(address_text))

    @staticmethod
    def skip(why: str) -> list:
        return [Skip(why)]
