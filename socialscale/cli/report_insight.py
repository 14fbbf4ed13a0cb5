"""`report spikes` and `report voice`: volume out of line with the weeks before, and share of voice."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from socialscale.cli.state import Format, FormatOption, JsonOption, NowOption, output_format, state
from socialscale.output.render import Column

SPIKE_COLUMNS = (
    Column("group", "group", "plain"), Column("count", "count", "plain"),
    Column("baseline_mean", "mean", "plain"), Column("baseline_sd", "sd", "plain"),
    Column("threshold", "threshold", "plain"), Column("mark", "spike", "plain"),
)
SPIKE_KEYS = ("group", "count", "baseline_mean", "baseline_sd", "threshold", "spike")
VOICE_COLUMNS = (
    Column("brand", "brand", "plain"), Column("mentions", "mentions", "plain"),
    Column("share", "share", "number"), Column("negative_share", "negative", "number"),
)
VOICE_KEYS = ("period", "brand", "ours", "mentions", "share", "negative_share")


class SpikesBy(str, Enum):
    lane = "lane"
    tag = "tag"
    rule = "rule"


class VoiceBy(str, Enum):
    week = "week"


def register(report_app: typer.Typer) -> None:
    report_app.command("spikes")(spikes_cmd)
    report_app.command("voice")(voice_cmd)


def spikes_cmd(
    ctx: typer.Context,
    by: Annotated[SpikesBy, typer.Option("--by", help="Per lane, tag or rule.")] = SpikesBy.lane,
    window: Annotated[str, typer.Option("--window", help="The window to look at, just before --now (1d, 6h).")] = "1d",
    baseline: Annotated[str, typer.Option("--baseline", help="How far back the windows compared with go (14d).")] = "14d",
    k: Annotated[float, typer.Option("--k", help="Standard deviations above the baseline mean that make a spike.")] = 3.0,
    lane: Annotated[str | None, typer.Option("--lane", help="Only this lane.")] = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """Groups whose volume in the last window is out of line: count > mean + k·sd of the baseline
    windows before it, and at least 5 items.

    \b
    Example:
      socialscale report spikes --by tag --window 6h --baseline 7d
    """
    from socialscale.cli.state import filters as checked
    from socialscale.cli.state import resolve_now
    from socialscale.errors import UsageError
    from socialscale.insight.spikes import spikes
    from socialscale.output.render import emit
    from socialscale.timeutil import parse_duration

    st = state(ctx)
    try:
        window_s, baseline_s = int(parse_duration(window)), int(parse_duration(baseline))
    except ValueError as exc:
        raise UsageError(f"--window/--baseline: {exc}") from None
    data = spikes(st.db(), st.config(), now=resolve_now(st, now), by=by.value, window_s=window_s,
                  baseline_s=baseline_s, k=k, lane=checked(st, lane, None, None)["lane"])
    out = output_format(fmt, as_json)
    if out == "table":
        rows = [{**g, "mark": "SPIKE" if g["spike"] else ""} for g in data["groups"] if g["count"] or g["baseline_mean"]]
        title = (f"{len(data['spikes'])} spike(s) by {by.value}: the {window} before {data['now']} against "
                 f"{data['baseline_windows']} windows before it (k={k:g})")
        emit(out, rows=rows, columns=SPIKE_COLUMNS, title=title)
    else:
        emit(out, rows=data["groups"] if out == "csv" else data["spikes"], columns=SPIKE_COLUMNS, data=data,
             csv_keys=SPIKE_KEYS)


def voice_cmd(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="How far back: a duration (30d) or an ISO-8601 date.")] = "30d",
    by: Annotated[VoiceBy | None, typer.Option("--by", help="Also per ISO week.")] = None,
    lane: Annotated[str | None, typer.Option("--lane", help="Only this lane.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only items from this source.")] = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """Share of voice: mentions of each configured brand, its share of all brand mentions, and how
    many of its mentions are negative.

    \b
    Example:
      socialscale report voice --since 90d --by week
    """
    from socialscale.cli.state import filters as checked
    from socialscale.cli.state import resolve_now
    from socialscale.insight.voice import voice
    from socialscale.output.render import emit, out_console, table

    st = state(ctx)
    filters = checked(st, lane, None, source)
    data = voice(st.db(), st.config(), now=resolve_now(st, now), since=since, by=by.value if by else "total",
                 lane=filters["lane"], source=filters["source"])
    out = output_format(fmt, as_json)
    weeks = data.get("weeks", [])
    if out == "table":
        console = out_console()
        console.print(table(data["brands"], VOICE_COLUMNS, title=f"share of voice since {data['since']}"))
        for week in weeks:
            console.print(table(week["brands"], VOICE_COLUMNS, title=week["period"]))
        return
    rows = [{"period": "total", **b} for b in data["brands"]] + [
        {"period": w["period"], **b} for w in weeks for b in w["brands"]]
    emit(out, rows=rows if out == "csv" else data["brands"], columns=VOICE_COLUMNS, data=data, csv_keys=VOICE_KEYS)
