"""`report backlog|latency|conversations|breaches|volume|summary`: what waits and how fast the team answers.

Tables show durations as `1h 20m`; json, ndjson and csv give whole seconds. The numbers come from
socialscale.reports (plain data); this module only parses options and renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Annotated, Any

import typer

from socialscale.cli import complete, html_report, report_insight
from socialscale.cli.lazy import LazyGroup
from socialscale.cli.state import (
    Format,
    FormatOption,
    JsonOption,
    NowOption,
    filters,
    output_format,
    resolve_now,
    state,
)
from socialscale.output.render import PRIORITY_COLUMN, Column
from socialscale.output.report import volume_chart

report_app = typer.Typer(help="Backlog, response latency, conversations, SLA breaches, volume, the daily summary "
                         "and an HTML report."
                         "\n\n\b\nExample:\n  socialscale report backlog --by owner\n  socialscale report latency --since 30d --format json",
                         no_args_is_help=True, rich_markup_mode=None, cls=LazyGroup)

FailOnBreachOption = Annotated[bool, typer.Option("--fail-on-breach",
                                                  help="Exit 3 when any item is past its SLA (for cron).")]
LaneOption = Annotated[str | None, typer.Option("--lane", help="Only this lane.", autocompletion=complete.lanes)]
OwnerOption = Annotated[str | None, typer.Option("--owner", help="Only items owned by this team member.",
                                                 autocompletion=complete.members)]
SourceOption = Annotated[str | None, typer.Option("--source", help="Only items from this source.",
                                                  autocompletion=complete.sources)]
SinceOption = Annotated[str, typer.Option("--since", help="How far back: a duration (30d) or an ISO-8601 date.")]


class Sort(str, Enum):
    age = "age"
    priority = "priority"


SortOption = Annotated[Sort, typer.Option("--sort", help="Oldest first (age) or highest priority first "
                                                         "(docs/insight.md#priority).")]

BUCKET_COLUMNS = ("<1h", "1-4h", "4-24h", "1-3d", "3-7d", ">7d")
BACKLOG_COLUMNS = (
    Column("group", "group", "plain"), Column("open", "open", "number"),
    Column("unassigned", "unassigned", "number", fold=1),
    *(Column(b, b, "number", fold=2) for b in BUCKET_COLUMNS),
    Column("oldest_age_s", "oldest", "duration"), Column("breached", "breached", "number"),
    Column("followups", "follow-ups", "number", fold=1),
)
OLDEST_COLUMNS = (
    Column("group", "group", "plain", fold=2), Column("id", "id", "plain"), Column("age_s", "age", "duration"),
    Column("owner", "owner", "plain", fold=1), Column("title", "title", "title", min_width=20),
)
LATENCY_COLUMNS = (
    Column("group", "group", "plain"), Column("responded", "responded", "number"),
    Column("median_s", "median", "duration"), Column("p90_s", "p90", "duration"),
    Column("max_s", "max", "duration", fold=1),
    # Short headers keep the table whole at 80 columns; docs/reports.md spells each one out.
    Column("within_sla", "in SLA", "number"), Column("handoff_share", "handoff", "number", fold=3),
    Column("median_detection_lag_s", "lag", "duration", fold=2),
    Column("negative_share", "negative", "number", fold=3),
    # Follow-ups: the next response after one of ours (docs/reports.md).
    Column("next_responded", "next", "number", fold=4), Column("next_median_s", "next median", "duration", fold=4),
    Column("next_p90_s", "next p90", "duration", fold=5), Column("next_within_sla", "next in SLA", "number", fold=5),
)
CONVERSATION_COLUMNS = (
    Column("group", "group", "plain"), Column("conversations", "conversations", "number"),
    Column("joined", "joined", "number", fold=2), Column("followups", "follow-ups", "number"),
    Column("followups_answered", "answered", "number"), Column("catalyzed", "catalyzed", "number", fold=1),
    Column("catalyzed_answered", "cat. answered", "number", fold=1), Column("handoffs", "handoffs", "number", fold=3),
    Column("waiting", "waiting", "number"),
)
BREACH_COLUMNS = (
    Column("id", "id", "plain"), Column("lane", "lane", "plain", fold=3), Column("owner", "owner", "plain", fold=2),
    Column("age_s", "age", "duration"), Column("sla_s", "SLA", "duration", fold=1),
    Column("over_s", "over by", "duration", fold=4),
    Column("title", "title", "title", min_width=20),
)
BREACH_KEYS = ("id", "source", "lane", "owner", "title", "url", "author", "start_at", "age_s", "sla_s", "over_s",
               "sentiment", "reach", "priority")


class BacklogBy(str, Enum):
    lane = "lane"
    owner = "owner"
    source = "source"


class LatencyBy(str, Enum):
    lane = "lane"
    owner = "owner"
    responder = "responder"
    source = "source"
    week = "week"


class ConversationsBy(str, Enum):
    lane = "lane"
    owner = "owner"
    source = "source"


class VolumeBy(str, Enum):
    day = "day"
    week = "week"


class SummaryFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


def register(app: typer.Typer) -> None:
    html_report.register(report_app)  # `report html`, `spikes` and `voice` live in their own modules
    report_insight.register(report_app)
    app.add_typer(report_app, name="report")


def _label(value: Any, by: str) -> str:
    if value is not None:
        return str(value)
    return "(unassigned)" if by == "owner" else "(none)"


@report_app.command("backlog")
def backlog_cmd(
    ctx: typer.Context,
    by: Annotated[BacklogBy, typer.Option("--by", help="Group by lane, owner or source.")] = BacklogBy.lane,
    fail_on_breach: FailOnBreachOption = False,
    sort: SortOption = Sort.age,
    lane: LaneOption = None, owner: OwnerOption = None, source: SourceOption = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """Open items waiting for an answer: count, unassigned, age buckets, oldest, SLA breaches.

    \b
    Example:
      socialscale report backlog --by owner --fail-on-breach
      socialscale report backlog --sort priority
    """
    from socialscale import reports
    from socialscale.output.render import emit, full_time, out_console, table

    st = state(ctx)
    tz = st.config().timezone
    data = reports.backlog(st.db(), st.config(), now=resolve_now(st, now), by=by.value, sort=sort.value,
                           **filters(st, lane, owner, source))
    out = output_format(fmt, as_json)
    flat: list[dict[str, Any]] = [{"group": g["group"], "open": g["open"], "unassigned": g["unassigned"], **g["buckets"],
             "oldest_age_s": g["oldest_age_s"], "breached": g["breached"], "followups": g["followups"]}
            for g in data["groups"]]
    if out == "table":
        rows = [{**r, "group": _label(r["group"], by.value)} for r in flat]
        rows.append({"group": "total", **{k: v for k, v in data["total"].items() if k != "buckets"},
                     **data["total"]["buckets"]})
        console = out_console()
        console.print(table(rows, BACKLOG_COLUMNS, title=f"backlog by {by.value} at {full_time(data['now'], tz)}"))
        oldest = [{**item, "group": _label(g["group"], by.value)} for g in data["groups"] for item in g["oldest"]]
        if oldest:
            console.print()
            console.print(table(oldest, (*OLDEST_COLUMNS[:2], PRIORITY_COLUMN, *OLDEST_COLUMNS[2:])
                                if sort is Sort.priority else OLDEST_COLUMNS,
                                title="first to answer" if sort is Sort.priority else "oldest waiting"))
    elif out == "ndjson":
        emit(out, rows=data["groups"], columns=BACKLOG_COLUMNS)
    else:
        emit(out, rows=flat, columns=BACKLOG_COLUMNS, data=data)
    exit_on_breach(fail_on_breach, data["total"]["breached"])


@report_app.command("latency")
def latency_cmd(
    ctx: typer.Context,
    by: Annotated[LatencyBy, typer.Option("--by", help="Group by lane, owner (whose item), responder (who answered), "
                                          "source or week.")] = LatencyBy.lane,
    since: SinceOption = "30d",
    business_hours: Annotated[bool, typer.Option("--business-hours", help="Count only configured business hours.")] = False,
    lane: LaneOption = None, owner: OwnerOption = None, source: SourceOption = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """First-response time of answers given since --since: median, p90, max, within SLA, handoffs, detection lag
    (over first contacts), and the next-response time of follow-ups (next, next median, ...).

    \b
    Example:
      socialscale report latency --by week --since 90d --business-hours
      socialscale report latency --by responder --since monday
    """
    from socialscale import reports
    from socialscale.output.render import emit, full_time

    st = state(ctx)
    data = reports.latency(st.db(), st.config(), now=resolve_now(st, now), by=by.value, since=since,
                           business_hours=business_hours, **filters(st, lane, owner, source))
    out = output_format(fmt, as_json)
    rows: Sequence[Mapping[str, Any]] = data["groups"]
    if out == "table":
        rows = [{**g, "group": _label(g["group"], by.value)} for g in rows] + [{"group": "total", **data["total"]}]
    hours = " (business hours)" if business_hours else ""
    emit(out, rows=rows, columns=LATENCY_COLUMNS, data=data,
         title=f"first response by {by.value} since {full_time(data['since'], st.config().timezone)}{hours}",
         csv_keys=("group", *(c.key for c in LATENCY_COLUMNS[1:])))


@report_app.command("conversations")
def conversations_cmd(
    ctx: typer.Context,
    by: Annotated[ConversationsBy, typer.Option("--by", help="Group by the first message's lane, owner or source.")
                  ] = ConversationsBy.lane,
    since: SinceOption = "30d",
    lane: LaneOption = None, owner: OwnerOption = None, source: SourceOption = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """Conversations started since --since: how many we joined, follow-ups and catalyzed replies (new people
    our replies drew in) and the share answered, handoffs, and how many wait for an answer.

    \b
    Example:
      socialscale report conversations --since 30d
      socialscale report conversations --by owner --format json
    """
    from socialscale import reports
    from socialscale.output.render import emit

    st = state(ctx)
    data = reports.conversations(st.db(), st.config(), now=resolve_now(st, now), by=by.value, since=since,
                                 **filters(st, lane, owner, source))
    out = output_format(fmt, as_json)
    rows: Sequence[Mapping[str, Any]] = data["groups"]
    if out == "table":
        rows = [{**g, "group": _label(g["group"], by.value)} for g in rows] + [{"group": "total", **data["total"]}]
    emit(out, rows=rows, columns=CONVERSATION_COLUMNS, data=data,
         title=f"conversations by {by.value} started since {data['since']}",
         csv_keys=("group", *(c.key for c in CONVERSATION_COLUMNS[1:])))


@report_app.command("breaches")
def breaches_cmd(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many (oldest first).")] = None,
    fail_on_breach: FailOnBreachOption = False,
    sort: SortOption = Sort.age,
    lane: LaneOption = None, owner: OwnerOption = None, source: SourceOption = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """Items now past their lane's SLA, oldest first, with owner, age and how far past.

    \b
    Example:
      socialscale report breaches --owner alice --format csv
      socialscale report breaches --fail-on-breach --quiet || echo "late answers"
      socialscale report breaches --sort priority
    """
    from socialscale import reports
    from socialscale.output.render import emit

    st = state(ctx)
    rows = reports.breaches(st.db(), st.config(), now=resolve_now(st, now), limit=limit, sort=sort.value,
                            **filters(st, lane, owner, source))
    columns = (*BREACH_COLUMNS[:1], PRIORITY_COLUMN, *BREACH_COLUMNS[1:]) if sort is Sort.priority else BREACH_COLUMNS
    emit(output_format(fmt, as_json), rows=rows, columns=columns, csv_keys=BREACH_KEYS,
         title=f"{len(rows)} past their SLA" + (", highest priority first" if sort is Sort.priority else ""),
         tz=st.config().timezone)
    exit_on_breach(fail_on_breach, len(rows))


@report_app.command("volume")
def volume_cmd(
    ctx: typer.Context,
    by: Annotated[VolumeBy, typer.Option("--by", help="Per day or per ISO week (configured timezone).")] = VolumeBy.day,
    since: SinceOption = "30d",
    lane: LaneOption = None, owner: OwnerOption = None, source: SourceOption = None,
    now: NowOption = None, fmt: FormatOption = Format.table, as_json: JsonOption = False,
) -> None:
    """Items per lane per day or week, as a bar chart (numbers in json/csv).

    \b
    Example:
      socialscale report volume --by week --since 90d
    """
    from socialscale import reports
    from socialscale.output.render import emit, write_csv

    st = state(ctx)
    data = reports.volume(st.db(), st.config(), now=resolve_now(st, now), by=by.value, since=since,
                          **filters(st, lane, owner, source))
    out = output_format(fmt, as_json)
    lanes = list(data["periods"][0]["lanes"]) if data["periods"] else []
    if out == "csv":
        write_csv([{"period": p["period"], **p["lanes"]} for p in data["periods"]], ["period", *lanes])
    elif out == "table":
        volume_chart(data, lanes, st.config().timezone)
    else:
        emit(out, rows=data["periods"], columns=(), data=data)


@report_app.command("summary")
def summary_cmd(
    ctx: typer.Context,
    # Summaries once moved the "new since" mark; only `notify --digest` does now. Kept so old crontabs still run.
    _remember: Annotated[bool, typer.Option("--remember/--no-remember", hidden=True)] = False,
    fail_on_breach: FailOnBreachOption = False,
    now: NowOption = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format", "-f", help="Output format; markdown for mail.")] = SummaryFormat.table,
    as_json: JsonOption = False,
) -> None:
    """The daily digest: new items since the last digest sent, backlog and breaches, latency this week
    against last week, the oldest waiting items. Looking changes nothing; `notify --digest` sends it.

    \b
    Example:
      socialscale report summary --format markdown |
        mail -s "socialscale" team@example.com
    """
    from socialscale import reports
    from socialscale.output.render import emit
    from socialscale.output.summary import markdown, per_lane_rows, print_table

    st = state(ctx)
    data = reports.summary(st.db(), st.config(), now=resolve_now(st, now))
    out = output_format(fmt, as_json)
    if out == "markdown":
        print(markdown(data, st.config().timezone), end="")
    elif out == "table":
        print_table(data, st.config().timezone)
    else:
        rows = per_lane_rows(data)
        emit(out, rows=rows, columns=(), data=data, csv_keys=list(rows[0]) if rows else ["lane"])
    exit_on_breach(fail_on_breach, data["backlog"]["total"]["breached"])


def exit_on_breach(fail_on_breach: bool, breached: int) -> None:
    """--fail-on-breach: exit 3 after the output when any item is past its SLA."""
    if fail_on_breach and breached:
        from socialscale.errors import ExitCode

        raise typer.Exit(int(ExitCode.BREACH))
