"""Prometheus text exposition (format 0.0.4) of emaillog's figures, and the
atomic file write node_exporter's textfile collector needs.

Pure: the figures come in as plain data (the caller counts them in the
store), the text goes out. Mail operators already watch Postfix this way
(postfix_exporter); these are the same kind of series for what emaillog
derives: events, hard bounces, suppressions and retries.
https://prometheus.io/docs/instrumenting/exposition_formats/ (text format),
https://prometheus.io/docs/practices/naming/ (names, `_total`, `_seconds`).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Our suppression reasons (emaillog/state.py REASONS, SPEC §2): the
# suppression gauge has a sample for each, 0 when nobody is suppressed for
# it, so that a reason's series does not vanish when its count drops to 0.
SUPPRESSION_REASONS = ("hard_bounce", "spam_block", "unsubscribed", "complained", "manual")

# Label names (exposition format): `campaign`, `_x1`; not `2x`, `a-b`, or
# `__name` (reserved for Prometheus itself).
LABEL_NAME = re.compile(r"(?!__)[a-zA-Z_][a-zA-Z0-9_]*\Z")


@dataclass
class Figures:
    """What the exposition shows. A campaign or reason of None (not known)
    is shown as the empty label value, which Prometheus treats as the label
    being absent.

    events: (event type, campaign) -> events read
    hard_bounces: (bounce class, reason word) -> hard bounces read
    suppressions: reason -> suppressions in force now (missing reasons = 0)
    pending_retries: campaign -> sends pending a retry now
    last_event_ts: UNIX time of the newest event read, None before any
    build_info: labels of emaillog_build_info (e.g. {"version": "0.1.0"})
    """

    events: Mapping[tuple[str, str | None], int] = field(default_factory=dict)
    hard_bounces: Mapping[tuple[str, str | None], int] = field(default_factory=dict)
    suppressions: Mapping[str, int] = field(default_factory=dict)
    pending_retries: Mapping[str | None, int] = field(default_factory=dict)
    last_event_ts: float | None = None
    build_info: Mapping[str, str] | None = None


Samples = Iterable[tuple[tuple, float]]  # (label values in the metric's label order, value)


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter | gauge
    help: str
    labels: tuple[str, ...]
    samples: Callable[[Figures], Samples]


def _keyed(mapping: Mapping) -> Samples:
    return ((key if isinstance(key, tuple) else (key,), value) for key, value in mapping.items())


def _suppressions(figures: Figures) -> Samples:
    counts = {reason: 0 for reason in SUPPRESSION_REASONS}
    counts.update(figures.suppressions)
    return _keyed(counts)


def _last_event(figures: Figures) -> Samples:
    return [] if figures.last_event_ts is None else [((), figures.last_event_ts)]


def _build_info(figures: Figures) -> Samples:
    info = figures.build_info or {}
    return [(tuple(info[name] for name in sorted(info)), 1)] if figures.build_info is not None else []


# The exposition, in this order. Counters count events in the database, so
# they only grow, except when `emaillog forget` erases a person's events:
# rate() and increase() take that drop for a counter reset.
METRICS = (
    Metric("emaillog_events_total", "counter",
           "Events emaillog has read, by event type and campaign (empty: campaign not known).",
           ("type", "campaign"), lambda f: _keyed(f.events)),
    Metric("emaillog_hard_bounces_total", "counter",
           "Hard bounces read, by class (permanent, spam_block, technical) and reason word.",
           ("class", "reason"), lambda f: _keyed(f.hard_bounces)),
    Metric("emaillog_suppressions", "gauge",
           "Suppressions in force now, by reason (a person suppressed for two campaigns counts twice).",
           ("reason",), _suppressions),
    Metric("emaillog_pending_retries", "gauge",
           "Soft-bounced sends still inside their retry window, by campaign (empty: not known).",
           ("campaign",), lambda f: _keyed(f.pending_retries)),
    Metric("emaillog_last_event_timestamp_seconds", "gauge",
           "UNIX time of the newest event emaillog has read.",
           (), _last_event),
    Metric("emaillog_build_info", "gauge",
           "emaillog's build, in its labels; the value is always 1.",
           (), _build_info),
)


def render(figures: Figures) -> str:
    """The exposition text: for each metric with samples, `# HELP`, `# TYPE`
    and its samples sorted by label values, so the same figures always give
    the same text. No sample timestamps (the textfile collector refuses them)."""
    lines = []
    for metric in METRICS:
        names = _label_names(metric, figures)
        samples = _merged(metric.samples(figures), len(names))
        if not samples:
            continue
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.type}")
        for values in sorted(samples):
            labels = ",".join(f'{name}="{_escape_label(value)}"' for name, value in zip(names, values))
            lines.append(f"{metric.name}{{{labels}}} {_number(samples[values])}" if labels
                         else f"{metric.name} {_number(samples[values])}")
    return "".join(line + "\n" for line in lines)


def _label_names(metric: Metric, figures: Figures) -> tuple[str, ...]:
    names = tuple(sorted(figures.build_info or {})) if metric.name == "emaillog_build_info" else metric.labels
    for name in names:
        if not LABEL_NAME.match(name):
            raise ValueError(f"{name!r} is not a Prometheus label name")
    return names


def _merged(samples: Samples, width: int) -> dict[tuple[str, ...], float]:
    """Samples keyed by their label values as text; None and "" are the same
    series in Prometheus, so their values are added, never written twice."""
    out: dict[tuple[str, ...], float] = {}
    for key, value in samples:
        if len(key) != width:
            raise ValueError(f"{key!r} has {len(key)} label values, the metric has {width} labels")
        text = tuple("" if part is None else str(part) for part in key)
        out[text] = out.get(text, 0) + value
    return out


def _escape_label(value: str) -> str:
    # Exposition format: in label values, backslash, double quote and line feed are escaped.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    # In HELP, backslash and line feed are escaped (a double quote is not).
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def write_textfile(path: str | os.PathLike, text: str, *, mode: int = 0o644) -> None:
    """Replace `path` with `text` atomically, for node_exporter's textfile
    collector: a reader sees the old file or the new one, never half of one.

    The text goes to a temporary file in the same directory (named
    `.NAME.*.tmp`, which the collector's `*.prom` glob skips), is fsynced,
    given `mode` and renamed over `path`; the directory is fsynced so the
    rename survives a crash. On any error the temporary file is removed and
    `path` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it 0600; the collector may run as another user
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is done either way
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
