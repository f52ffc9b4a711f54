"""Terminal pictures: a stacked bar per day (or hour).

Each outcome has its own glyph as well as its own colour, so a chart reads
the same without colour (NO_COLOR, a pipe, a mail from cron) as with it.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

# (event type, glyph, colour, legend word): stacked in this order.
SEGMENTS = (
    ("delivered", "█", "green", "delivered"),
    ("soft_bounced", "▒", "yellow", "soft bounced"),
    ("hard_bounced", "▓", "red", "hard bounced"),
)


def legend() -> Text:
    text = Text()
    for i, (_, glyph, colour, word) in enumerate(SEGMENTS):
        text.append(("   " if i else "") + glyph * 2, style=colour)
        text.append(f" {word}")
    return text


def activity_chart(items: list[dict], *, bucket: str, width: int = 40, title: str | None = None) -> Table:
    """One row per bucket: a stacked bar of delivered / soft / hard bounced,
    scaled to the busiest bucket, then the counts in words."""
    top = max((sum(item[kind] for kind, *_ in SEGMENTS) for item in items), default=0) or 1
    table = Table(title=Text(title) if title else None, title_justify="left", box=None, show_header=True, pad_edge=False,
                  caption=legend(), caption_justify="left")
    table.add_column(f"UTC {bucket}", no_wrap=True)
    table.add_column("outcomes", no_wrap=True, min_width=width)
    for name in ("sent", "deliv", "soft", "hard", "opens", "clicks"):
        table.add_column(name, justify="right", no_wrap=True, min_width=4)
    for item in items:
        bar = Text()
        for kind, glyph, colour, _ in SEGMENTS:
            n = item[kind]
            cells = round(n * width / top)
            bar.append(glyph * (cells or (1 if n else 0)), style=colour)
        label = item["bucket"] if bucket == "day" else item["bucket"][5:].replace("T", " ")
        table.add_row(label, bar, *(str(item[k]) for k in (
            "sent", "delivered", "soft_bounced", "hard_bounced", "opened", "clicked")))
    return table
