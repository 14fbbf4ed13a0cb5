"""The SQL views `backlog` and `first_responses` give the same numbers as the reports (at the real now)."""

from __future__ import annotations

import sqlite3
import statistics

import pytest
from reportdata import CONFIG, build

import socialscale
from socialscale import reports
from socialscale.timeutil import now_utc


@pytest.fixture
def ids(cli, write_config, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    write_config(CONFIG)
    return build(cli, tmp_path)


def test_backlog_view_matches_the_report(ids, tmp_path):
    session = socialscale.open(tmp_path / "socialscale.yaml")
    config, db = session.config, session.db
    conn = sqlite3.connect(tmp_path / "test.db")  # what Datasette or the sqlite3 shell sees
    for by in ("lane", "owner", "source"):
        data = reports.backlog(db, config, now=now_utc(), by=by)
        view = {row[0]: row[1:] for row in conn.execute(
            f"SELECT {by}, COUNT(*), SUM(owner IS NULL), SUM(breached), MAX(age_s) FROM backlog GROUP BY {by}")}
        groups = {g["group"]: g for g in data["groups"] if g["open"]}
        assert set(view) == set(groups), by
        for name, (count, unassigned, breached, oldest) in view.items():
            g = groups[name]
            assert (count, unassigned, breached) == (g["open"], g["unassigned"], g["breached"])
            assert abs(oldest - g["oldest_age_s"]) <= 2  # the view's clock and ours may be a second apart
    ids_in_view = {row[0] for row in conn.execute("SELECT id FROM backlog")}
    assert ids_in_view == {ids[k] for k in "ABCDEFGK"}  # no duplicate (I), ours (J), listening (H), answered


def test_first_responses_view_matches_the_latency_report(ids, tmp_path):
    session = socialscale.open(tmp_path / "socialscale.yaml")
    config, db = session.config, session.db
    conn = sqlite3.connect(tmp_path / "test.db")
    rows = conn.execute("SELECT id, lane, owner, source, latency_s, detection_lag_s, within_sla, handoff "
                        "FROM first_responses").fetchall()
    assert {r[0] for r in rows} == {ids[k] for k in "LMNOQRS"}  # not P (ignored), not I (a duplicate)
    for by, column in (("lane", 1), ("owner", 2), ("source", 3)):
        data = reports.latency(db, config, now=now_utc(), by=by, since="2000-01-01")
        for g in data["groups"]:
            mine = [r for r in rows if r[column] == g["group"]]
            assert g["responded"] == len(mine), (by, g["group"])
            if not mine:
                continue
            latencies = sorted(r[4] for r in mine)
            p90 = latencies[0] if len(latencies) == 1 else statistics.quantiles(latencies, n=10, method="inclusive")[8]
            with_sla = [r[6] for r in mine if r[6] is not None]
            assert g["median_s"] == round(statistics.median(latencies) + 0.001)
            assert g["p90_s"] == round(p90 + 0.001)
            assert g["max_s"] == max(latencies)
            assert g["within_sla"] == (round(sum(with_sla) / len(with_sla), 4) if with_sla else None)
            assert g["handoff_share"] == round(sum(r[7] for r in mine) / len(mine), 4)
            assert g["median_detection_lag_s"] == round(statistics.median(r[5] for r in mine) + 0.001)
