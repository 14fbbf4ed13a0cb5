"""`report spikes` on constructed volumes and `report voice` with items naming two brands; the
expected figures are computed here, independently of socialscale's code."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from socialscale.store.db import open_db

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
LANES = {"listening": {"respond": False}, "customer_service": {"sla": "2h"}, "sales_prospecting": {"sla": "1d"},
         "social_marketing": {}, "publishing": {}, "client_relations": {}}
# lane -> (current window's count, counts of the 7 baseline windows, newest first)
VOLUMES = {
    "customer_service": (10, [2, 3, 2, 3, 2, 3, 2]),  # a spike
    "sales_prospecting": (6, [5, 6, 5, 6, 5, 6, 5]),  # a steady series
    "social_marketing": (5, [4, 4, 4, 4, 4, 4, 4]),  # zero spread: any rise is a spike, 5 is enough
    "publishing": (4, [0, 0, 0, 0, 0, 0, 0]),  # above the baseline but fewer than 5 items
    "client_relations": (4, [4, 4, 4, 4, 4, 4, 4]),  # zero spread, no rise
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def insert(db_path: Path, rows: list[dict[str, Any]], prefix: str = "g") -> None:
    db = open_db(db_path)
    db.conn.close()
    with sqlite3.connect(db_path) as conn:
        for n, row in enumerate(rows):
            start = iso(row["start"])
            conn.execute("INSERT INTO items (source, guid, title, text, first_seen_at, updated_at, start_at, "
                         "content_hash, lane, tags, rules, brands, sentiment, duplicate_of, ours) "
                         "VALUES ('s', ?, '', ?, ?, ?, ?, 'h', ?, ?, ?, ?, ?, ?, ?)",
                         (f"{prefix}{n}", row.get("text", ""), start, start, start, row.get("lane"),
                          json.dumps(row.get("tags", [])), json.dumps(row.get("rules", [])),
                          json.dumps(row.get("brands", [])), row.get("sentiment"), row.get("duplicate_of"),
                          row.get("ours")))


def volume_rows() -> list[dict[str, Any]]:
    rows = []
    for lane, (current, baseline) in VOLUMES.items():
        for j, count in enumerate([current, *baseline]):
            for m in range(count):  # spread inside window j: [now - (j+1) days, now - j days)
                start = NOW - timedelta(days=j, minutes=30 + 60 * m)
                rows.append({"lane": lane, "start": start, "tags": ["urgent"] if lane == "customer_service" else [],
                             "rules": [f"rule-{lane}"]})
    # left out of every count: a duplicate and one of our own posts in the current window
    rows.append({"lane": "publishing", "start": NOW - timedelta(hours=1), "duplicate_of": 1})
    rows.append({"lane": "publishing", "start": NOW - timedelta(hours=1), "ours": "alice"})
    return rows


def expected(current: int, baseline: list[int], k: float) -> dict[str, Any]:
    mean = sum(baseline) / len(baseline)
    sd = math.sqrt(sum((x - mean) ** 2 for x in baseline) / len(baseline))  # population sd
    threshold = mean + k * sd
    return {"count": current, "baseline_mean": round(mean, 4), "baseline_sd": round(sd, 4),
            "threshold": round(threshold, 4), "spike": current > threshold and current >= 5}


@pytest.fixture
def volumes(write_config, tmp_path):
    write_config({"lanes": LANES, "team": {"alice": {}}})
    insert(tmp_path / "test.db", volume_rows())


def report(cli, *args: str) -> Any:
    result = cli("report", *args, "--now", iso(NOW), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_spikes_by_lane_follow_the_formula(cli, volumes):
    data = report(cli, "spikes", "--window", "1d", "--baseline", "7d", "--k", "2")
    assert (data["now"], data["by"], data["window_s"], data["baseline_windows"]) == (iso(NOW), "lane", 86400, 7)
    groups = {g["group"]: g for g in data["groups"]}
    for lane, (current, baseline) in VOLUMES.items():
        figures = {key: groups[lane][key] for key in ("count", "baseline_mean", "baseline_sd", "threshold", "spike")}
        assert figures == expected(current, baseline, 2.0), lane
    assert [s["group"] for s in data["spikes"]] == ["customer_service", "social_marketing"]
    assert set(data["spikes"][0]) == {"group", "count", "baseline_mean", "baseline_sd", "threshold"}


def test_spikes_by_tag_and_rule_and_a_larger_k(cli, volumes):
    by_tag = report(cli, "spikes", "--by", "tag", "--baseline", "7d")
    assert [s["group"] for s in by_tag["spikes"]] == ["urgent"]
    assert by_tag["spikes"][0] == {"group": "urgent", **{k: v for k, v in expected(10, [2, 3, 2, 3, 2, 3, 2], 3.0).items()
                                                         if k != "spike"}}
    by_rule = report(cli, "spikes", "--by", "rule", "--baseline", "7d", "--k", "20")
    assert [s["group"] for s in by_rule["spikes"]] == ["rule-social_marketing"]  # zero spread: any k


def test_spikes_table_csv_and_bad_options(cli, volumes):
    table = cli("report", "spikes", "--baseline", "7d", "--now", iso(NOW)).stdout
    assert "customer_service" in table and "SPIKE" in table
    csv = cli("report", "spikes", "--baseline", "7d", "--now", iso(NOW), "--format", "csv").stdout.splitlines()
    assert csv[0] == "group,count,baseline_mean,baseline_sd,threshold,spike"
    bad = cli("report", "spikes", "--window", "2d", "--baseline", "1d")
    assert bad.exit_code == 2 and "--baseline: expected at least one window" in bad.stderr
    assert cli("report", "spikes", "--window", "soon").exit_code == 2


BRANDS = {"acme": {"terms": ["acme"], "ours": True}, "globex": {"terms": ["globex"]}, "initech": {"terms": ["initech"]}}
POSTS = [
    "Acme support is awful, switching to Globex",  # both brands
    "Globex or Acme for a small warehouse? Both look great",  # both brands
    "Acme fixed my issue, thank you!",
    "Globex is terrible and slow",
    "Globex is fine I guess",
    "Nothing about any brand here",
    "Initech who?",
]


def test_voice_counts_an_item_for_every_brand_it_names(cli, write_config, tmp_path):
    write_config({"lanes": LANES, "brands": BRANDS})
    insert(tmp_path / "test.db", [{"text": t, "start": NOW - timedelta(days=2, hours=n)} for n, t in enumerate(POSTS)]
           + [{"text": "Acme from long ago", "start": NOW - timedelta(days=60)}])
    assert cli("tag").exit_code == 0
    reference = SentimentIntensityAnalyzer()
    mentions: dict[str, int] = {}
    negative: dict[str, int] = {}
    for text in POSTS:
        for brand in BRANDS:
            if brand in text.lower():
                mentions[brand] = mentions.get(brand, 0) + 1
                negative[brand] = negative.get(brand, 0) + (reference.polarity_scores(text)["compound"] <= -0.05)
    whole = sum(mentions.values())
    data = report(cli, "voice", "--since", "30d")
    assert data["since"] == iso(NOW - timedelta(days=30))
    assert data["brands"] == [{"brand": b, "ours": b == "acme", "mentions": mentions[b],
                               "share": round(mentions[b] / whole, 4),
                               "negative_share": round(negative[b] / mentions[b], 4)} for b in BRANDS]
    assert mentions == {"acme": 3, "globex": 4, "initech": 1} and negative["globex"] >= 1
    assert sum(b["share"] for b in data["brands"]) == pytest.approx(1, abs=1e-3)
    weekly = report(cli, "voice", "--since", "30d", "--by", "week")
    assert sum(b["mentions"] for w in weekly["weeks"] for b in w["brands"] if b["brand"] == "acme") == 3
    assert weekly["brands"] == data["brands"]
    csv = cli("report", "voice", "--now", iso(NOW), "--format", "csv").stdout.splitlines()
    assert csv[0] == "period,brand,ours,mentions,share,negative_share" and csv[1].startswith("total,acme,True,3,")


def test_voice_without_brands_says_how_to_configure_them(cli, write_config):
    write_config({"lanes": LANES})
    result = cli("report", "voice")
    assert result.exit_code == 2 and "no brands configured: add `brands:`" in result.stderr


def test_notify_sends_each_spike_once_per_group_and_window(server, cli, write_config, tmp_path, monkeypatch):
    from test_notify import hook, received

    monkeypatch.setenv("OPS_URL", hook(server))
    monkeypatch.setenv("SALES_URL", hook(server, "sales"))
    write_config({"lanes": LANES, "team": {"alice": {}},
                  "notify": [{"name": "ops", "url_env": "OPS_URL", "on": ["spike"]},
                             {"name": "sales", "url_env": "SALES_URL", "on": ["spike"], "lanes": ["sales_prospecting"]}]})
    insert(tmp_path / "test.db", volume_rows())  # alerts use the default report: 1d against 14 days, k = 3
    first = cli("notify", "--now", iso(NOW), "--json")
    assert first.exit_code == 0, first.stderr
    sent = received(server)
    # over 14 windows social_marketing's baseline has spread (7 of 4, 7 of 0): only customer_service spikes
    baseline = [2, 3, 2, 3, 2, 3, 2] + [0] * 7
    figures = expected(10, baseline, 3.0)
    assert len(sent) == 1 and sent[0]["title"] == "socialscale: 1 spike in the last 1d"
    assert sent[0]["message"] == (f"customer_service: 10 items in the last 1d (the 14 before: mean "
                                  f"{figures['baseline_mean']:g}, sd {figures['baseline_sd']:g}; "
                                  f"threshold {figures['threshold']:g})")
    assert received(server, "sales") == []  # its lane did not spike
    later = NOW + timedelta(hours=3)  # same UTC day: the same spikes are not sent again
    assert cli("notify", "--now", iso(later)).exit_code == 0
    assert len(received(server)) == 1
    with sqlite3.connect(tmp_path / "test.db") as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM alerts WHERE kind = 'spike' AND status = 'sent'")]
    day = int(NOW.timestamp()) // 86400
    assert keys == [f"lane:customer_service:{day}"]


def test_the_datasette_queries_agree_with_spikes_and_voice(cli, write_config, tmp_path, monkeypatch):
    from socialscale.store.datasette import QUERIES

    real_now = datetime.now(timezone.utc).replace(microsecond=0)
    monkeypatch.setattr(sys.modules[__name__], "NOW", real_now)  # the queries run at the real 'now'
    write_config({"lanes": LANES, "team": {"alice": {}}, "brands": BRANDS})
    insert(tmp_path / "test.db", [{"text": t, "start": real_now - timedelta(days=2, minutes=10 + n)}
                                  for n, t in enumerate(POSTS)], prefix="post")
    assert cli("tag", "--all").exit_code == 0  # brands and sentiment; the volumes keep the lanes given here
    insert(tmp_path / "test.db", volume_rows())
    spikes = report(cli, "spikes", "--baseline", "14d")
    voice = report(cli, "voice", "--since", "30d")
    with sqlite3.connect(tmp_path / "test.db") as conn:
        conn.row_factory = sqlite3.Row
        canned = {r["lane"]: dict(r) for r in conn.execute(
            QUERIES["spikes_by_lane"]["sql"], {"window_days": "", "baseline_windows": "", "k": ""})}
        shares = [dict(r) for r in conn.execute(QUERIES["share_of_voice"]["sql"], {"days": ""})]
    for g in spikes["groups"]:
        if g["group"] in canned:
            row = canned[g["group"]]
            assert (row["count"], bool(row["spike"])) == (g["count"], g["spike"]), g["group"]
            assert row["baseline_mean"] == pytest.approx(g["baseline_mean"], abs=1e-4)
            assert row["baseline_variance"] == pytest.approx(g["baseline_sd"] ** 2, abs=1e-3)
    assert {r["brand"]: (r["mentions"], r["share"], r["negative_share"]) for r in shares} == {
        b["brand"]: (b["mentions"], b["share"], b["negative_share"]) for b in voice["brands"] if b["mentions"]}


def test_the_html_report_marks_spikes_and_draws_share_of_voice(cli, write_config, tmp_path):
    import re

    write_config({"lanes": LANES, "team": {"alice": {}}, "brands": BRANDS})
    insert(tmp_path / "test.db", [{"text": t, "start": NOW - timedelta(days=2, minutes=10 + n), "lane": "listening"}
                                  for n, t in enumerate(POSTS)], prefix="post")
    assert cli("tag", "--all").exit_code == 0  # brands and sentiment; the volumes keep the lanes given here
    insert(tmp_path / "test.db", volume_rows())
    html = cli("report", "html", "--now", iso(NOW), "--since", "30d").stdout
    # Each day of the chart against the 14 days before it, computed here from the constructed volumes.
    want = set()
    series = {lane: [current, *baseline] for lane, (current, baseline) in VOLUMES.items()}
    series["listening"] = [0, 0, len(POSTS)]  # the posts, two days before NOW
    for lane, counts in series.items():
        by_day = counts + [0] * 50  # index d: the day d days before NOW's day
        for d in range(30):
            figures = expected(by_day[d], by_day[d + 1:d + 15], 3.0)
            if figures["spike"]:
                want.add(((NOW - timedelta(days=d)).strftime("%Y-%m-%d"), lane))
    got = set(re.findall(r'class="bar spike"[^>]*data-key="([^"]+)" data-lane="([^"]+)"', html))
    assert got == want and ("2026-03-20", "customer_service") in got
    # One mark per spiking day (the chart is drawn for a phone and for a desktop: each draws its marks).
    marks = re.findall(r'class="spike-mark"[^>]*data-key="([^"]+)"', html)
    assert set(marks) == {day for day, _ in want} and len(marks) == 2 * len(set(marks))
    assert 'id="spike-note"' in html
    voice = report(cli, "voice", "--since", "30d")
    shares = dict(re.findall(r'class="share"[^>]*data-brand="([^"]+)" data-share="([^"]+)"', html))
    assert {k: float(v) for k, v in shares.items()} == {b["brand"]: b["share"] or 0.0 for b in voice["brands"]}
    assert 'id="voice-table"' in html
