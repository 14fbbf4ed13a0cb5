"""Many people at once, in separate processes, on each backend: workflow commands while a pull runs,
overlapping pulls, and alerts sent once however many runs overlap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import yaml
from conftest import rss

from socialscale.models import Item
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items

WORKERS, COMMANDS = 4, 15
TEAM = {f"w{k}": {} for k in range(WORKERS)}

# One worker process: COMMANDS workflow commands in a row, each on an item of its own, through the CLI.
WORKER = """
import json, sys
from typer.testing import CliRunner
from socialscale.cli.main import app
k, ids = int(sys.argv[1]), json.loads(sys.argv[2])
runner, codes = CliRunner(), []
for j, item in enumerate(ids):
    args = [["assign", str(item), "--to", f"w{k}"], ["respond", str(item), "--at", "2024-03-06T11:00:00Z"],
            ["note", str(item), f"w{k} says {j}"]][j % 3]
    result = runner.invoke(app, args)
    codes.append((result.exit_code, result.stderr.strip()))
print(json.dumps(codes))
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parent), **extra}


def _seed(database: str, n: int) -> list[int]:
    db = open_db(database)
    try:
        with transaction(db):
            items = [Item(source="seed", guid=f"s{i}", title=f"seeded {i}", url=f"https://example.com/s{i}",
                          published_at="2024-03-06T09:00:00Z") for i in range(n)]
            ids = upsert_items(db, "seed", items, "2024-03-06T09:00:00Z").new_ids
            db.execute("UPDATE items SET lane = 'customer_service'")
        return ids
    finally:
        db.conn.close()


def _write(tmp_path: Path, data: dict[str, Any]) -> None:
    (tmp_path / "socialscale.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_workflow_from_four_processes_during_a_pull_keeps_every_event(server, tmp_path, database):
    gate = threading.Event()

    def gated(handler: Any) -> None:  # the last feed answers only once the workers are done
        gate.wait(120)
        body = rss([{"title": f"late {i}", "guid": f"late{i}", "link": f"https://example.com/late{i}"}
                    for i in range(50)]).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    sources = [{"name": f"feed{n}", "type": "feed", "url": server.add(f"/f{n}.xml", rss(
        [{"title": f"post {n}.{i}", "guid": f"p{n}.{i}", "link": f"https://example.com/{n}/{i}",
          "description": "refund please" if i % 2 else "hello"} for i in range(60)]))} for n in range(5)]
    server.add("/late.xml", handler=gated)
    sources.append({"name": "late", "type": "feed", "url": server.url("/late.xml")})
    _write(tmp_path, {"database": database, "team": TEAM, "sources": sources,
                      "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}},
                      "rules": [{"name": "refunds", "lane": "customer_service", "any": ["refund"]}]})
    ids = _seed(database, WORKERS * COMMANDS)

    pull = subprocess.Popen([sys.executable, "-m", "socialscale", "pull", "--format", "json"], cwd=tmp_path,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not server.hits("/late.xml"):  # the pull is under way (the other feeds are being stored)
            assert pull.poll() is None, pull.communicate()
            threading.Event().wait(0.05)
        second = subprocess.run([sys.executable, "-m", "socialscale", "pull"], cwd=tmp_path, env=_env(),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1 and "another pull is running on" in second.stderr, second.stderr
        assert "this one was skipped" in second.stderr
        workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(k),
                                     json.dumps(ids[k * COMMANDS:(k + 1) * COMMANDS])], cwd=tmp_path,
                                    env=_env(SOCIALSCALE_USER=f"w{k}"), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for k in range(WORKERS)]
        outcomes = [w.communicate(timeout=300) for w in workers]
    finally:
        gate.set()
    out, err = pull.communicate(timeout=300)
    assert pull.returncode == 0, err
    assert json.loads(out)["totals"]["new"] == 5 * 60 + 50

    for k, (stdout, stderr) in enumerate(outcomes):
        assert json.loads(stdout) == [[0, ""]] * COMMANDS, (k, stderr)
    db = open_db(database)
    try:
        per_actor = dict(db.execute("SELECT actor, COUNT(*) FROM events WHERE actor LIKE 'w%' GROUP BY actor")
                         .fetchall())
        assert per_actor == {f"w{k}": COMMANDS for k in range(WORKERS)}
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM events WHERE actor LIKE 'w%' GROUP BY kind").fetchall())
        assert kinds == {"assigned": 20, "responded": 20, "noted": 20}
        created = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'created'").fetchone()[0]
        assert created == db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 60 + 350
        responded = db.execute("SELECT COUNT(*) FROM items WHERE status = 'responded' AND responded_by LIKE 'w%'")
        assert responded.fetchone()[0] == 20
    finally:
        db.conn.close()


def test_breach_alerts_go_out_once_from_overlapping_runs(server, tmp_path, database):
    url = server.add("/hook/tok", "{}", content_type="application/json")
    _write(tmp_path, {"database": database, "timezone": "UTC", "team": {"alice": {}},
                      "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}},
                      "notify": [{"name": "ops", "url_env": "OPS_URL", "on": ["breach"]}]})
    ids = _seed(database, 30)
    runs = [subprocess.Popen([sys.executable, "-m", "socialscale", "notify", "--now", "2024-03-06T12:00:00Z",
                              "--json"], cwd=tmp_path, env=_env(OPS_URL=url.replace("http://", "json://")),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    sent = 0
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        sent += sum(r["items"] for r in json.loads(out)["results"] if r["status"] == "sent")
    assert sent == len(ids)  # every breached item in exactly one run's message
    posts = [json.loads(body) for path, body in server.posts if path == "/hook/tok"]
    assert sum(int(post["title"].split()[1]) for post in posts) == len(ids)  # "socialscale: N items past the SLA"
    db = open_db(database)
    try:
        ledger = db.execute("SELECT key, status FROM alerts WHERE kind = 'breach' ORDER BY key").fetchall()
    finally:
        db.conn.close()
    assert sorted(ledger) == sorted((str(i), "sent") for i in ids)
