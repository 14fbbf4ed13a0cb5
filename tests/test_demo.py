"""`socialscale demo`: the whole job offline, as a new user first sees it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys


def test_demo_runs_offline_and_keeps_its_database(cli, tmp_path):
    db = tmp_path / "demo.db"
    result = cli("demo", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "$ socialscale pull" in out
    assert "10 sources: 9 ok, 1 failed" in out
    assert "error: partner-feed: not a feed" in result.stderr  # the broken feed, in one line
    assert "What next" in result.stderr and "socialscale init" in result.stderr
    # The sample conversation: Bob's answer, Maria's follow-up and Tom's catalyzed reply, both waiting.
    assert "$ socialscale report conversations" in out
    assert "ours: bob" in out and "[open, follow-up]" in out and "[open, follow-up, catalyzed]" in out
    assert "follow-up in conversation" in out
    with sqlite3.connect(db) as conn:
        total = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        sources = conn.execute("SELECT COUNT(DISTINCT source) FROM items").fetchone()[0]
        kinds = dict(conn.execute("SELECT name, kind FROM sources").fetchall())
        answered = conn.execute("SELECT COUNT(*) FROM items WHERE source = 'bluesky' AND response_via = 'reply'"
                                ).fetchone()[0]
        reviews = conn.execute("SELECT COUNT(*) FROM items WHERE source = 'app-store' AND json_extract(extra, "
                               "'$.rating') BETWEEN 1 AND 5").fetchone()[0]
    assert total >= 250 and sources == 9
    assert kinds["bluesky"] == "bluesky" and kinds["app-store"] == "appstore"
    assert answered >= 1  # the shop's Bluesky replies answered their posts
    assert reviews == 24


def test_demo_as_a_user_runs_it(tmp_path):
    """The console script in a subprocess: no traceback, exit 0, items in the kept database."""
    db = tmp_path / "kept.db"
    proc = subprocess.run([sys.executable, "-m", "socialscale", "demo", "--db", str(db)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = subprocess.run([sys.executable, "-m", "socialscale", "--db", str(db), "items", "--format", "json",
                          "--limit", "0"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert len(json.loads(out.stdout)) >= 250


def test_the_demo_is_the_same_on_every_run(cli, tmp_path):
    """A fixed clock, seeded data and one source after another: the same ids, ages and figures each run."""
    import re

    outputs, items = [], []
    for run in ("one", "two"):
        db = tmp_path / f"{run}.db"
        result = cli("demo", "--db", str(db))
        assert result.exit_code == 0, result.stderr
        # Only the pull's measured durations may differ.
        outputs.append(re.sub(r"\b\d+\.\ds$", "Ns", result.stdout, flags=re.MULTILINE))
        with sqlite3.connect(db) as conn:
            items.append(conn.execute("SELECT id, source, guid, lane, owner, status, responded_at, first_seen_at "
                                      "FROM items ORDER BY id").fetchall())
    assert outputs[0] == outputs[1]
    assert items[0] == items[1]
    assert "backlog by lane at 2026-03-04 15:00 UTC" in outputs[0]  # tables show the configured timezone
    assert all(row[7] == "2026-03-04T15:00:00Z" for row in items[0])  # first seen at the demo's own clock
