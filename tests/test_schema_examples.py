"""docs/schema.md's example queries run as written on a real database, and the first agrees with
`socialscale report backlog` (every documented example is run by a test)."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from reportdata import Seed, seed_items

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"timezone": "UTC", "default_lane": "listening", "team": {"alice": {}, "bob": {}},
          "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "alice"},
                    "sales_prospecting": {"sla": "1d"}}}


def examples() -> list[str]:
    """Each statement of the ```sql blocks of docs/schema.md, with its comment lines."""
    text = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [s.strip() for block in blocks for s in block.split(";") if s.strip()]


def test_every_example_query_runs_and_the_backlog_per_lane_is_the_reports(cli, write_config, tmp_path):
    write_config(CONFIG)
    now = datetime.now(timezone.utc).replace(microsecond=0)  # the views read the real clock
    seed_items(tmp_path / "socialscale.yaml", now, [
        Seed("customer_service", "alice", 0.5), Seed("customer_service", None, 5), Seed("sales_prospecting", None, 30),
        Seed("customer_service", "alice", 30, 1.0), Seed("sales_prospecting", "bob", 60, 3.0, via="email"),
        Seed("listening", None, 3)])
    statements = examples()
    assert len(statements) >= 8, "the example queries of docs/schema.md were not found"
    conn = sqlite3.connect(tmp_path / "test.db")
    try:
        results = [conn.execute(sql).fetchall() for sql in statements]
    finally:
        conn.close()
    assert statements[0].splitlines()[0] == "-- The backlog per lane: the numbers of `socialscale report backlog`."
    by_lane = {row[0]: row[1:3] for row in results[0]}  # lane -> (open, unassigned)
    report = cli("report", "backlog", "--json")
    assert report.exit_code == 0, report.stderr
    groups = {g["group"]: (g["open"], g["unassigned"]) for g in json.loads(report.stdout)["groups"] if g["open"]}
    assert by_lane == groups == {"customer_service": (2, 1), "sales_prospecting": (1, 1)}
