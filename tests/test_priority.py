"""Priority on constructed cases: the score of each part, computed here from docs/insight.md's formula,
and the order it gives (breached first); `why` shows the parts."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from socialscale.config import validate
from socialscale.insight.priority import parts, score

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
LANES = {"listening": {"respond": False}, "customer_service": {"sla": "2h"}, "sales_prospecting": {"sla": "1d"},
         "social_marketing": {}}


@pytest.fixture(scope="module")
def config():
    from pathlib import Path

    return validate({"lanes": LANES}, file="test.yaml", base=Path("."))


def item(lane: str, age_h: float, sentiment: float | None = None, reach: int | None = None, **extra) -> dict:
    start = (NOW - timedelta(hours=age_h)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"lane": lane, "status": "open", "start_at": start, "sentiment": sentiment, "reach": reach,
            "duplicate_of": None, "ours": None, **extra}


def by_hand(breached: bool, time: float, sentiment: float | None, reach: int | None, followup: bool = False) -> float:
    negativity = -sentiment if sentiment is not None and sentiment < 0 else 0
    seen = min(1, math.log10(1 + reach) / 4) if reach else 0
    return round((100 if breached else 0) + 40 * time + 25 * negativity + 20 * seen + 15 * followup, 1)


CASES = {
    "breached, mildly negative": (item("customer_service", 3, -0.3, 100), by_hand(True, 0.5, -0.3, 100)),
    "long past its SLA": (item("customer_service", 10, None, None), by_hand(True, 1.0, None, None)),
    "angry and widely seen, not breached": (item("customer_service", 1, -0.9, 50_000), by_hand(False, 0.5, -0.9, 50_000)),
    "half its SLA, positive": (item("sales_prospecting", 12, 0.8, 3), by_hand(False, 0.5, 0.8, 3)),
    "a follow-up": (item("sales_prospecting", 12, 0.8, 3, followup=True), by_hand(False, 0.5, 0.8, 3, True)),
    "no SLA, two weeks old": (item("social_marketing", 14 * 24, 0.0, 0), by_hand(False, 1.0, 0.0, 0)),
    "no SLA, a day old": (item("social_marketing", 24, None, 9), by_hand(False, 1 / 7, None, 9)),
}


def test_each_case_scores_as_the_formula_says(config):
    for name, (it, want) in CASES.items():
        assert score(it, config, NOW) == pytest.approx(want, abs=0.05), name


def test_breached_items_come_first_then_the_rest_by_score(config):
    ranked = sorted(CASES, key=lambda n: -score(CASES[n][0], config, NOW))
    assert ranked[:2] == ["long past its SLA", "breached, mildly negative"]
    assert ranked[2] == "angry and widely seen, not breached"  # 20 + 22.5 + 20 = 62.5
    assert ranked.index("a follow-up") < ranked.index("half its SLA, positive")


def test_items_not_waiting_have_no_priority(config):
    assert score(item("listening", 5, -1.0, 10**6), config, NOW) is None
    assert score(item("customer_service", 5, status="responded"), config, NOW) is None
    assert score(item("customer_service", 5, duplicate_of=3), config, NOW) is None
    assert score(item("customer_service", 5, ours="alice"), config, NOW) is None


def test_parts_add_up_to_the_score(config):
    found = parts(CASES["breached, mildly negative"][0], config, NOW)
    assert found is not None and found["breached"] is True
    total = sum(p["points"] for p in found["parts"].values())
    assert total == pytest.approx(found["priority"], abs=0.2)
    assert found["parts"]["negativity"] == {"value": 0.3, "weight": 25.0, "points": 7.5}


def test_why_shows_sentiment_reach_and_priority(cli, write_config, tmp_path):
    write_config({"lanes": LANES})
    from socialscale.store.db import open_db

    open_db(tmp_path / "test.db").conn.close()
    start = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(tmp_path / "test.db") as conn:
        conn.execute("INSERT INTO items (source, guid, text, first_seen_at, updated_at, start_at, content_hash, lane, "
                     "sentiment, reach) VALUES ('s', 'g', 'awful', ?, ?, ?, 'h', 'customer_service', -0.6, 99)",
                     (start, start, start))
    out = cli("why", "1").stdout
    assert "sentiment: -0.60 (negative) · reach: 99" in out
    assert "priority: " in out and "= breached 100 + time 40×0.50 + negativity 25×0.60 + reach 20×0.50" in out
    data = json.loads(cli("why", "1", "--json").stdout)
    assert data["priority"]["breached"] is True and data["reach"] == 99
    assert data["sentiment"] == {"score": -0.6, "label": "negative", "lang": None}


def test_breaches_and_the_backlog_sort_by_priority(cli, write_config, tmp_path):
    write_config({"lanes": LANES})
    from socialscale.store.db import open_db

    open_db(tmp_path / "test.db").conn.close()
    # (lane, age in hours, sentiment, reach): all in customer_service (SLA 2h) but the last
    rows = [("customer_service", 30, None, None), ("customer_service", 3, -0.9, 20_000),
            ("customer_service", 5, 0.5, 0), ("customer_service", 1, -1.0, 10**6), ("sales_prospecting", 2, -0.2, 5)]
    with sqlite3.connect(tmp_path / "test.db") as conn:
        for n, (lane, age, sentiment, reach) in enumerate(rows):
            start = (NOW - timedelta(hours=age)).strftime("%Y-%m-%dT%H:%M:%SZ")
            conn.execute("INSERT INTO items (source, guid, text, first_seen_at, updated_at, start_at, content_hash, "
                         "lane, sentiment, reach) VALUES ('s', ?, 'x', ?, ?, ?, 'h', ?, ?, ?)",
                         (f"g{n}", start, start, start, lane, sentiment, reach))
    want = {n + 1: by_hand(age > {"customer_service": 2, "sales_prospecting": 24}[lane],
                           min(1, (age - 2) / 2) if lane == "customer_service" and age > 2 else
                           age / (2 if lane == "customer_service" else 24), sentiment, reach)
            for n, (lane, age, sentiment, reach) in enumerate(rows)}
    now = ["--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--json"]
    by_age = json.loads(cli("report", "breaches", *now).stdout)
    assert [b["id"] for b in by_age] == [1, 3, 2]  # oldest first
    by_priority = json.loads(cli("report", "breaches", "--sort", "priority", *now).stdout)
    assert [b["id"] for b in by_priority] == sorted([1, 2, 3], key=lambda i: -want[i]) == [2, 1, 3]
    assert {b["id"]: b["priority"] for b in by_priority} == {i: want[i] for i in (1, 2, 3)}
    assert [b["id"] for b in json.loads(cli("report", "breaches", "--sort", "priority", "--limit", "1", *now).stdout)] == [2]
    backlog = json.loads(cli("report", "backlog", "--sort", "priority", *now).stdout)
    first = {g["group"]: [i["id"] for i in g["oldest"]] for g in backlog["groups"]}
    assert first["customer_service"] == [2, 1, 3]  # the three of highest priority: 4 (not breached) is left out
    assert want[4] < want[3]
    table = cli("report", "breaches", "--sort", "priority", "--now", now[1]).stdout
    assert "highest priority first" in table and "priority" in table


def test_a_notify_target_may_ask_only_for_high_priority_items(server, cli, write_config, tmp_path, monkeypatch):
    from test_notify import LANES as NOTIFY_LANES
    from test_notify import hook, received, seed

    monkeypatch.setenv("OPS_URL", hook(server))
    monkeypatch.setenv("ALL_URL", hook(server, "all"))
    write_config({"timezone": "UTC", "team": {"alice": {}, "bob": {}}, "lanes": NOTIFY_LANES,
                  "notify": [{"name": "ops", "url_env": "OPS_URL", "on": ["breach"], "min_priority": 125},
                             {"name": "all", "url_env": "ALL_URL", "on": ["breach"]}]})
    # at 13:00 with an SLA of 2h: 7h old is 5h past it (time part 1: 140); the other starts when first seen
    # (10:00:05, its published time being later), so it is 1h past (0.5: 120)
    seed(tmp_path, [("Very late", "customer_service", "alice", "2024-05-01T06:00:00Z"),
                    ("A bit late", "customer_service", "alice", "2024-05-01T10:30:00Z")])
    assert cli("notify", "--now", "2024-05-01T13:00:00Z").exit_code == 0
    assert [m["message"].count("Very late") + m["message"].count("A bit late") for m in received(server)] == [1]
    assert "Very late" in received(server)[0]["message"]
    assert "A bit late" in received(server, "all")[0]["message"] and "Very late" in received(server, "all")[0]["message"]
    bad = write_config({"lanes": NOTIFY_LANES, "notify": [{"url_env": "X", "min_priority": "high"}]})
    result = cli("--config", str(bad), "check")
    assert result.exit_code == 2 and "notify[0].min_priority: expected a priority score" in result.stderr
