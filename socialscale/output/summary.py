"""Rendering the daily summary: a terminal view, Markdown for mail, and one flat row per lane for csv/ndjson."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from socialscale.output.render import clean, full_time
from socialscale.reports import NO_LANE, format_share
from socialscale.shapes import Summary
from socialscale.text import headline, safe_link
from socialscale.timeutil import format_duration

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def md(text: Any) -> str:
    """Untrusted text for Markdown: cleaned of controls, every character Markdown would act on escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text))


def _lanes(data: Summary) -> list[str]:
    seen: list[str] = []
    for name in [*data["new"]["lanes"], *(g["group"] for g in data["backlog"]["groups"]),
                 *(g["group"] for g in data["latency"]["current"]["groups"])]:
        name = NO_LANE if name is None else name
        if name not in seen:
            seen.append(name)
    return seen


def _by_group(groups: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {NO_LANE if g["group"] is None else g["group"]: g for g in groups}


def per_lane_rows(data: Summary) -> list[dict[str, Any]]:
    """One row per lane: new items, backlog, and latency this week and the week before (seconds)."""
    backlog = _by_group(data["backlog"]["groups"])
    current = _by_group(data["latency"]["current"]["groups"])
    previous = _by_group(data["latency"]["previous"]["groups"])
    rows = []
    for lane in _lanes(data):
        b, c, p = backlog.get(lane, {}), current.get(lane, {}), previous.get(lane, {})
        rows.append({"lane": lane, "new": data["new"]["lanes"].get(lane, 0),
                     "negative_share": data["new"]["negative_share"]["lanes"].get(lane), "open": b.get("open"),
                     "unassigned": b.get("unassigned"), "breached": b.get("breached"), "followups": b.get("followups"),
                     "oldest_age_s": b.get("oldest_age_s"),
                     "responded_7d": c.get("responded", 0), "median_s_7d": c.get("median_s"),
                     "p90_s_7d": c.get("p90_s"), "within_sla_7d": c.get("within_sla"),
                     "responded_prev_7d": p.get("responded", 0), "median_s_prev_7d": p.get("median_s"),
                     "p90_s_prev_7d": p.get("p90_s"), "within_sla_prev_7d": p.get("within_sla")})
    return rows


def new_label(data: Summary, tz: str | None) -> str:
    """What `new` counts: since the last digest sent, or the 24 hours before the first one."""
    since = full_time(data["since"], tz)
    if data["last_digest_at"] and data["since"] == data["last_digest_at"]:
        return f"new since the last digest sent ({since})"
    return f"new in the 24 hours since {since} (no digest sent since)"


def _trend(now: int | None, before: int | None) -> str:
    text = format_duration(now)
    if now is None or before is None:
        return text
    return f"{text} (was {format_duration(before)})"


def markdown(data: Summary, tz: str | None) -> str:
    total = data["backlog"]["total"]
    new = data["new"]
    lines = [f"# socialscale summary, {full_time(data['now'], tz)}", ""]
    parts = ", ".join(f"{md(lane)} {n}" for lane, n in new["lanes"].items() if n)
    label = new_label(data, tz)
    lines += [f"**{label[0].upper() + label[1:]}:** {new['total']}" + (f" ({parts})" if parts else ""), ""]
    moods = ", ".join(f"{md(lane)} {format_share(share)}" for lane, share in new["negative_share"]["lanes"].items()
                      if share is not None)
    if moods:
        lines += [f"**Negative:** {format_share(new['negative_share']['total'])} ({moods})", ""]
    lines += [f"## Backlog: {total['open']} waiting, {total['breached']} past SLA", "",
              "| lane | open | unassigned | breached | oldest |", "|---|---:|---:|---:|---:|"]
    for g in data["backlog"]["groups"]:
        lines.append(f"| {md(g['group'] or NO_LANE)} | {g['open']} | {g['unassigned']} | {g['breached']} | "
                     f"{format_duration(g['oldest_age_s'])} |")
    lines += ["", "## First response, last 7 days (the 7 days before in brackets)", "",
              "| lane | responded | median | p90 | within SLA |", "|---|---:|---:|---:|---:|"]
    for row in per_lane_rows(data):
        if not row["responded_7d"] and not row["responded_prev_7d"]:
            continue
        lines.append(f"| {md(row['lane'])} | {row['responded_7d']} ({row['responded_prev_7d']}) | "
                     f"{_trend(row['median_s_7d'], row['median_s_prev_7d'])} | "
                     f"{_trend(row['p90_s_7d'], row['p90_s_prev_7d'])} | "
                     f"{format_share(row['within_sla_7d'])} ({format_share(row['within_sla_prev_7d'])}) |")
    c = data["conversations"]
    lines += ["", f"## Conversations, last 7 days: {c['conversations']}", "",
              f"Joined {format_share(c['joined'])}; follow-ups {c['followups']} "
              f"({format_share(c['followups_answered'])} answered); catalyzed replies {c['catalyzed']} "
              f"({format_share(c['catalyzed_answered'])} answered); {c['waiting']} waiting for an answer."]
    lines += ["", "## Oldest waiting", ""]
    if not data["oldest"]:
        lines.append("Nothing is waiting.")
    for n, item in enumerate(data["oldest"], start=1):
        title = md(headline(item.get("title"), item.get("text")))
        # Only an http(s) URL that is already clean: anything else would carry its characters to the terminal.
        url = safe_link(item.get("url"))
        link = f"[{title}](<{url}>)" if url and url == clean(url) and not re.search(r"[\s<>]", url) else title
        late = ", **past SLA**" if item["breached"] else ""
        lines.append(f"{n}. #{item['id']} {link}: {md(item['lane'] or NO_LANE)}, "
                     f"{md(item['owner'] or 'unassigned')}, waiting {format_duration(item['age_s'])}{late}")
    return "\n".join(lines) + "\n"


def print_table(data: Summary, tz: str | None) -> None:
    from socialscale.output.render import Column, Paragraph, out_console, table

    console = out_console()
    new = data["new"]
    console.print(Paragraph(f"{new_label(data, tz)}: {new['total']}  "
                            + "  ".join(f"{clean(k)} {v}" for k, v in new["lanes"].items() if v)))
    columns = (Column("lane", "lane", "plain"), Column("new", "new", "number"),
               Column("negative_share", "negative", "number", fold=2), Column("open", "open", "number"),
               Column("breached", "breached", "number"), Column("oldest_age_s", "oldest", "duration"),
               Column("responded_7d", "answered 7d", "number", fold=2),
               Column("median_s_7d", "median 7d", "duration", fold=3),
               Column("median_s_prev_7d", "median prev 7d", "duration", fold=4),
               Column("within_sla_7d", "within SLA 7d", "number", fold=1))
    console.print(table(per_lane_rows(data), columns, title=f"summary at {full_time(data['now'], tz)}"))
    c = data["conversations"]
    console.print(Paragraph(f"conversations 7d: {c['conversations']}  joined {format_share(c['joined'])}  "
                            f"follow-ups {c['followups']} ({format_share(c['followups_answered'])} answered)  "
                            f"catalyzed {c['catalyzed']} ({format_share(c['catalyzed_answered'])} answered)  "
                            f"waiting {c['waiting']}"))
    console.print()
    oldest = [{**item, "lane": item["lane"] or "-", "owner": item["owner"] or "unassigned",
               "waiting": format_duration(item["age_s"]) + (" (past SLA)" if item["breached"] else "")}
              for item in data["oldest"]]
    console.print(table(oldest, (Column("id", "id", "plain"), Column("lane", "lane", "plain", fold=2),
                                 Column("owner", "owner", "plain", fold=1), Column("waiting", "waiting", "plain"),
                                 Column("title", "title", "title", min_width=20)), title="oldest waiting"))
