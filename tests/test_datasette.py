"""`socialscale datasette`: the metadata describes the real database, and every canned query runs and agrees
with `socialscale report`."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from reportdata import Seed, seed_items

CONFIG = {"timezone": "UTC", "default_lane": "listening", "team": {"alice": {}, "bob": {}},
          "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "alice"},
                    "sales_prospecting": {"sla": "1d"}}}
QUERIES = {"backlog_by_lane", "breaches", "latency_by_lane", "next_response_by_lane", "conversations_by_lane",
           "volume_by_day", "spikes_by_lane", "share_of_voice", "negative_by_lane"}


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def seeded(write_config, tmp_path) -> datetime:
    """Items relative to the real clock (Datasette's queries use 'now'), ages far from bucket edges."""
    write_config(CONFIG)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    # (lane, owner, started hours ago, answered hours after start or None, status after)
    spec: list[tuple[str, str | None, float, float | None]] = [
        ("customer_service", "alice", 0.5, None), ("customer_service", None, 2.5, None),
        ("customer_service", "alice", 10, None), ("sales_prospecting", None, 50, None),
        ("sales_prospecting", "bob", 120, None), ("customer_service", None, 240, None), ("listening", None, 30, None),
    ]
    spec += [("customer_service", "alice", 24 * d + 6, 0.25 * d * d) for d in range(1, 10)]
    spec += [("sales_prospecting", "bob", 24 * d + 7, 3.0 * d) for d in (2, 5, 8, 12, 20, 40)]
    seed_items(tmp_path / "socialscale.yaml", now, [
        Seed(lane, owner, age, answer, via="email" if (i + 1) % 3 == 0 else "reply")
        for i, (lane, owner, age, answer) in enumerate(spec)])
    return now


def metadata(cli, *args: str) -> dict[str, Any]:
    result = cli("datasette", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def run(db: Path, sql: str, **params: Any) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def report(cli, now: datetime, *args: str) -> Any:
    result = cli("report", *args, "--now", iso(now), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_metadata_describes_every_table_and_column_of_the_real_database(cli, seeded, tmp_path):
    meta = metadata(cli)
    assert list(meta["databases"]) == ["test"]  # Datasette names a database after the file's stem
    db_meta = meta["databases"]["test"]
    assert set(db_meta["queries"]) == QUERIES
    conn = sqlite3.connect(tmp_path / "test.db")
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                        "AND name NOT LIKE 'items_fts%' AND name NOT LIKE 'sqlite_%'")]
    for name in names:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info([{name}])")]
        described = db_meta["tables"].get(name, {})
        assert described.get("description"), f"table {name} has no description"
        assert set(described.get("columns", {})) == set(columns), f"{name}: described columns differ"
    conn.close()
    assert set(db_meta["tables"]) == set(names)


def test_output_file_and_the_database_name_follow_db(cli, seeded, tmp_path):
    result = cli("--db", str(tmp_path / "public.db"), "datasette", "-o", "meta.json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "wrote meta.json" in result.stderr
    assert list(json.loads((tmp_path / "meta.json").read_text())["databases"]) == ["public"]


def test_backlog_and_breach_queries_agree_with_the_reports(cli, seeded, tmp_path):
    queries = metadata(cli)["databases"]["test"]["queries"]
    rows = {r["lane"]: r for r in run(tmp_path / "test.db", queries["backlog_by_lane"]["sql"])}
    backlog = report(cli, seeded, "backlog")
    assert set(rows) == {g["group"] for g in backlog["groups"] if g["open"]} == {"customer_service",
                                                                                "sales_prospecting"}
    for g in backlog["groups"]:
        if not g["open"]:
            continue
        row = rows[g["group"]]
        assert (row["open"], row["unassigned"], row["breached"]) == (g["open"], g["unassigned"], g["breached"])
        assert {b: row[b] for b in g["buckets"]} == g["buckets"]
        assert abs(row["oldest_age_s"] - g["oldest_age_s"]) <= 5  # SQLite's 'now' is a moment later
    # By hand: customer_service waits 0.5h, 2.5h, 10h, 240h (SLA 2h: three past it); sales 50h and 120h (1d: both).
    assert rows["customer_service"]["breached"] == 3 and rows["sales_prospecting"]["breached"] == 2
    assert rows["customer_service"][">7d"] == 1 and rows["customer_service"]["<1h"] == 1

    breaches = run(tmp_path / "test.db", queries["breaches"]["sql"])
    assert [r["id"] for r in breaches] == [b["id"] for b in report(cli, seeded, "breaches")]
    assert all(r["over_by_s"] > 0 for r in breaches)


def half_up(value: float | None) -> int | None:
    return None if value is None else int(math.floor(value + 0.5))


@pytest.mark.parametrize("days", ["", "7", "30", "365"])
def test_latency_query_matches_the_latency_report(cli, seeded, tmp_path, days):
    queries = metadata(cli)["databases"]["test"]["queries"]
    rows = {r["lane"]: r for r in run(tmp_path / "test.db", queries["latency_by_lane"]["sql"], days=days)}
    latency = report(cli, seeded, "latency", "--since", f"{days or 30}d")
    groups = {g["group"]: g for g in latency["groups"] if g["responded"]}
    assert set(rows) == set(groups) and groups
    for lane, g in groups.items():
        row = rows[lane]
        assert row["responded"] == g["responded"]
        assert half_up(row["median_s"]) == g["median_s"] and half_up(row["p90_s"]) == g["p90_s"]
        assert row["max_s"] == g["max_s"]
        assert row["within_sla"] == pytest.approx(g["within_sla"], abs=1e-4)
        assert row["handoff_share"] == pytest.approx(g["handoff_share"], abs=1e-4)
    if days == "365":  # by hand: sales answered after 6, 15, 24, 36, 60, 120 hours
        assert rows["sales_prospecting"]["median_s"] == 30 * 3600
        assert rows["sales_prospecting"]["p90_s"] == pytest.approx((60 + 0.5 * 60) * 3600)  # x[4] + .5 (x[5]-x[4])


def test_volume_query_counts_items_per_day_and_lane(cli, seeded, tmp_path):
    queries = metadata(cli)["databases"]["test"]["queries"]
    rows = run(tmp_path / "test.db", queries["volume_by_day"]["sql"], days="")
    got = {(r["day"], r["lane"]): r["items"] for r in rows}
    volume = report(cli, seeded, "volume", "--by", "day", "--since", "30d")
    want = {(p["period"], lane): n for p in volume["periods"] for lane, n in p["lanes"].items() if n}
    # The report's window starts at midnight; the query's 30 days back from now: compare the days both cover.
    first = min(day for day, _ in got)
    assert {k: v for k, v in want.items() if k[0] > first} == {k: v for k, v in got.items() if k[0] > first}
    assert sum(got.values()) == 21  # 22 items, less the sales item that started 40 days ago


@pytest.mark.skipif(importlib.util.find_spec("datasette") is None, reason="Datasette is not installed")
def test_datasette_itself_serves_every_canned_query(cli, seeded, tmp_path):
    from datasette.app import Datasette

    meta = metadata(cli)

    async def fetch() -> dict[str, Any]:
        ds = Datasette([str(tmp_path / "test.db")], metadata=meta)
        out = {}
        for name in [*QUERIES, "backlog", "items"]:
            response = await ds.client.get(f"/test/{name}.json?_shape=array")
            assert response.status_code == 200, (name, response.text[:500])
            out[name] = response.json()
        return out

    got = asyncio.run(fetch())
    assert len(got["breaches"]) == 5 and len(got["backlog"]) == 6  # the view is still reachable by its name
    assert {r["lane"] for r in got["latency_by_lane"]} == {"customer_service", "sales_prospecting"}
