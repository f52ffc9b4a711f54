"""`report --html`: one self-contained HTML file (inline CSS and SVG, no
scripts, no network) with the funnel, activity per day, bounce reasons,
receiving domains and the suppression list as of `at`.

Every value from the data is escaped: addresses and bounce texts come from
the internet.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from .config import Config
from .stats import Filters, Stats, campaign_stats

COLOURS = {"delivered": "#2e7d32", "soft_bounced": "#f9a825", "hard_bounced": "#c62828",
           "sent": "#1565c0", "opened": "#6a1b9a", "clicked": "#ad1457"}
SEGMENTS = ("delivered", "soft_bounced", "hard_bounced")
MAX_LISTED = 200

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1b1b1b; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0; } th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f6f6f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card b { display: block; font-size: 1.5em; } .card span { color: #666; }
.legend span { margin-right: 1.2em; } .swatch { display: inline-block; width: 0.9em; height: 0.9em;
  vertical-align: -0.1em; margin-right: 0.3em; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.scroll { overflow-x: auto; }
.detail { max-width: 30em; overflow-wrap: anywhere; color: #555; }
"""


def _pct(rate) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _td(value, numeric: bool = False) -> str:
    text = "" if value is None else str(value)
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(), table_id: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_td(v, i in numeric) for i, v in enumerate(row)) + "</tr>" for row in rows)
    ident = f' id="{table_id}"' if table_id else ""
    return f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def funnel_svg(total: dict) -> str:
    """Horizontal bars: sent, delivered, opened, clicked (people, humans)."""
    steps = [("Sent", total["sent"], "sent", None),
             ("Delivered", total["delivered"], "delivered", total["delivery_rate"]),
             ("Opened (unique)", total["unique_opens"], "opened", total["open_rate"]),
             ("Clicked (unique)", total["unique_clicks"], "clicked", total["click_rate"])]
    top = max(v for _, v, _, _ in steps) or 1
    width, row = 560, 30
    parts = [f'<svg id="funnel" role="img" aria-label="Funnel" width="{width + 330}" height="{row * len(steps) + 10}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, kind, rate) in enumerate(steps):
        y = 5 + i * row
        w = max(1, round(value * width / top)) if value else 0
        parts.append(f'<text x="0" y="{y + 17}">{escape(label)}</text>')
        parts.append(f'<rect class="bar" x="130" y="{y}" width="{w}" height="{row - 8}" fill="{COLOURS[kind]}">'
                     f"<title>{escape(label)}: {value}</title></rect>")
        note = f"{value}" + (f" ({_pct(rate)})" if rate is not None else "")
        parts.append(f'<text x="{136 + w}" y="{y + 17}">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def activity_svg(items: list[dict], bucket: str) -> str:
    """Stacked bars per day (or hour): delivered, soft and hard bounced."""
    if not items:
        return "<p>No activity in this period.</p>"
    height, pad_left, pad_bottom = 220, 44, 40
    step = max(6, min(40, 900 // len(items)))
    width = pad_left + step * len(items) + 10
    top = max(sum(it[k] for k in SEGMENTS) for it in items) or 1
    scale = (height - pad_bottom - 10) / top
    parts = [f'<svg id="activity-chart" role="img" aria-label="Activity per {bucket}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{pad_left}" y1="{height - pad_bottom}" x2="{width}" y2="{height - pad_bottom}" stroke="#999"/>',
             f'<text x="0" y="14">{top}</text><text x="0" y="{height - pad_bottom}">0</text>']
    label_every = max(1, len(items) // 12)
    for i, item in enumerate(items):
        x, base = pad_left + i * step, height - pad_bottom
        for kind in SEGMENTS:
            h = item[kind] * scale
            if item[kind]:
                base -= h
                parts.append(f'<rect class="bar {kind}" x="{x + 1}" y="{base:.1f}" width="{step - 2}" '
                             f'height="{h:.1f}" fill="{COLOURS[kind]}"><title>{escape(item["bucket"])}: '
                             f'{item[kind]} {kind.replace("_", " ")}</title></rect>')
        if i % label_every == 0:
            label = item["bucket"][5:] if bucket == "day" else item["bucket"][11:]
            parts.append(f'<text x="{x}" y="{height - pad_bottom + 14}">{escape(label)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i class="swatch" style="background:{COLOURS[k]}"></i>{k.replace("_", " ")}</span>'
                     for k in SEGMENTS)
    return "".join(parts) + f'<p class="legend">{legend} (UTC {bucket}s)</p>'


def _cards(total: dict, pending: int, suppressed: int) -> str:
    cards = [("sent", total["sent"]), ("delivered", _pct(total["delivery_rate"])),
             ("hard bounce rate", _pct(total["hard_bounce_rate"])), ("open rate", _pct(total["open_rate"])),
             ("click rate", _pct(total["click_rate"])), ("click-to-open", _pct(total["click_to_open_rate"])),
             ("retries pending", pending), ("suppressed now", suppressed)]
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in cards) + "</div>"


def _campaign_table(stats: Stats) -> str:
    rows = [[r["campaign"] if r["campaign"] is not None else "(none)", r["sent"], r["delivered"],
             _pct(r["delivery_rate"]), r["hard_permanent"], r["hard_spam_block"], r["hard_technical"],
             r["soft_bounced"], r["given_up"], r["unique_opens"], r["machine_opens"], _pct(r["open_rate"]),
             r["unique_clicks"], r["machine_clicks"], _pct(r["click_rate"]), _pct(r["click_to_open_rate"]),
             r["unsubscribed"], r["complained"]] for r in stats.campaigns]
    return _table(["campaign", "sent", "delivered", "delivery", "hard: permanent", "spam block", "technical",
                   "soft", "gave up", "opens", "machine opens", "open rate", "clicks", "machine clicks",
                   "click rate", "click-to-open", "unsubscribed", "complained"], rows,
                  numeric=set(range(1, 18)), table_id="campaigns")


def _suppressions(items: list) -> str:
    by_reason = Counter((s.reason, "every campaign" if s.scope is None else "one campaign") for s in items)
    summary = _table(["reason", "scope", "people"],
                     [[reason, scope, n] for (reason, scope), n in sorted(by_reason.items())],
                     numeric={2}, table_id="suppression-summary")
    newest = sorted(items, key=lambda s: s.since, reverse=True)[:MAX_LISTED]
    listing = _table(["person", "scope", "reason", "since", "until", "detail"],
                     [[s.person, s.scope or "all campaigns", s.reason, s.since, s.until or "until released",
                       (s.detail or "")[:200]] for s in newest], table_id="suppressions")
    more = f"<p>{len(items) - MAX_LISTED} more not listed: see <code>emaillog suppressed</code>.</p>" \
        if len(items) > MAX_LISTED else ""
    return summary + f"<h3>Most recent {len(newest)}</h3>" + listing + more


def render(stats: Stats, suppressions: list, pending: int, *, title: str, generated: str) -> str:
    f = stats.filters
    scope = " · ".join(x for x in (
        f"campaign {f.campaign}" if f.campaign is not None else "all campaigns",
        f"from {f.since}" if f.since else "", f"before {f.until}" if f.until else "") if x)
    reasons = _table(["bounce", "class", "reason", "count", "people"],
                     [[r["bounce"], r["bounce_class"] or "", r["reason"], r["count"], r["people"]]
                      for r in stats.reasons], numeric={3, 4}, table_id="bounce-reasons")
    domains = _table(["domain", "sent", "delivered", "hard", "soft", "hard rate", "soft rate"],
                     [[d["domain"], d["sent"], d["delivered"], d["hard_bounced"], d["soft_bounced"],
                       _pct(d["hard_bounce_rate"]), _pct(d["soft_bounce_rate"])] for d in stats.domains],
                     numeric={1, 2, 3, 4, 5, 6}, table_id="domains")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{escape(scope)} · as of {escape(stats.at)} · generated {escape(generated)} by emaillog</p>
{_cards(stats.total, pending, len(suppressions))}
<h2>Funnel</h2>
{funnel_svg(stats.total)}
<h2>Activity per {escape(stats.bucket)}</h2>
{activity_svg(stats.activity, stats.bucket)}
<h2>Campaigns</h2>
{_campaign_table(stats)}
<p class="meta">Opens and clicks count people, humans only; machine activity (privacy proxies, link scanners) is
apart. Rates are over delivered; click-to-open = clicks / opens.</p>
<h2>Top bounce reasons</h2>
{reasons}
<h2>Top receiving domains</h2>
{domains}
<h2>Suppression list</h2>
{_suppressions(suppressions)}
</body></html>
"""


def write_report(path: str | os.PathLike, store, config: Config, at: str, filters: Filters,
                 *, title: str) -> int:
    """Render and write atomically (a reader never sees half a file); returns bytes written."""
    from .state import StateQueries
    queries = StateQueries(store, config)
    retries = queries.retries(at, include_given_up=True)  # one pass: given up in the stats, pending here
    stats = campaign_stats(store, config, at, filters, retries=retries)
    suppressions = queries.suppressions(at)
    if filters.campaign is not None:
        suppressions = [s for s in suppressions if s.applies_to(filters.campaign)]
    pending = [r for r in retries if r.status == "pending"
               and (filters.campaign is None or r.campaign == filters.campaign)]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = render(stats, suppressions, len(pending), title=title, generated=generated).encode()
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".emaillog-report-")
    except OSError as exc:  # name the file the user asked for, not our temporary one
        raise OSError(exc.errno, f"cannot write the report ({exc.strerror})", str(target)) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o600)  # it lists people: as private as the database
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)
