"""The time formats suppression files use, to and from our one format
(UTC ISO 8601 with a Z, to the second: emaillog/events.py `iso`)."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from ..events import iso

# Epoch values above this are milliseconds (year 5138 in seconds).
_MS_FROM = 100_000_000_000


def parse_time(value) -> str:
    """Our ISO form of a provider's time: ISO 8601 (a zone or Z; none means
    UTC), RFC 2822 (Mailgun), or UNIX seconds / milliseconds (SendGrid,
    SES's API). Raises ValueError with a sentence when it is none of them."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, (int, float)):
        return _epoch(value)
    text = str(value).strip()
    if not text:
        raise ValueError("the time is empty")
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"{text!r} is neither ISO 8601, RFC 2822 nor UNIX time") from None
    return iso(dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc))


def _epoch(seconds: float) -> str:
    if seconds != seconds or seconds < 0:  # NaN or before 1970
        raise ValueError(f"{seconds!r} is not a UNIX time")
    if seconds >= _MS_FROM:
        seconds /= 1000
    try:
        return iso(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, OSError):
        raise ValueError(f"{seconds!r} is not a UNIX time") from None


def rfc2822(ts: str) -> str:
    """Our ISO time as RFC 2822 in GMT (Mailgun's import `created_at`)."""
    return format_datetime(datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone.utc), usegmt=True)
