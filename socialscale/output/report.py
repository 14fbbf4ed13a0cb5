"""`report volume` in a terminal: a stacked bar chart, readable without colour."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socialscale.shapes import Volume

LANE_MARKS = ("█", "▓", "▒", "░", "▚", "▞", "▖", "▗")
LANE_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


def volume_chart(data: Volume, lanes: list[str], tz: str) -> None:
    """One stacked bar per period; each lane has its own character (and colour), so the chart reads
    the same with NO_COLOR."""
    from rich.text import Text

    from socialscale.output.render import Paragraph, clean, full_time, out_console

    console = out_console()
    marks = [(LANE_MARKS[i % len(LANE_MARKS)], LANE_STYLES[i % len(LANE_STYLES)]) for i in range(len(lanes))]
    label = max([len(data["by"])] + [len(p["period"]) for p in data["periods"]])
    totals = [str(sum(p["lanes"].values())) for p in data["periods"]]
    count = max([len("items")] + [len(t) for t in totals])
    width = max(10, console.width - label - count - 4)
    peak = max((sum(p["lanes"].values()) for p in data["periods"]), default=0) or 1
    console.print(Paragraph(f"items per {data['by']} since {full_time(data['since'], tz)}", style="bold"))
    console.print(Text(f"{data['by']:<{label}}  {'items':>{count}}", style="bold"))
    for period, total in zip(data["periods"], totals, strict=True):
        line = Text(f"{period['period']:<{label}}  {total:>{count}}  ")
        for name, (mark, style) in zip(lanes, marks, strict=True):
            line.append(mark * round(period["lanes"][name] * width / peak), style=style)
        line.rstrip()
        console.print(line, no_wrap=True, overflow="ignore", crop=False)
    # The legend wraps between entries, never inside one.
    legend, used = Text(), 0
    for name, (mark, style) in zip(lanes, marks, strict=True):
        entry = f"{clean(name)} {sum(p['lanes'][name] for p in data['periods'])}"
        if used and used + len(entry) + 6 > console.width:
            console.print(legend, no_wrap=True, overflow="ignore", crop=False)
            legend, used = Text(), 0
        if used:
            legend.append("   ")
        legend.append(f"{mark}{mark} ", style=style)
        legend.append(entry)
        used += len(entry) + 6
    if used:
        console.print(legend, no_wrap=True, overflow="ignore", crop=False)
