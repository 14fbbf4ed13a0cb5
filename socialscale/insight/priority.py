"""Priority: which open item to answer first, as a documented score (docs/insight.md#priority).

    priority = 100 if breached else 0
             + 40 × time      (non-breached: age / SLA; breached: how far past, (age − SLA) / SLA, at most 1;
                               a lane without an SLA: age / 7 days, at most 1)
             + 25 × negativity (−sentiment when negative, else 0)
             + 20 × reach      (log10(1 + reach) / 4, at most 1: reach 9,999 and more count fully)
             + 15 × follow-up  (1 when the item follows up on a message of ours in its conversation)

A breached item always ranks above one that is not (its score is at least 100, the others' at
most 100); within each, the closer to (or further past) the SLA, the more negative, the more
seen, and a follow-up, the higher. Only open items waiting for an answer have a priority.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from socialscale.models import Config
from socialscale.timeutil import parse_iso

if TYPE_CHECKING:
    from socialscale.shapes import Priority, PriorityPart

WEIGHTS = {"time": 40.0, "negativity": 25.0, "reach": 20.0, "followup": 15.0}
BREACHED = 100.0
NO_SLA_SCALE_S = 7 * 86400
REACH_DECADES = 4.0


def parts(item: Mapping[str, Any], config: Config, now: datetime) -> Priority | None:
    """Each part of an open item's priority (0..1 before weighting) and the score; None when the item
    is not waiting for an answer (not open, a duplicate, ours, or in a lane that expects none)."""
    lane = config.lanes.get(str(item.get("lane") or ""))
    if (item.get("status") != "open" or item.get("duplicate_of") is not None or item.get("ours")
            or (lane is not None and not lane.respond)):
        return None
    age = max(0, int((now - parse_iso(str(item["start_at"]))).total_seconds()))
    sla = lane.sla_s if lane is not None else None
    breached = sla is not None and age > sla
    if sla is None:
        time = min(1.0, age / NO_SLA_SCALE_S)
    elif breached:
        time = min(1.0, (age - sla) / sla) if sla else 1.0
    else:
        time = age / sla if sla else 0.0
    sentiment = item.get("sentiment")
    negativity = max(0.0, -float(sentiment)) if sentiment is not None else 0.0
    reach = item.get("reach")
    seen = min(1.0, math.log10(1 + int(reach)) / REACH_DECADES) if reach else 0.0
    followup = 1.0 if item.get("followup") else 0.0
    values = {"time": time, "negativity": negativity, "reach": seen, "followup": followup}
    score = (BREACHED if breached else 0.0) + sum(WEIGHTS[k] * v for k, v in values.items())
    shares: dict[str, PriorityPart] = {k: {"value": round(v, 4), "weight": WEIGHTS[k], "points": round(WEIGHTS[k] * v, 1)}
                                       for k, v in values.items()}
    shares["breached"] = {"value": 1.0 if breached else 0.0, "weight": BREACHED, "points": BREACHED if breached else 0.0}
    return {"priority": round(score, 1), "breached": breached, "age_s": age, "sla_s": sla, "parts": shares}


def score(item: Mapping[str, Any], config: Config, now: datetime) -> float | None:
    found = parts(item, config, now)
    return None if found is None else float(found["priority"])


def ranked(items: list[dict[str, Any]], config: Config, now: datetime) -> list[dict[str, Any]]:
    """The items with their `priority` (None for those not waiting for an answer), highest first; items
    without one after, newest first, as a listing shows them (`items --sort priority`)."""
    scored = [{**item, "priority": score(item, config, now)} for item in items]
    waiting = sorted((i for i in scored if i["priority"] is not None),
                     key=lambda i: (-i["priority"], i["start_at"], i["id"]))
    return waiting + [i for i in scored if i["priority"] is None]


def describe_priority(found: Priority | None) -> str:
    """`128.5 = breached 100 + time 40×0.50 + negativity 25×0.48 + reach 20×0.35 + follow-up 15×0`."""
    if found is None:
        return "none (not waiting for an answer)"
    names = {"time": "time", "negativity": "negativity", "reach": "reach", "followup": "follow-up"}
    terms = [f"{names[k]} {p['weight']:g}×{p['value']:.2f}" for k, p in found["parts"].items() if k in names]
    head = "breached 100 + " if found["breached"] else ""
    return f"{found['priority']:g} = {head}{' + '.join(terms)}"
