"""Rich tables for `stats`: the funnel per campaign, top bounce reasons and
top receiving domains. Campaign names and domains are data from the
internet: shown with `literal`, never as markup, and never split across
lines: on a narrow terminal the rates give way first."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .charts import activity_chart
from .fitted_table import Column, fitted_table
from .reports import literal
from .stats import Stats


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _count_and_rate(count: int, rate: float | None) -> str:
    return f"{count} {percent(rate)}" if rate is not None else str(count)


def _campaign(row: dict):
    return literal(row["campaign"] if row["campaign"] is not None else "(none)")


def _columns_table(title: str, stats: Stats, columns: tuple, width: int | None, give_way: tuple) -> Table:
    """Campaign rows plus a total footer; cells are `(key, header, row -> text)`."""
    footer = len(stats.campaigns) > 1
    fitted = [Column("campaign", "campaign", [_campaign(r) for r in stats.campaigns],
                     options={"footer": "all"} if footer else {})]
    for key, header, cell in columns:
        fitted.append(Column(key, header, [cell(r) for r in stats.campaigns],
                             options={"justify": "right", **({"footer": cell(stats.total)} if footer else {})}))
    return fitted_table(fitted, width=width, give_way=give_way, title=Text(title) if title else None,
                        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_footer=footer)


def delivery_table(stats: Stats, width: int | None = None) -> Table:
    return _columns_table(f"Delivery at {stats.at}", stats, (
        ("sent", "sent", lambda r: str(r["sent"])),
        ("delivered", "delivered", lambda r: str(r["delivered"])),
        ("delivery rate", "rate", lambda r: percent(r["delivery_rate"])),
        ("hard", "hard p/s/t", lambda r: Text(f"{r['hard_bounced']} {r['hard_permanent']}/{r['hard_spam_block']}/"
                                              f"{r['hard_technical']}", style="red" if r["hard_bounced"] else "")),
        ("hard rate", "rate", lambda r: percent(r["hard_bounce_rate"])),
        ("soft", "soft", lambda r: Text(str(r["soft_bounced"]), style="yellow" if r["soft_bounced"] else "")),
        ("gave up", "gave up", lambda r: str(r["given_up"])),
    ), width, ("hard rate", "delivery rate", "gave up"))


def engagement_table(stats: Stats, width: int | None = None) -> Table:
    return _columns_table("Engagement (unique people)", stats, (
        ("opens", "opens", lambda r: str(r["unique_opens"])),
        ("open rate", "rate", lambda r: percent(r["open_rate"])),
        ("clicks", "clicks", lambda r: str(r["unique_clicks"])),
        ("click rate", "rate", lambda r: percent(r["click_rate"])),
        ("CTO", "CTO", lambda r: percent(r["click_to_open_rate"])),
        ("machine", "machine o/c", lambda r: f"{r['machine_opens']}/{r['machine_clicks']}"),
        ("unsub", "unsub", lambda r: str(r["unsubscribed"])),
        ("compl.", "compl.", lambda r: str(r["complained"])),
    ), width, ("CTO", "click rate", "open rate", "machine"))


def reasons_table(stats: Stats) -> Table:
    table = Table(title="Top bounce reasons", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("bounce", "class", "reason", "count", "people"):
        table.add_column(name, justify="right" if name in ("count", "people") else "left")
    for r in stats.reasons:
        table.add_row(literal(r["bounce"], "red" if r["bounce"] == "hard" else "yellow"),
                      literal(r["bounce_class"] or ""), literal(r["reason"]), str(r["count"]), str(r["people"]))
    return table


def domains_table(stats: Stats, width: int | None = None) -> Table:
    cells = {
        "domain": [literal(r["domain"]) for r in stats.domains],
        "sent": [str(r["sent"]) for r in stats.domains],
        "delivered": [str(r["delivered"]) for r in stats.domains],
        "hard": [str(r["hard_bounced"]) for r in stats.domains],
        "soft": [str(r["soft_bounced"]) for r in stats.domains],
        "hard rate": [percent(r["hard_bounce_rate"]) for r in stats.domains],
        "soft rate": [percent(r["soft_bounce_rate"]) for r in stats.domains],
    }
    columns = [Column(name, name, values, options={} if name == "domain" else {"justify": "right"})
               for name, values in cells.items()]
    return fitted_table(columns, width=width, give_way=("soft rate", "hard rate"), title="Top receiving domains",
                        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)


def stats_view(stats: Stats, width: int = 80) -> Group:
    """Everything `stats` prints on a terminal `width` columns wide."""
    if not stats.campaigns:
        return Group(Text("No campaign activity in that period."))
    parts = [delivery_table(stats, width), engagement_table(stats, width)]
    if stats.activity:
        parts.append(activity_chart(stats.activity[-60:], bucket=stats.bucket, title=f"Activity per {stats.bucket}",
                                    width=min(60, max(10, width - 58))))
        parts.append(Text(""))
    if stats.reasons:
        parts.append(reasons_table(stats))
    if stats.domains:
        parts.append(domains_table(stats, width))
    parts.append(Text("hard p/s/t = permanent / spam block / technical. Opens and clicks: people, humans "
                      "only (machine o/c apart), rates over delivered; CTO = clicks / opens.", style="dim"))
    return Group(*parts)
