"""Soak: 500 feeds pulled 20 times from a server that injects 10% 5xx, 5% timeouts and 5% garbage.
Afterwards every item the server ever served is in the database exactly once.

Not in the default run (pyproject's addopts exclude `soak`): `python -m pytest -m soak`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import rss
from hostiletools import rows, send

FEEDS = 500
ROUNDS = 20
WINDOW = 5  # a feed lists the items of its last five rounds, newest first, as real feeds do


class Faulty:
    """Serves /feed/N for the current round, failing a share of requests on purpose."""

    def __init__(self, seed: int = 20240611) -> None:
        self.round = 0
        self.served: set[tuple[str, str]] = set()  # (source, guid) of every item in a complete 200 answer
        self.faults: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self) -> float:
        with self._lock:
            return self._random.random()

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        n = int(h.path.rsplit("/", 1)[1])
        r = self.round
        dice = self.roll()
        if dice < 0.10:
            self.faults["5xx"] += 1
            send(h, b"<html>busy</html>", status=503 if dice < 0.05 else 500)
        elif dice < 0.15:
            self.faults["timeout"] += 1
            time.sleep(1.6)  # longer than the read timeout: the client gives up and retries
            h.close_connection = True
        elif dice < 0.20:
            self.faults["garbage"] += 1
            kind = int(dice * 1000) % 4
            body = [random.Random(dice).randbytes(300),
                    b"<!doctype html><html><body>Service temporarily unavailable</body></html>",
                    b"<?xml version='1.0'?><rss version='2.0'><channel><title>cut off",
                    b'{"error": "rate limit exceeded"}'][kind]
            send(h, body, status=200, content_type="application/rss+xml")
        else:
            guids = [f"{n}-{k}" for k in range(r, max(-1, r - WINDOW), -1)]
            body = rss([{"title": f"feed {n} item {g}", "guid": g, "link": f"http://example.com/{g}"}
                        for g in guids]).encode()
            send(h, body, content_type="application/rss+xml")
            with self._lock:
                self.served.update((f"f{n}", g) for g in guids)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_soak_every_served_item_stored_exactly_once(server, cli, write_config, tmp_path):
    faulty = Faulty()
    for n in range(FEEDS):
        server.add(f"/feed/{n}", handler=faulty)
    write_config({"fetch": {"concurrency": 32, "per_host": 32, "read_timeout": "1s", "connect_timeout": "5s",
                            "timeout": "120s", "retries": 3, "parse_timeout": "30s"},
                  "sources": [{"name": f"f{n}", "url": server.url(f"/feed/{n}")} for n in range(FEEDS)]})
    started = time.monotonic()
    statuses: Counter[str] = Counter()
    for r in range(ROUNDS):
        faulty.round = r
        result = cli("pull", "--json")
        assert result.exit_code in (0, 1), result.stderr
        assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
        data = json.loads(result.stdout)
        assert data["totals"]["sources"] == FEEDS
        statuses.update(s["status"] for s in data["sources"])
    elapsed = time.monotonic() - started

    db = tmp_path / "test.db"
    stored = set(rows(db, "SELECT source, guid FROM items"))
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT source || '/' || guid) FROM items") == [(len(stored), len(stored))]
    missing = faulty.served - stored
    assert not missing, sorted(missing)[:20]
    phantoms = {(s, g) for s, g in stored if not (s == f"f{g.split('-')[0]}" and int(g.split("-")[1]) < ROUNDS)}
    assert not phantoms, sorted(phantoms)[:20]
    assert rows(db, "SELECT COUNT(*) FROM events WHERE kind = 'created'") == [(len(stored),)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert all(faulty.faults[k] > 0 for k in ("5xx", "timeout", "garbage"))
    print(f"\nsoak: {FEEDS} feeds x {ROUNDS} pulls in {elapsed:.0f}s; served {len(faulty.served)} distinct items, "
          f"stored {len(stored)}; injected {dict(faulty.faults)}; source results {dict(statuses)}")
