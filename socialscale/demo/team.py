"""The demo team's part: answers to some items with realistic delays, through the workflow core.

The same functions `socialscale respond/close/ignore` call, so the reports that follow are the
real reports over a real history.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

# lane -> (share answered, median first-response time in minutes, share closed after answering)
HABITS = {
    "customer_service": (0.75, 80, 0.6),
    "client_relations": (0.85, 150, 0.5),
    "sales_prospecting": (0.6, 420, 0.3),
    "social_marketing": (0.4, 600, 0.5),
}
VIAS = ["reply"] * 14 + ["dm"] * 3 + ["email"] * 2 + ["phone"]


def play_team(config_path: Path, now: datetime, seed: int = 11) -> int:
    """Record responses for a share of the demo's items; returns how many were answered."""
    import socialscale
    from socialscale import workflow
    from socialscale.store.filters import ItemFilter
    from socialscale.store.items import query_items
    from socialscale.timeutil import parse_iso

    rng = random.Random(seed)
    answered = 0
    with socialscale.open(config_path) as session:
        db, config = session.db, session.config
        for item in reversed(query_items(db, ItemFilter(status="open"))):
            habit = HABITS.get(item["lane"] or "")
            if habit is None or item["duplicate_of"] or item["ours"] or item["conversation_id"] != item["id"]:
                continue  # the sample conversation (demo/data.py THREAD) is left as it is: it waits
            share, median_min, close_share = habit
            start = parse_iso(item["start_at"])
            roll = rng.random()
            if roll > share:
                if roll > 0.97:
                    workflow.ignore(db, config, [item["id"]], actor="alice", now=now, note="spam")
                continue
            delay = timedelta(minutes=max(3.0, rng.lognormvariate(0, 0.9) * median_min))
            when = start + delay
            if when >= now:
                continue  # not answered yet: it waits in the backlog
            owner = item["owner"] or "alice"
            workflow.respond(db, config, [item["id"]], by=owner, now=now, at=when, via=rng.choice(VIAS))
            answered += 1
            if rng.random() < close_share:
                workflow.close(db, config, [item["id"]], actor=owner, now=now, at=min(now, when + timedelta(hours=1)))
    return answered
