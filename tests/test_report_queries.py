"""The reports' SQL against their definitions (docs/reports.md), computed here in plain Python from the rows.

The reports read their figures in several queries shaped for the indexes (benchmarks/README.md, "Reports,
third round"); these tests draw a few hundred items at random, with ages on and around every bucket edge
and SLA, and check that what the queries add up to is what the definitions give, item by item, on both
backends, for every grouping and filter.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

import socialscale
from socialscale import reports
from socialscale.store.db import transaction
from socialscale.timeutil import utc_iso

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
LANES = {"listening": None, "customer_service": 7200, "client_relations": 14400, "publishing": None,
         "sales_prospecting": 86400}
QUIET = {"listening"}
TEAM = ["alice", "bob"]
SOURCES = ["s1", "s2", "s3"]
EDGES = (3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400)
BUCKETS = ("<1h", "1-4h", "4-24h", "1-3d", "3-7d", ">7d")
COLUMNS = ("id", "source", "guid", "title", "text", "first_seen_at", "updated_at", "start_at", "lane", "owner",
           "status", "duplicate_of", "ours", "followup", "content_hash", "sentiment")


def _ages(rng: random.Random) -> int:
    """An age in seconds: often exactly on a bucket edge or an SLA, or one second either side."""
    if rng.random() < 0.4:
        return max(0, rng.choice([*EDGES, 7200, 14400, 86400, 30 * 86400]) + rng.choice([-1, 0, 1]))
    return rng.randrange(40 * 86400)


def _rows(seed: int, count: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        start = utc_iso(NOW - timedelta(seconds=_ages(rng)))
        lane = rng.choice([*LANES, None])
        rows.append({"id": n, "source": rng.choice(SOURCES), "guid": f"g{n}", "title": f"t{n}", "text": "",
                     "first_seen_at": start, "updated_at": start, "start_at": start,
                     "lane": lane, "owner": rng.choice([*TEAM, None]),
                     "status": rng.choice(["open"] * 6 + ["closed", "responded", "ignored"]),
                     "duplicate_of": 1 if n > 1 and rng.random() < 0.05 else None,
                     "ours": "alice" if rng.random() < 0.05 else None,
                     "followup": int(rng.random() < 0.2), "content_hash": f"h{n}",
                     # publishing's items are never scored (not English, say): its share is None
                     "sentiment": None if lane == "publishing" else
                     rng.choice([None, None, -0.05, -0.0499, 0.0, round(rng.uniform(-1, 1), 3)])})
    return rows


@pytest.fixture
def dataset(database, tmp_path):
    """A database holding _rows(7), and its config (the lanes above, the team, the sources)."""
    config = {"database": database, "team": {m: {} for m in TEAM},
              "lanes": {name: ({"respond": False} if name in QUIET else {"sla": f"{sla}s"} if sla else {})
                        for name, sla in LANES.items()},
              "sources": [{"name": s, "type": "feed", "url": f"https://example.com/{s}"} for s in SOURCES]}
    path = tmp_path / "socialscale.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    rows = _rows(7)
    session = socialscale.open(path)
    with transaction(session.db) as db:
        db.conn.executemany(f"INSERT INTO items ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            [[row[c] for c in COLUMNS] for row in rows])
    yield session, rows
    session.close()


def _age(row: dict[str, Any]) -> int:
    return int((NOW - datetime.fromisoformat(row["start_at"].replace("Z", "+00:00"))).total_seconds())


def _expected_backlog(rows: list[dict[str, Any]], by: str, **filters: str) -> dict[Any, dict[str, Any]]:
    """The backlog per group by the definitions: open, not a duplicate, not ours, in a lane that expects an
    answer (or none yet); age buckets by `age < edge`; breached: age > the lane's SLA."""
    out: dict[Any, dict[str, Any]] = {}
    for row in rows:
        if (row["status"] != "open" or row["duplicate_of"] is not None or row["ours"] is not None
                or row["lane"] in QUIET or any(row[k] != v for k, v in filters.items())):
            continue
        age, sla = _age(row), LANES.get(row["lane"] or "")
        figures = out.setdefault(row[by], {"open": 0, "unassigned": 0, "buckets": dict.fromkeys(BUCKETS, 0),
                                           "oldest_age_s": 0, "breached": 0, "followups": 0})
        figures["open"] += 1
        figures["unassigned"] += row["owner"] is None
        figures["buckets"][BUCKETS[sum(age >= edge for edge in EDGES)]] += 1
        figures["oldest_age_s"] = max(figures["oldest_age_s"], age)
        figures["breached"] += sla is not None and age > sla
        figures["followups"] += row["followup"]
    return out


@pytest.mark.parametrize("by", ["lane", "owner", "source"])
@pytest.mark.parametrize("filters", [{}, {"owner": "alice"}, {"source": "s2"}, {"lane": "customer_service"}])
def test_the_backlog_counts_what_its_definition_counts(dataset, by, filters):
    session, rows = dataset
    got = reports.backlog(session.db, session.config, now=NOW, by=by, **filters)
    expected = _expected_backlog(rows, by, **filters)
    figures = {g["group"]: {k: v for k, v in g.items() if k not in ("group", "oldest")} for g in got["groups"]}
    assert {g: f for g, f in figures.items() if f["open"]} == expected
    assert got["total"]["open"] == sum(f["open"] for f in expected.values()) > 0
    for key in ("unassigned", "breached", "followups"):
        assert got["total"][key] == sum(f[key] for f in expected.values()), key
    assert got["total"]["buckets"] == {b: sum(f["buckets"][b] for f in expected.values()) for b in BUCKETS}


def _expected_negative(rows: list[dict[str, Any]], by: str, since: datetime) -> dict[Any, float | None]:
    """Per group: negative items among the scored ones that started in [since, now + 1s), not duplicates, not ours."""
    counts: dict[Any, list[int]] = {}
    for row in rows:
        start = datetime.fromisoformat(row["start_at"].replace("Z", "+00:00"))
        if row["duplicate_of"] is not None or row["ours"] is not None or not since <= start <= NOW:
            continue
        pair = counts.setdefault(row[by], [0, 0])
        if row["sentiment"] is not None:
            pair[0] += 1
            pair[1] += row["sentiment"] <= -0.05
    return {g: (round(neg / scored, 4) if scored else None) for g, (scored, neg) in counts.items()}


@pytest.mark.parametrize("by", ["lane", "owner", "source"])
def test_latency_s_negative_share_is_what_its_definition_gives(dataset, by):
    """Unscored items are left out before grouping: a group of unscored items only still shows no share."""
    session, rows = dataset
    got = reports.latency(session.db, session.config, now=NOW, by=by, since="30d")
    expected = _expected_negative(rows, by, NOW - timedelta(days=30))
    if by == "lane":  # the case is in the data
        assert expected["publishing"] is None and "publishing" in {g["group"] for g in got["groups"]}
    assert {g["group"]: g["negative_share"] for g in got["groups"]} == {g["group"]: expected.get(g["group"])
                                                                          for g in got["groups"]}
    scored = [r for r in rows if r["sentiment"] is not None and r["duplicate_of"] is None and r["ours"] is None
              and NOW - timedelta(days=30) <= datetime.fromisoformat(r["start_at"].replace("Z", "+00:00")) <= NOW]
    assert got["total"]["negative_share"] == round(sum(r["sentiment"] <= -0.05 for r in scored) / len(scored), 4)
