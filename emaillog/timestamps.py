"""Log timestamps to aware UTC datetimes.

BSD syslog stamps (`Nov 28 13:10:01`, RFC 3164) carry neither year nor zone:
the year comes from a reference time (the file's modification time, or now
for standard input) and the zone from `--tz` (default: this machine's).
RFC 3339 stamps (`2026-11-28T13:10:01.123456+01:00`, rsyslog's
RSYSLOG_FileFormat) carry both.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}

# A line stamped more than this far after the reference time belongs to the
# year before: a December line read from a file last written in January.
FUTURE_SLACK = timedelta(days=2)

# A year-less stamp this far before the latest one already read from the
# same input means the year guess went wrong (a log spanning more than a
# year, files joined out of order, a forced --year across New Year). Logs of
# several hosts interleave out of order by seconds, a clock step by hours:
# never by weeks.
BACKWARDS_LIMIT = timedelta(days=28)


# The years a time may have: `events.iso` writes them as four digits, and
# stored times compare as text.
YEARS = range(1000, 10000)


class TimestampError(ValueError):
    """A stamp we cannot read; the caller records the line as a reject."""


def zone(name: str | None) -> tzinfo | None:
    """The zone for zone-less stamps: a tz database name, `UTC`, or None for
    this machine's local zone (with its DST rules)."""
    if not name:
        return None
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder of zones, e.g. America
        raise TimestampError(f"unknown time zone {name!r} (use a name such as Europe/Berlin or UTC)") from exc


class Clock:
    """Turns the stamps of one input into UTC datetimes.

    `reference` is when the input was last written (file mtime); `year`
    forces the year of year-less stamps; `tz` is the zone of zone-less ones.
    Results are memoised per distinct stamp text: a busy log repeats each
    second many times.

    `warnings` lists, in words for the operator, what the clock doubts about
    its own answers: today, year-less dates that go back by more than
    BACKWARDS_LIMIT (at most one sentence per input; `backwards` counts the
    jumps). They are not rejects: every line is still dated. Whoever reads
    the input reports them once it is read (the ingest summary's problems,
    as non-fatal warnings).
    """

    def __init__(self, reference: datetime, *, year: int | None = None, tz: tzinfo | None = None):
        self.reference = reference.astimezone(timezone.utc)
        self.year = year
        self.tz = tz
        self.syslog = lru_cache(maxsize=4096)(self._syslog)
        self.iso = lru_cache(maxsize=4096)(self._iso)
        self.warnings: list[str] = []
        self.backwards = 0
        self._latest: datetime | None = None  # the latest year-less stamp dated so far

    def localize(self, naive: datetime) -> datetime:
        if self.tz is None:
            return naive.astimezone(timezone.utc)  # naive = machine local time
        return naive.replace(tzinfo=self.tz).astimezone(timezone.utc)

    def _syslog(self, stamp: str) -> datetime:
        """`Nov 28 13:10:01` or `Nov  3 13:10:01.123456`."""
        try:
            month = MONTHS[stamp[:3]]
            day_text, clock = stamp[3:].split()
            day = int(day_text)
            clock, _, frac = clock.partition(".")
            hh, mm, ss = clock.split(":")
            micro = int((frac + "000000")[:6]) if frac else 0
            year = self.year or self.reference.year
            when = self.localize(datetime(year, month, day, int(hh), int(mm), int(ss), micro))
            if self.year is None and when - self.reference > FUTURE_SLACK:
                when = self.localize(datetime(year - 1, month, day, int(hh), int(mm), int(ss), micro))
        except (KeyError, ValueError) as exc:
            raise TimestampError(f"not a syslog timestamp: {stamp!r}") from exc
        self._check_order(stamp, when)
        return when

    def _check_order(self, stamp: str, when: datetime) -> None:
        """Note a year-less date that goes back by weeks. Called once per
        distinct stamp text (the memo), in the order the input first shows
        them, which is enough: a jump back by months is a new stamp."""
        latest = self._latest
        if latest is None or when > latest:
            self._latest = when
            return
        if latest - when <= BACKWARDS_LIMIT:
            return
        self.backwards += 1
        if self.warnings:
            return
        if self.year is None:
            advice = (f"year-less syslog dates take their year from the file's modification time "
                      f"({self.reference:%Y-%m-%d}), so the lines before this point are probably dated a year "
                      f"late. Split the file where the dates go back and read the first part with "
                      f"--year {latest.year - 1}, or keep rotated files apart instead of joining them (each "
                      f"is then dated by its own modification time)")
        else:
            advice = (f"--year {self.year} dates every year-less line in {self.year}, so the lines from this "
                      f"point on are probably in {self.year + 1}. Split the file there and read the rest with "
                      f"--year {self.year + 1}")
        self.warnings.append(
            f"dates go back {(latest - when).days} days at {stamp!r} (from {latest:%Y-%m-%d %H:%M} to "
            f"{when:%Y-%m-%d %H:%M}): {advice}.")

    def _iso(self, stamp: str) -> datetime:
        """RFC 3339 / ISO 8601, with `T` or a space; zone-less ones get `tz`."""
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError as exc:
            raise TimestampError(f"not an RFC 3339 timestamp: {stamp!r}") from exc
        if when.tzinfo is None:
            return self.localize(when)
        return when.astimezone(timezone.utc)


def parse_when(text: str, *, tz: tzinfo | None = None, now: datetime | None = None) -> datetime:
    """A user-given time (`--at`, `--since`): ISO 8601, `now`, or a relative
    `-2h`/`-3d`/`+30m`. Zone-less times are in `tz` (default local)."""
    try:
        when = _parse_when(text.strip(), tz, now or datetime.now(timezone.utc))
    except OverflowError:
        when = None
    if when is None or when.year not in YEARS:
        raise TimestampError(f"the time {text.strip()!r} is out of range: a year has four digits, such as 2026")
    return when


def _parse_when(text: str, tz: tzinfo | None, now: datetime) -> datetime:
    if text.lower() == "now":
        return now
    if text[:1] in "+-" and text[-1:] in "smhdw" and text[1:-1].isdigit():
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[text[-1]]
        delta = timedelta(**{unit: int(text[1:-1])})
        return now + delta if text[0] == "+" else now - delta
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimestampError(
            f"cannot read the time {text!r}: use ISO 8601 such as 2026-11-29T08:00Z, or now, or -2h / -3d") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz) if tz is not None else when.astimezone()
    return when.astimezone(timezone.utc)
