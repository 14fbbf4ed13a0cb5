"""Backlog, latency, breaches, volume and the daily summary, as plain data (the JSON shapes of docs/json.md).

Definitions (docs/reports.md, followed exactly):
- start of an item = `start_at` (published_at when present and not later than first_seen_at, else first_seen_at);
- first-response latency = responded_at - start; detection lag = first_seen_at - start;
- median = statistics.median, p90 = statistics.quantiles(values, n=10, method="inclusive")[8] (one value: itself);
- backlog = open items, not duplicates, not our own posts, in lanes with `respond: true`; age = now - start;
  breached = age > the lane's SLA.
Counting happens in SQL (socialscale.store.reports); this module turns the counts into the report shapes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

from socialscale.errors import UsageError
from socialscale.models import Config
from socialscale.store import reports as sql
from socialscale.store.database import Database
from socialscale.store.db import transaction
from socialscale.store.filters import ItemFilter as Filters
from socialscale.timeutil import BusinessClock, parse_iso, parse_since, period_start, periods, utc_iso

if TYPE_CHECKING:  # the shapes are types only: a report does not import their module
    from socialscale.shapes import (
        Backlog,
        BacklogFigures,
        BacklogGroup,
        BreachedItem,
        ConversationFigures,
        ConversationGroup,
        Conversations,
        Latency,
        LatencyFigures,
        LatencyGroup,
        NextFigures,
        StartedByUs,
        Summary,
        Volume,
        WaitingItem,
    )

BUCKETS = ("<1h", "1-4h", "4-24h", "1-3d", "3-7d", ">7d")
BUCKET_EDGES_S = (3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400)  # lower bound of each bucket after the first
OLDEST_PER_GROUP = 3
SUMMARY_OLDEST = 5
# Kept under its first name: databases that recorded summaries carry on from the last one.
DIGEST_STATE_KEY = "summary.last_at"
NO_LANE = "(none)"  # the `lanes` key in volume for items not tagged yet
BACKLOG_BY = ("lane", "owner", "source")
SORTS = ("age", "priority")
LATENCY_BY = ("lane", "owner", "responder", "source", "week")
CONVERSATIONS_BY = ("lane", "owner", "source")
VOLUME_BY = ("day", "week")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def _seconds(value: float | None) -> int | None:
    """Whole seconds, halves rounded up (a median can fall between two values)."""
    return None if value is None else int(math.floor(value + 0.5))


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 4)


def format_share(share: float | None) -> str:
    """A share from these reports (within_sla, handoff_share) as text for people: `83%`, `-` for None."""
    return "-" if share is None else f"{share:.0%}"


def _check_by(by: str, allowed: Sequence[str]) -> None:
    if by not in allowed:
        raise UsageError(f"--by {by!r}: expected one of {', '.join(allowed)}")


def _since(since: str | datetime, now: datetime, tz: str) -> datetime:
    return _utc(since) if isinstance(since, datetime) else parse_since(since, now, tz)


def _quiet_lanes(config: Config) -> list[str]:
    return [lane.name for lane in config.lanes.values() if not lane.respond]


def _breach_before(config: Config, now: datetime) -> dict[str, str]:
    """Per lane with an SLA: an item that started before this instant is breached (age > SLA)."""
    return {lane.name: utc_iso(now - timedelta(seconds=lane.sla_s)) for lane in config.lanes.values()
            if lane.respond and lane.sla_s is not None}


def _slas(config: Config) -> dict[str, int]:
    return {lane.name: lane.sla_s for lane in config.lanes.values() if lane.sla_s is not None}


def _expected_groups(config: Config, by: str, filters: Filters, *, backlog: bool) -> list[str]:
    """Groups listed even when empty: the configured lanes / team / sources (narrowed by the filters)."""
    if by == "lane":
        names = [lane.name for lane in config.lanes.values() if lane.respond or not backlog]
    elif by in ("owner", "responder"):
        names = list(config.team)
    elif by == "source":
        names = [s.name for s in config.sources]
    else:
        return []
    wanted = getattr(filters, by, None)
    return [n for n in names if wanted is None or n == wanted]


def _ordered(expected: Sequence[str], found: Iterable[Any]) -> list[Any]:
    """Configured groups in config order, then others by name, then the group of items without a value."""
    rest = {g for g in found if g not in expected}
    return [*expected, *sorted(g for g in rest if g is not None), *([None] if None in rest else [])]


def _age(now: datetime, start_at: str) -> int:
    return int((now - parse_iso(start_at)).total_seconds())


# --- backlog -------------------------------------------------------------------------------------------

def backlog(db: Database, config: Config, *, now: datetime, by: str = "lane",
            lane: str | None = None, owner: str | None = None, source: str | None = None,
            sort: str = "age") -> Backlog:
    """Open items per group: count, unassigned, age buckets, oldest age, breached, the oldest few (with
    sort="priority": the few of highest priority)."""
    _check_by(by, BACKLOG_BY)
    _check_sort(sort)
    now = _utc(now)
    filters = Filters(lane=lane, owner=owner, source=source)
    lanes = sql.waiting_lanes(db, _quiet_lanes(config), filters)
    younger_than = [utc_iso(now - timedelta(seconds=s)) for s in BUCKET_EDGES_S]
    counts: dict[Any, dict[str, Any]] = {}
    present: dict[str | None, dict[Any, int]] = {}
    for row in sql.backlog_counts(db, by=by, lanes=lanes, younger_than=younger_than,
                                  breach_before=_breach_before(config, now), filters=filters):
        group = row["group"]
        counts[group] = sql.merge_counts(counts[group], row) if group in counts else row
        present.setdefault(row["lane"], {})[group] = row["open"]
    oldest: dict[Any, list[WaitingItem]] = {}
    if sort == "priority":
        everything = [(row[by], _waiting(row, config, now)) for row in
                      sql.waiting_items(db, lanes=dict.fromkeys(present), filters=filters)]
        for group, item in sorted(everything, key=lambda pair: _by_priority(pair[1])):
            first = oldest.setdefault(group, [])
            if len(first) < OLDEST_PER_GROUP:
                first.append(item)
    else:
        for row in sql.backlog_oldest(db, by=by, present=present, filters=filters, per_group=OLDEST_PER_GROUP):
            oldest.setdefault(row.pop("group"), []).append(_waiting(row, config, now))
    groups: list[BacklogGroup] = [
        {"group": name, **_backlog_figures(counts.get(name), now), "oldest": oldest.get(name, [])}
        for name in _ordered(_expected_groups(config, by, filters, backlog=True), counts)]
    total_row = functools.reduce(sql.merge_counts, counts.values()) if counts else None
    return {"now": utc_iso(now), "by": by, "groups": groups, "total": _backlog_figures(total_row, now)}


def _backlog_figures(row: dict[str, Any] | None, now: datetime) -> BacklogFigures:
    if row is None:
        return {"open": 0, "unassigned": 0, "buckets": dict.fromkeys(BUCKETS, 0), "oldest_age_s": None,
                "breached": 0, "followups": 0}
    # `younger[k]` counts items younger than edge k; a bucket is the difference of neighbours.
    bounds = [*row["younger"], row["open"]]
    buckets = {BUCKETS[0]: bounds[0]}
    for k in range(1, len(BUCKETS)):
        buckets[BUCKETS[k]] = bounds[k] - bounds[k - 1]
    return {"open": row["open"], "unassigned": row["unassigned"], "buckets": buckets,
            "oldest_age_s": _age(now, row["oldest_start"]), "breached": row["breached"], "followups": row["followups"]}


def _waiting(item: dict[str, Any], config: Config, now: datetime) -> WaitingItem:
    """A row of socialscale.store.reports.ITEM_FIELDS as a report lists it: the SQL row's columns, typed
    here (the one place they are), then its age, SLA and priority."""
    from socialscale.insight.priority import score

    lane = config.lanes.get(item["lane"] or "")
    sla = lane.sla_s if lane else None
    age = _age(now, item["start_at"])
    return cast("WaitingItem", {**item, "followup": bool(item.get("followup")), "age_s": age, "sla_s": sla,
                              "breached": sla is not None and age > sla,
                              "priority": score({**item, "status": "open"}, config, now)})


def _past_sla(item: WaitingItem) -> BreachedItem:
    """A waiting item past its SLA as `report breaches` lists it: `over_s` in place of `breached`."""
    fields = {k: v for k, v in item.items() if k != "breached"}
    return cast("BreachedItem", {**fields, "over_s": item["age_s"] - (item["sla_s"] or 0)})


def _by_priority(item: WaitingItem | BreachedItem) -> tuple[float, str, int]:
    """Highest priority first; the older, then the lower id, first among equals."""
    return (-(item["priority"] or 0.0), item["start_at"], item["id"])


def _check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r}: expected one of {', '.join(SORTS)}")


def breaches(db: Database, config: Config, *, now: datetime, lane: str | None = None,
             owner: str | None = None, source: str | None = None, limit: int | None = None,
             sort: str = "age") -> list[BreachedItem]:
    """The waiting items now past their lane's SLA, oldest first (or highest priority first), with age
    and how far past (`over_s`)."""
    _check_sort(sort)
    now = _utc(now)
    filters = Filters(lane=lane, owner=owner, source=source)
    cuts = _breach_before(config, now)
    rows = sql.waiting_items(db, lanes={name: cuts[name] for name in cuts if lane is None or name == lane},
                             filters=filters, limit=limit if sort == "age" else None)
    out = [_past_sla(_waiting(row, config, now)) for row in rows]
    if sort == "priority":
        out.sort(key=_by_priority)
        out = out if limit is None else out[:limit]
    return out


# --- latency -------------------------------------------------------------------------------------------

def latency(db: Database, config: Config, *, now: datetime, by: str = "lane", since: str | datetime = "30d",
            business_hours: bool = False, lane: str | None = None, owner: str | None = None,
            source: str | None = None) -> Latency:
    """First-response time per group for responses since `since`: median, p90, max, share within SLA,
    handoff share, median detection lag. `business_hours` counts only configured working time."""
    _check_by(by, LATENCY_BY)
    now = _utc(now)
    return _latency(db, config, by=by, since=_since(since, now, config.timezone), until=now + timedelta(seconds=1), now=now,
                    business_hours=business_hours, filters=Filters(lane, owner, source))


def _latency(db: Database, config: Config, *, by: str, since: datetime, until: datetime,
             now: datetime, business_hours: bool, filters: Filters) -> Latency:
    """Latency of first responses in [since, until)."""
    spans = [(label, utc_iso(lo), utc_iso(hi)) for label, lo, hi in periods(since, until, "week", config.timezone)] \
        if by == "week" else []
    kwargs: dict[str, Any] = {"by": by, "since": utc_iso(since), "until": utc_iso(until), "filters": filters,
                              "periods": spans}
    if business_hours:
        found = _business_stats(sql.latency_items(db, slas=_slas(config), **kwargs), config)
    else:
        found = sql.latency_groups(db, slas=_slas(config), **kwargs)
    # First contacts keep the figures' names; follow-ups give the next_* figures.
    stats = {row["group"]: row for row in found if not row["followup"]}
    following = {row["group"]: row for row in found if row["followup"]}
    expected = [label for label, _, _ in spans] if by == "week" else _expected_groups(config, by, filters, backlog=False)
    if by == "lane":  # a monitoring-only lane is listed only when someone answered there anyway
        expected = [n for n in expected if n in stats or n in following or config.lanes[n].respond]
    names = expected if by == "week" else _ordered(expected, {*stats, *following})
    moods = negative_shares(db, by=by, since=utc_iso(since), until=utc_iso(until), filters=filters)
    groups: list[LatencyGroup] = [
        {"group": name, **_latency_figures(stats.get(name)), **_next_figures(following.get(name)),
         "negative_share": moods.get(name)} for name in names]
    return {"now": utc_iso(now), "by": by, "since": utc_iso(since), "groups": groups,
            "total": {**_latency_figures(_merged(stats.values())), **_next_figures(_merged(following.values())),
                      "negative_share": moods.get(TOTAL)}}


TOTAL = object()  # negative_shares' key for all groups together


def negative_shares(db: Database, *, by: str, since: str, until: str,
                    filters: Filters) -> dict[Any, float | None]:
    """Per lane/owner/source, and in all (key TOTAL): the share of negative items among the items with a
    sentiment that started in [since, until) (docs/insight.md); None where none has a score. Other
    groupings (week, responder) get only the total."""
    from socialscale.store.insight import negative_counts

    counts = negative_counts(db, by=by if by in ("lane", "owner", "source") else "lane", since=since, until=until,
                             filters=filters)
    out: dict[Any, float | None] = {g: _share(neg, scored) for g, (scored, neg) in counts.items()} \
        if by in ("lane", "owner", "source") else {}
    out[TOTAL] = _share(sum(n for _, n in counts.values()), sum(s for s, _ in counts.values()))
    return out


def _merged(rows: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    rows = list(rows)
    if not rows:
        return None
    return {"responded": sum(r["responded"] for r in rows), "max_s": max(r["max_s"] for r in rows),
            "within": sum(r["within"] for r in rows), "with_sla": sum(r["with_sla"] for r in rows),
            "handoffs": sum(r["handoffs"] for r in rows),
            "values": sorted(v for r in rows for v in r["values"]),
            "lags": sorted(v for r in rows for v in r["lags"])}


def _business_stats(rows: Iterable[tuple[Any, ...]], config: Config) -> list[dict[str, Any]]:
    """The per-group figures of latency_counts/latency_values, with latency in business seconds."""
    clock = BusinessClock(config.business_hours, config.timezone)
    stats: dict[Any, dict[str, Any]] = {}
    for grp, start, responded, lag, sla, handoff, followup in rows:
        lat = clock.between(int(start), int(responded))
        s = stats.setdefault((grp, bool(followup)), {"group": grp, "followup": bool(followup), "responded": 0,
                                                     "max_s": lat, "within": 0, "with_sla": 0, "handoffs": 0,
                                                     "values": [], "lags": []})
        s["responded"] += 1
        s["max_s"] = max(s["max_s"], lat)
        if sla is not None:
            s["with_sla"] += 1
            s["within"] += lat <= sla
        s["handoffs"] += bool(handoff)
        s["values"].append(lat)
        s["lags"].append(lag)
    for s in stats.values():
        s["values"].sort()
        s["lags"].sort()
    return list(stats.values())


def _p90(values: list[int]) -> float:
    import statistics  # here: backlog, breaches and conversations never load it (nor fractions, decimal, random)

    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _latency_figures(s: dict[str, Any] | None) -> LatencyFigures:
    import statistics

    if not s or not s["responded"]:
        return {"responded": 0, "median_s": None, "p90_s": None, "max_s": None, "within_sla": None,
                "handoff_share": None, "median_detection_lag_s": None}
    return {"responded": s["responded"], "median_s": _seconds(statistics.median(s["values"])),
            "p90_s": _seconds(_p90(s["values"])), "max_s": s["max_s"],
            "within_sla": _share(s["within"], s["with_sla"]), "handoff_share": _share(s["handoffs"], s["responded"]),
            "median_detection_lag_s": _seconds(statistics.median(s["lags"]))}


def _next_figures(s: dict[str, Any] | None) -> NextFigures:
    """The next-response figures: the same definitions over follow-ups."""
    figures = _latency_figures(s)
    return {"next_responded": figures["responded"], "next_median_s": figures["median_s"],
            "next_p90_s": figures["p90_s"], "next_within_sla": figures["within_sla"]}


# --- conversations -------------------------------------------------------------------------------------

def conversations(db: Database, config: Config, *, now: datetime, by: str = "lane",
                  since: str | datetime = "30d", lane: str | None = None, owner: str | None = None,
                  source: str | None = None) -> Conversations:
    """Conversations started since `since`, per group of their first message: how many, the share we joined,
    follow-ups and catalyzed replies and the shares answered, handoffs, and how many wait for an answer."""
    _check_by(by, CONVERSATIONS_BY)
    now = _utc(now)
    start = _since(since, now, config.timezone)
    filters = Filters(lane=lane, owner=owner, source=source)
    found = {row["group"]: row for row in sql.conversation_groups(
        db, by=by, since=utc_iso(start), until=utc_iso(now + timedelta(seconds=1)), quiet_lanes=_quiet_lanes(config),
        filters=filters)}
    groups: list[ConversationGroup] = [
        {"group": name, **_conversation_figures(found.get(name))}
        for name in _ordered(_expected_groups(config, by, filters, backlog=False), found)]
    total = None
    if found:
        total = {key: sum(row[key] for row in found.values()) for key in next(iter(found.values())) if key != "group"}
    return {"now": utc_iso(now), "by": by, "since": utc_iso(start), "groups": groups,
            "total": _conversation_figures(total)}


def _conversation_figures(row: dict[str, Any] | None) -> ConversationFigures:
    row = row or dict.fromkeys(("conversations", "joined", "followups", "followups_answered", "catalyzed",
                                "catalyzed_answered", "catalyzed_waiting", "handoffs", "waiting"), 0)
    return {"conversations": row["conversations"], "joined": _share(row["joined"], row["conversations"]),
            "followups": row["followups"], "followups_answered": _share(row["followups_answered"], row["followups"]),
            "catalyzed": row["catalyzed"], "catalyzed_answered": _share(row["catalyzed_answered"], row["catalyzed"]),
            "handoffs": row["handoffs"], "waiting": row["waiting"]}


def started_by_us(db: Database, config: Config, *, now: datetime,
                  since: str | datetime = "30d") -> StartedByUs:
    """The conversations we started since `since` and the replies they drew from new people: catalyzed
    replies answered and waiting (the HTML report's panel, the summary's line)."""
    now = _utc(now)
    start = _since(since, now, config.timezone)
    rows = sql.conversation_groups(db, by="lane", since=utc_iso(start), until=utc_iso(now + timedelta(seconds=1)),
                                   quiet_lanes=_quiet_lanes(config), filters=Filters(), started_by_us=True)
    total = {k: sum(r[k] for r in rows) for k in ("conversations", "catalyzed", "catalyzed_answered",
                                                  "catalyzed_waiting")}
    return {"since": utc_iso(start), "conversations": total["conversations"], "catalyzed": total["catalyzed"],
            "catalyzed_answered": total["catalyzed_answered"], "catalyzed_waiting": total["catalyzed_waiting"]}


# --- volume --------------------------------------------------------------------------------------------

def volume(db: Database, config: Config, *, now: datetime, by: str = "day", since: str | datetime = "30d",
           lane: str | None = None, owner: str | None = None, source: str | None = None) -> Volume:
    """Items per lane per local day or ISO week, by start; `since` is moved back to the start of its
    period so that every period but the current one is whole."""
    _check_by(by, VOLUME_BY)
    now = _utc(now)
    first = period_start(_since(since, now, config.timezone), by, config.timezone)
    spans = periods(first, now + timedelta(seconds=1), by, config.timezone)
    filters = Filters(lane=lane, owner=owner, source=source)
    counts = sql.volume_counts(db, periods=[(label, utc_iso(lo), utc_iso(hi)) for label, lo, hi in spans],
                               filters=filters)
    lanes = _ordered([n for n in config.lanes if lane is None or n == lane], {row[1] for row in counts})
    keys = [NO_LANE if name is None else name for name in lanes]
    table = {(label, NO_LANE if name is None else name): n for label, name, n in counts}
    return {"by": by, "since": utc_iso(first),
            "periods": [{"period": label, "lanes": {k: table.get((label, k), 0) for k in keys}}
                        for label, _, _ in spans]}


# --- summary -------------------------------------------------------------------------------------------

def summary(db: Database, config: Config, *, now: datetime) -> Summary:
    """The daily digest: new items since the last digest sent (or the last 24 hours before the first),
    backlog by lane with breaches, latency over the last 7 days against the 7 before, the oldest waiting.

    Looking never changes state: only `notify --digest` moves the mark (remember_digest)."""
    now = _utc(now)
    previous = sql.get_state(db, DIGEST_STATE_KEY)
    # A summary "as of" a time before the last digest (--now in the past) counts the last 24 hours.
    since = parse_iso(previous) if previous and previous <= utc_iso(now) else now - timedelta(days=1)
    filters = Filters()
    new = sql.new_counts(db, after=utc_iso(since), until=utc_iso(now), filters=filters)
    lanes = _ordered(list(config.lanes), new)
    week = timedelta(days=7)
    current = _latency(db, config, by="lane", since=now - week, until=now + timedelta(seconds=1), now=now,
                       business_hours=False, filters=filters)
    before = _latency(db, config, by="lane", since=now - 2 * week, until=now - week, now=now,
                      business_hours=False, filters=filters)
    before["until"] = utc_iso(now - week)
    waiting = dict.fromkeys(sql.waiting_lanes(db, _quiet_lanes(config), filters))
    oldest = [_waiting(item, config, now) for item in
              sql.waiting_items(db, lanes=waiting, filters=filters, limit=SUMMARY_OLDEST)]
    moods = negative_shares(db, by="lane", since=utc_iso(since), until=utc_iso(now + timedelta(seconds=1)),
                            filters=filters)
    return {"now": utc_iso(now), "last_digest_at": previous, "since": utc_iso(since),
            "new": {"total": sum(new.values()),
                    "lanes": {NO_LANE if n is None else n: new.get(n, 0) for n in lanes},
                    "negative_share": {"total": moods[TOTAL],
                                       "lanes": {NO_LANE if n is None else n: moods.get(n) for n in lanes}}},
            "backlog": backlog(db, config, now=now, by="lane"),
            "latency": {"current": current, "previous": before},
            "conversations": conversations(db, config, now=now, since=now - week)["total"],
            "oldest": oldest}


def remember_digest(db: Database, now: datetime) -> None:
    """Make `now` the time of the last digest sent, so the next summary counts new items from here; a
    remembered time later than `now` (a digest sent with --now in the past) is kept."""
    previous = sql.get_state(db, DIGEST_STATE_KEY)
    stamp = utc_iso(_utc(now))
    if previous is None or previous < stamp:
        with transaction(db):
            sql.set_state(db, DIGEST_STATE_KEY, stamp)
