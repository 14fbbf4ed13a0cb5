"""`report volume` in a terminal: a stacked bar chart, readable without colour."""

from __future__ import annotations

from typing import Any

LANE_MARKS = ("█", "▓", "▒", "░", "▚", "▞", "▖", "▗")
LANE_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


def volume_chart(data: dict[str, Any], lanes: list[str]) -> None:
    """One stacked bar per period; each lane has its own character (and colour), so the chart reads
    the same with NO_COLOR."""
    from rich.table import Table
    from rich.text import Text

    from socialscale.output.render import clean, out_console

    console = out_console()
    marks = [(LANE_MARKS[i % len(LANE_MARKS)], LANE_STYLES[i % len(LANE_STYLES)]) for i in range(len(lanes))]
    width = max(10, console.width - 30)
    peak = max((sum(p["lanes"].values()) for p in data["periods"]), default=0) or 1
    console.print(Text(f"items per {data['by']} since {data['since']}", style="bold"))
    chart = Table(header_style="bold", box=None)
    chart.add_column(data["by"], no_wrap=True)
    chart.add_column("items", justify="right", no_wrap=True)
    chart.add_column("", no_wrap=True)
    for period in data["periods"]:
        counts = period["lanes"]
        bar = Text()
        for name, (mark, style) in zip(lanes, marks, strict=True):
            bar.append(mark * round(counts[name] * width / peak), style=style)
        chart.add_row(period["period"], str(sum(counts.values())), bar)
    console.print(chart)
    legend = Text()
    for name, (mark, style) in zip(lanes, marks, strict=True):
        total = sum(p["lanes"][name] for p in data["periods"])
        legend.append(f"{mark}{mark} ", style=style)
        legend.append(f"{clean(name)} {total}   ")
    console.print(legend)
