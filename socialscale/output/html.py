"""The self-contained HTML report: inline SVG charts and tables, no scripts, fonts or images from anywhere.

Every figure comes from socialscale.reports (the same numbers as `report ... --format json`); this module
only draws. Untrusted text (titles, and to be safe every name) is HTML-escaped, and links are written only
for http(s) URLs. A Content-Security-Policy forbids loading anything, so the file works offline and as a
mail attachment, and nothing in it can call home.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from socialscale import reports
from socialscale.insight.spikes import spikes_by_period
from socialscale.insight.voice import voice as share_of_voice
from socialscale.models import Config
from socialscale.reports import NO_LANE, format_share
from socialscale.shapes import (
    Backlog,
    BreachedItem,
    Latency,
    LatencyGroup,
    SpikeFigures,
    StartedByUs,
    Voice,
    Volume,
)
from socialscale.store.database import Database
from socialscale.text import headline, one_line, safe_link
from socialscale.timeutil import format_duration, parse_iso, zone

# Okabe-Ito: told apart with the common colour-vision deficiencies, and in greyscale print by order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BREACH_ROWS = 200  # a longer breach list is cut, with a count of the rest
_DURATION_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 259200, 604800,
                   1209600, 2592000)

CSS = """
:root{color-scheme:light}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:980px;margin:0 auto;padding:16px}
h1{font-size:1.45rem;margin:.2rem 0}
h2{font-size:1.1rem;margin:1.8rem 0 .5rem}
p.meta{color:#57606a;margin:.2rem 0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:1.6rem;font-variant-numeric:tabular-nums}
.card.alert b{color:#b42318}
.chart svg{display:block;width:100%;max-width:780px;height:auto}
.sm-chart{display:none}
svg text{font-family:inherit;fill:#1f2328}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .sla{stroke:#b42318;stroke-width:2;stroke-dasharray:5 3}
.legend{margin:.4rem 0;font-size:.9rem}
.legend span{display:inline-flex;align-items:center;margin:0 14px 4px 0}
.legend i{width:11px;height:11px;border-radius:2px;display:inline-block;margin-right:5px}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:5px 7px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{font-weight:600;border-bottom-color:#d0d7de}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.title{overflow-wrap:anywhere;min-width:12em}
.bad{color:#b42318;font-weight:600}
.muted{color:#57606a}
footer{margin:2rem 0 1rem;color:#57606a;font-size:.85rem}
.sm{display:none}
@media (max-width:600px){body{font-size:14px}main{padding:10px}.wide{display:none}.sm{display:block;color:#57606a;font-size:.85em}
  th,td{padding:5px 4px}th.n{white-space:normal}
  .wide-chart{display:none}.sm-chart{display:block}}
@media print{
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{font-size:10.5pt}main{max-width:none;padding:0}
  .chart,.table{overflow:visible}.sm-chart{display:none}.wide-chart{display:block}
  section{break-inside:avoid}h2{break-after:avoid}tr{break-inside:avoid}
  a{color:inherit;text-decoration:none}
  @page{margin:12mm}
}
"""


def _e(value: Any) -> str:
    """Untrusted text for HTML text or a quoted attribute: controls stripped, one line, escaped."""
    return escape(one_line(value, 500), quote=True)


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _lane_key(name: Any) -> str:
    return NO_LANE if name is None else str(name)


def _name(lane: Any) -> str:
    """A lane's name for people, escaped: `customer_service` reads `customer service`."""
    return _e(str(lane).replace("_", " "))


def lane_colours(config: Config, names: Sequence[str]) -> dict[str, str]:
    """A colour per lane, by config order so a lane keeps its colour across reports."""
    order = [*config.lanes, *sorted(n for n in names if n not in config.lanes)]
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(order)}


def _nice_step(top: float, steps: int = 5) -> float:
    if top <= 0:
        return 1
    raw = top / steps
    power: float = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _legend(colours: dict[str, str], names: Sequence[str]) -> str:
    chips = "".join(f'<span><i style="background:{colours[n]}"></i>{_name(n)}</span>' for n in names)
    return f'<div class="legend">{chips}</div>'


def _stacked(svg_id: str, title: str, columns: list[tuple[str, str, dict[str, int]]], lanes: list[str],
             colours: dict[str, str], *, width: int = 640, height: int = 260,
             marks: dict[tuple[str, str], str] | None = None) -> str:
    """Stacked columns: (key, label, {lane: count}) per column; one rect per non-zero (column, lane).
    `marks`: (key, lane) -> a note; such a segment gets a red outline and a ▲ above its column."""
    left, right, top, bottom = 40, 10, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(c[2].values()) for c in columns]
    step = max(1.0, _nice_step(max(totals, default=0) or 1))  # counts: whole-number ticks
    y_max = step * max(1, math.ceil(max(totals, default=0) / step))
    parts = [f'<svg id="{svg_id}" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="13"><title>{_e(title)}</title>']
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = top + plot_h - plot_h * tick / y_max
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}"/>'
                     f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end">{_n(tick)}</text>')
        tick += step
    slot = plot_w / max(1, len(columns))
    bar = max(1.0, slot * 0.72)
    label_every = max(1, math.ceil(len(columns) / max(3, plot_w // 48)))  # a label needs about 48 units
    for i, (key, label, counts) in enumerate(columns):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for lane in lanes:
            count = counts.get(lane, 0)
            if not count:
                continue
            h = plot_h * count / y_max
            y -= h
            note = (marks or {}).get((key, lane))
            outline = ' stroke="#b42318" stroke-width="2"' if note else ""
            parts.append(f'<rect class="bar{" spike" if note else ""}" x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" '
                         f'height="{_n(h)}" fill="{colours[lane]}"{outline} data-key="{_e(key)}" data-lane="{_e(lane)}" '
                         f'data-count="{count}"><title>{_e(label)} · {_name(lane)}: {count}'
                         f'{"; " + _e(note) if note else ""}</title></rect>')
        if any((key, lane) in (marks or {}) for lane in lanes):
            parts.append(f'<text class="spike-mark" x="{_n(x + bar / 2)}" y="{_n(max(top + 10, y - 4))}" '
                         f'text-anchor="middle" fill="#b42318" data-key="{_e(key)}">▲</text>')
        if i % label_every == 0:
            centre = left + slot * i + slot / 2
            # about 7.5 units a character at 13 units: a label that would run past the edge ends at it
            anchor, x_text = ("end", width - 1.0) if centre + 3.8 * len(label) > width - 1 else ("middle", centre)
            parts.append(f'<text x="{_n(x_text)}" y="{height - bottom + 16}" '
                         f'text-anchor="{anchor}">{_e(label)}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _duration_step(top: float) -> int:
    return next((s for s in _DURATION_STEPS if top / s <= 5), _DURATION_STEPS[-1])


def latency_chart(groups: list[LatencyGroup], config: Config, colours: dict[str, str], *, width: int = 640,
                  svg_id: str = "latency") -> str:
    """Per lane: median and p90 bars against the lane's SLA (a dashed red line)."""
    rows = []
    for g in groups:
        lane = _lane_key(g["group"])
        spec = config.lanes.get(lane)
        sla = spec.sla_s if spec else None
        if g["responded"] or (sla and spec is not None and spec.respond):
            rows.append((lane, g, sla))
    # Lane names stand left of the bars: room for the longest (about 7.2 units a character at 13 units).
    longest = max((len(lane) for lane, _, _ in rows), default=8)
    left, right, row_h, top = min(width // 2, max(80, int(16 + 7.2 * longest))), 12, 46, 10
    height = top + row_h * max(1, len(rows)) + 30
    plot_w = width - left - right
    top_value = max([v for _, g, sla in rows for v in (g["p90_s"], g["median_s"], sla) if v] or [3600])
    step = _duration_step(top_value)
    x_max = step * math.ceil(top_value * 1.05 / step)
    parts = [f'<svg id="{svg_id}" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg" '
             'font-size="13" aria-label="First response per lane: median and p90 against the SLA">'
             "<title>First response per lane: median and p90 against the SLA</title>"]

    def x_of(seconds: float) -> float:
        return left + plot_w * seconds / x_max

    tick = 0
    every = max(1, math.ceil((x_max // step + 1) / max(2, plot_w // 60)))  # a tick label needs about 60 units
    n = 0
    while tick <= x_max:
        label = format_duration(tick) if tick else "0"
        # Centred under its line, except where that would run past the edge: then it ends at the line.
        anchor = "end" if x_of(tick) + 3.8 * len(label) > width - 2 else "middle"
        parts.append(f'<line class="grid" x1="{_n(x_of(tick))}" x2="{_n(x_of(tick))}" y1="{top}" '
                     f'y2="{height - 26}"/>')
        if n % every == 0:
            parts.append(f'<text class="tick" x="{_n(x_of(tick))}" y="{height - 10}" text-anchor="{anchor}">'
                         f"{label}</text>")
        tick += step
        n += 1
    for i, (lane, g, sla) in enumerate(rows):
        y = top + row_h * i
        parts.append(f'<text x="{left - 8}" y="{y + 22}" text-anchor="end">{_name(lane)}</text>')
        p90, median = g["p90_s"], g["median_s"]
        if g["responded"] and p90 is not None and median is not None:  # both are, once anyone answered
            parts.append(f'<rect class="p90" x="{left}" y="{y + 6}" width="{_n(x_of(p90) - left)}" height="26" '
                         f'fill="{colours[lane]}" fill-opacity="0.35" data-lane="{_e(lane)}" data-seconds="{g["p90_s"]}">'
                         f'<title>{_name(lane)} p90: {format_duration(g["p90_s"])}</title></rect>')
            parts.append(f'<rect class="median" x="{left}" y="{y + 12}" width="{_n(x_of(median) - left)}" '
                         f'height="14" fill="{colours[lane]}" data-lane="{_e(lane)}" data-seconds="{g["median_s"]}">'
                         f'<title>{_name(lane)} median: {format_duration(g["median_s"])}</title></rect>')
        else:
            parts.append(f'<text class="muted" x="{left + 6}" y="{y + 22}">no responses</text>')
        if sla:
            parts.append(f'<line class="sla" x1="{_n(x_of(sla))}" x2="{_n(x_of(sla))}" y1="{y + 2}" y2="{y + 36}" '
                         f'data-lane="{_e(lane)}" data-seconds="{sla}"><title>{_name(lane)} SLA: '
                         f"{format_duration(sla)}</title></line>")
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{height - 26}"/></svg>')
    return "".join(parts)


PHONE_WIDTH = 360  # SVG units of the phone drawing: about one unit a CSS pixel on a 390 px screen


def _both(draw: Any, svg_id: str) -> str:
    """A chart drawn twice: for wide screens and print, and narrower for phones, where the wide one would
    shrink its text to a few pixels (CSS shows one of them; no scrolling sideways)."""
    return (f'<div class="chart wide-chart">{draw(640, svg_id)}</div>'
            f'<div class="chart sm-chart">{draw(PHONE_WIDTH, svg_id + "-phone")}</div>')


def _table(headers: Sequence[tuple[str, str]], rows: list[list[str]], table_id: str) -> str:
    """`headers` are (label, css class of the column: "n" for numbers, "title", or "")."""
    def cls(i: int) -> str:
        return f' class="{headers[i][1]}"' if headers[i][1] else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, (h, _) in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="table"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _dur(seconds: float | None) -> str:
    return escape(format_duration(seconds))


def render(db: Database, config: Config, *, now: datetime, since: str = "30d") -> str:
    """The whole report as one HTML document."""
    volume = reports.volume(db, config, now=now, by="day", since=since)
    backlog = reports.backlog(db, config, now=now, by="lane")
    latency = reports.latency(db, config, now=now, by="lane", since=since)
    breaches = reports.breaches(db, config, now=now, limit=BREACH_ROWS)  # the count is the backlog's total
    started = reports.started_by_us(db, config, now=now, since=since)
    found = spikes_by_period(db, config, now=now, since=parse_iso(volume["since"]))
    shares = share_of_voice(db, config, now=now, since=since) if config.brands else None
    return document(config, now=now, volume=volume, backlog=backlog, latency=latency, breaches=breaches,
                    started=started, spikes=found, voice=shares)


def voice_chart(data: Voice) -> str:
    """Per brand: its share of voice as a bar, the negative part of its mentions darker."""
    rows = data["brands"]
    width, left, right, row_h, top = 640, 130, 60, 34, 6
    height = top + row_h * max(1, len(rows)) + 8
    plot_w = width - left - right
    parts = [f'<svg id="voice" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg" '
             'font-size="13" aria-label="Share of voice per brand"><title>Share of voice per brand</title>']
    for i, b in enumerate(rows):
        y = top + row_h * i
        share, negative = b["share"] or 0.0, b["negative_share"] or 0.0
        w = plot_w * share
        colour = PALETTE[0] if b["ours"] else PALETTE[1]
        parts.append(f'<text x="{left - 8}" y="{y + 19}" text-anchor="end">{_e(b["brand"])}</text>'
                     f'<rect class="share" x="{left}" y="{y + 6}" width="{_n(w)}" height="20" fill="{colour}" '
                     f'fill-opacity="0.45" data-brand="{_e(b["brand"])}" data-share="{share}">'
                     f'<title>{_e(b["brand"])}: {b["mentions"]} mentions, {format_share(b["share"])}</title></rect>'
                     f'<rect class="negative" x="{left}" y="{y + 6}" width="{_n(w * negative)}" height="20" '
                     f'fill="{colour}" data-brand="{_e(b["brand"])}" data-negative="{negative}">'
                     f'<title>{_e(b["brand"])}: {format_share(b["negative_share"])} of its mentions negative'
                     f'</title></rect><text x="{_n(left + w + 6)}" y="{y + 19}">{format_share(b["share"])}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{height - 4}"/></svg>')
    return "".join(parts)


def document(config: Config, *, now: datetime, volume: Volume, backlog: Backlog,
             latency: Latency, breaches: list[BreachedItem], started: StartedByUs | None = None,
             spikes: dict[tuple[str, str], SpikeFigures] | None = None, voice: Voice | None = None) -> str:
    tz = zone(config.timezone)
    local_now = now.astimezone(tz).strftime("%a %d %b %Y %H:%M")
    since_day = parse_iso(latency["since"]).astimezone(tz).strftime("%d %b %Y")
    vol_lanes = list(volume["periods"][0]["lanes"]) if volume["periods"] else []
    bl_lanes = [_lane_key(g["group"]) for g in backlog["groups"]]
    colours = lane_colours(config, list(dict.fromkeys([*vol_lanes, *bl_lanes,
                                                        *(_lane_key(g["group"]) for g in latency["groups"])])))
    total = backlog["total"]
    lat_total = latency["total"]
    cards = [("Open", total["open"], False), ("Past the SLA", total["breached"], total["breached"] > 0),
             ("Unassigned", total["unassigned"], False), ("Oldest waiting", _dur(total["oldest_age_s"]), False),
             ("Answered", lat_total["responded"], False), ("Median first response", _dur(lat_total["median_s"]), False)]
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           '<meta name="referrer" content="no-referrer">',
           f"<title>socialscale report, {escape(local_now)}</title><style>{CSS}</style></head><body><main>",
           f"<h1>socialscale report</h1><p class=\"meta\">As of {escape(local_now)} ({_e(config.timezone)}) · "
           f"activity since {escape(since_day)}</p>",
           '<section><div class="cards">' + "".join(
               f'<div class="card{" alert" if bad else ""}" data-card="{escape(label)}">{escape(label)}<b>{value}</b></div>'
               for label, value, bad in cards) + "</div></section>"]

    columns = [(p["period"], p["period"][5:], p["lanes"]) for p in volume["periods"]]
    marks = {key: f"a spike: above {_n(f['threshold'])} (mean {_n(f['baseline_mean'])} + 3 sd of the 14 days before)"
             for key, f in (spikes or {}).items()}
    note = ('<p class="muted" id="spike-note">▲ and a red outline: a spike, more items than the 14 days before '
            "explain (count &gt; mean + 3 sd, and at least 5).</p>") if marks else ""
    out.append("<section><h2>Items per lane per day</h2>" + _legend(colours, vol_lanes) + note
               + _both(lambda w, sid: _stacked(sid, "Items per lane per day", columns, vol_lanes, colours, width=w,
                                               marks=marks), "volume"))
    vol_rows = [[_name(lane), str(sum(p["lanes"].get(lane, 0) for p in volume["periods"]))] for lane in vol_lanes]
    out.append(_table([("lane", ""), ("items", "n")], vol_rows, "volume-table") + "</section>")

    buckets = list(total["buckets"])
    bucket_columns = [(b, b, {_lane_key(g["group"]): g["buckets"][b] for g in backlog["groups"]}) for b in buckets]
    out.append("<section><h2>Waiting now, by age and lane</h2>" + _legend(colours, bl_lanes)
               + _both(lambda w, sid: _stacked(sid, "Open items by age and lane", bucket_columns, bl_lanes, colours,
                                               width=w, height=240), "backlog"))
    bl_rows = [[_name(_lane_key(g["group"])), str(g["open"]), *(str(g["buckets"][b]) for b in buckets),
                _dur(g["oldest_age_s"]), f'<span class="{"bad" if g["breached"] else ""}">{g["breached"]}</span>']
               for g in backlog["groups"]]
    out.append(_table([("lane", ""), ("open", "n"), *((escape(b), "n wide") for b in buckets), ("oldest", "n"),
                       ("past SLA", "n")], bl_rows, "backlog-table") + "</section>")

    out.append("<section><h2>First response per lane, against the SLA</h2>"
               '<p class="muted">Bar: median; pale bar: p90; dashed red line: the SLA.</p>'
               + _both(lambda w, sid: latency_chart(latency["groups"], config, colours, width=w, svg_id=sid), "latency"))
    lat_rows = [[_name(_lane_key(g["group"])), str(g["responded"]), _dur(g["median_s"]), _dur(g["p90_s"]),
                 _dur(g["max_s"]), format_share(g["within_sla"]), format_share(g["handoff_share"]),
                 format_share(g.get("negative_share"))] for g in latency["groups"]]
    out.append(_table([("lane", ""), ("answered", "n"), ("median", "n"), ("p90", "n"), ("max", "n wide"),
                       ("within SLA", "n"), ("handoffs", "n wide"), ("negative", "n wide")], lat_rows, "latency-table")
               + "</section>")
    if voice is not None:
        out.append("<section><h2>Share of voice</h2>"
                   '<p class="muted">Bar: the brand\'s share of all brand mentions; dark part: its negative mentions.</p>'
                   f'<div class="chart">{voice_chart(voice)}</div>')
        out.append(_table([("brand", ""), ("mentions", "n"), ("share", "n"), ("negative", "n")],
                          [[_e(b["brand"]), str(b["mentions"]), format_share(b["share"]),
                            format_share(b["negative_share"])] for b in voice["brands"]], "voice-table") + "</section>")

    if started is not None:
        out.append(_started_panel(started))

    breached = max(total["breached"], len(breaches))
    out.append(f"<section><h2>Past the SLA ({breached})</h2>")
    if breaches:
        rows = [_breach_row(item) for item in breaches[:BREACH_ROWS]]
        out.append(_table([("#", "n"), ("lane", "wide"), ("owner", "wide"), ("title", "title"), ("waiting", "n"),
                           ("SLA", "n wide"), ("over by", "n")], rows, "breaches"))
        if breached > len(rows):
            out.append(f'<p class="muted" id="more-breaches">and {breached - len(rows)} more, the oldest shown '
                       "(all: socialscale report breaches)</p>")
    else:
        out.append('<p class="muted" id="no-breaches">Nothing is past its SLA.</p>')
    out.append("</section><footer>Made by socialscale from its local database. Durations: median and p90 of "
               "first-response time (response − start); age = now − start.</footer></main></body></html>\n")
    return "".join(out)


def _started_panel(started: StartedByUs) -> str:
    """Conversations we started and the new people they drew in: catalyzed replies answered vs waiting."""
    answered, waiting, total = started["catalyzed_answered"], started["catalyzed_waiting"], started["catalyzed"]
    width = 600
    parts = []
    if total:
        a = round(width * answered / total)
        w = round(width * waiting / total)
        parts.append(f'<rect x="0" y="0" width="{a}" height="24" fill="#2e7d32"><title>answered {answered}</title></rect>')
        parts.append(f'<rect x="{a}" y="0" width="{w}" height="24" fill="#c62828"><title>waiting {waiting}</title></rect>')
    bar = (f'<svg id="started" role="img" aria-label="catalyzed replies answered and waiting" viewBox="0 0 {width} 24" '
           f'width="100%" height="24">{"".join(parts)}</svg>') if total else ""
    rows = [["conversations we started", str(started["conversations"])], ["catalyzed replies", str(total)],
            ["answered", str(answered)], ["waiting", f'<span class="{"bad" if waiting else ""}">{waiting}</span>']]
    return ('<section><h2>Conversations we started</h2><p class="muted">Replies from new people our own posts drew '
            "in (catalyzed replies): answered in green, waiting in red.</p>"
            f'<div class="chart">{bar}</div>' + _table([("", ""), ("count", "n")], rows, "started-table") + "</section>")


def _breach_row(item: BreachedItem) -> list[str]:
    title = _e(headline(item.get("title"), item.get("text")))
    link = safe_link(item.get("url"))
    if link:
        title = f'<a href="{escape(one_line(link, 2000), quote=True)}" rel="noopener noreferrer">{title}</a>'
    lane, owner = _name(item.get("lane") or NO_LANE), _e(item.get("owner") or "unassigned")
    title += f'<span class="sm">{lane} · {owner}</span>'  # lane and owner columns do not fit on a phone
    return [str(item["id"]), lane, owner, title,
            _dur(item["age_s"]), _dur(item["sla_s"]), f'<span class="bad">{_dur(item["over_s"])}</span>']
