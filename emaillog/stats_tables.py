"""Rich tables for `stats`: the funnel per campaign, top bounce reasons and
top receiving domains. Campaign names and domains are data from the
internet: shown with `literal`, never as markup."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .charts import activity_chart
from .reports import literal
from .stats import Stats


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _count_and_rate(count: int, rate: float | None) -> str:
    return f"{count} {percent(rate)}" if rate is not None else str(count)


def _campaign(row: dict):
    return literal(row["campaign"] if row["campaign"] is not None else "(none)")


def _columns_table(title: str, stats: Stats, columns: tuple) -> Table:
    """Campaign rows plus a total footer; cells are `(header, row -> text)`."""
    table = Table(title=Text(title) if title else None, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  show_footer=len(stats.campaigns) > 1)
    table.add_column("campaign", footer="all", overflow="fold", ratio=None)
    for name, cell in columns:
        table.add_column(name, justify="right", footer=cell(stats.total), no_wrap=True)
    for row in stats.campaigns:
        table.add_row(_campaign(row), *(cell(row) for _, cell in columns))
    return table


def delivery_table(stats: Stats) -> Table:
    return _columns_table(f"Delivery at {stats.at}", stats, (
        ("sent", lambda r: str(r["sent"])),
        ("delivered", lambda r: str(r["delivered"])),
        ("rate", lambda r: percent(r["delivery_rate"])),
        ("hard p/s/t", lambda r: Text(f"{r['hard_bounced']} {r['hard_permanent']}/{r['hard_spam_block']}/"
                                      f"{r['hard_technical']}", style="red" if r["hard_bounced"] else "")),
        ("rate", lambda r: percent(r["hard_bounce_rate"])),
        ("soft", lambda r: Text(str(r["soft_bounced"]), style="yellow" if r["soft_bounced"] else "")),
        ("gave up", lambda r: str(r["given_up"])),
    ))


def engagement_table(stats: Stats) -> Table:
    return _columns_table("Engagement (unique people)", stats, (
        ("opens", lambda r: str(r["unique_opens"])),
        ("rate", lambda r: percent(r["open_rate"])),
        ("clicks", lambda r: str(r["unique_clicks"])),
        ("rate", lambda r: percent(r["click_rate"])),
        ("CTO", lambda r: percent(r["click_to_open_rate"])),
        ("machine o/c", lambda r: f"{r['machine_opens']}/{r['machine_clicks']}"),
        ("unsub", lambda r: str(r["unsubscribed"])),
        ("compl.", lambda r: str(r["complained"])),
    ))


def reasons_table(stats: Stats) -> Table:
    table = Table(title="Top bounce reasons", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("bounce", "class", "reason", "count", "people"):
        table.add_column(name, justify="right" if name in ("count", "people") else "left")
    for r in stats.reasons:
        table.add_row(literal(r["bounce"], "red" if r["bounce"] == "hard" else "yellow"),
                      literal(r["bounce_class"] or ""), literal(r["reason"]), str(r["count"]), str(r["people"]))
    return table


def domains_table(stats: Stats) -> Table:
    table = Table(title="Top receiving domains", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("domain", "sent", "delivered", "hard", "soft", "hard rate", "soft rate"):
        table.add_column(name, justify="left" if name == "domain" else "right", overflow="fold")
    for r in stats.domains:
        table.add_row(literal(r["domain"]), str(r["sent"]), str(r["delivered"]), str(r["hard_bounced"]),
                      str(r["soft_bounced"]), percent(r["hard_bounce_rate"]), percent(r["soft_bounce_rate"]))
    return table


def stats_view(stats: Stats, width: int = 80) -> Group:
    """Everything `stats` prints on a terminal `width` columns wide."""
    if not stats.campaigns:
        return Group(Text("No campaign activity in that period."))
    parts = [delivery_table(stats), engagement_table(stats)]
    if stats.activity:
        parts.append(activity_chart(stats.activity[-60:], bucket=stats.bucket, title=f"Activity per {stats.bucket}",
                                    width=min(60, max(10, width - 58))))
        parts.append(Text(""))
    if stats.reasons:
        parts.append(reasons_table(stats))
    if stats.domains:
        parts.append(domains_table(stats))
    parts.append(Text("hard p/s/t = permanent / spam block / technical. Opens and clicks: people, humans "
                      "only (machine o/c apart), rates over delivered; CTO = clicks / opens.", style="dim"))
    return Group(*parts)
