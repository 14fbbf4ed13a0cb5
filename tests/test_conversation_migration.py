"""The migration to conversations, on a database built by the previous version (schema version 1).

tests/fixtures/schema/v1.sql is that version's schema, dumped from a database its `open_db()` created;
the rows below are what it stored for the example threads (lanes from each item's own rules, a reply
answering only its direct parent), with a person's decisions on top.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from apitools import rows
from conversation_data import CONFIG, THREADS

from socialscale.store.schema import MIGRATIONS

FIXTURE = Path(__file__).parent / "fixtures" / "schema" / "v1.sql"
SEEN = "2025-01-20T00:00:00Z"
# guid -> what version 1 stored beyond the message: lane, owner, owner_set_by, status, response, ours
OLD: dict[str, dict[str, Any]] = {
    "d1": {"lane": "customer_service", "owner": "alice", "owner_set_by": "lane", "rules": ["complaints"],
           "status": "responded", "response": ("2025-01-10T11:00:00Z", "sam", "reply", "https://shop.example/c/s1")},
    "s1": {"ours": "sam"},
    "d2": {"status": "responded", "response": ("2025-01-13T13:30:00Z", "sam", "reply", "https://shop.example/c/s2")},
    "l1": {"owner": "alice", "owner_set_by": "carol"},  # a person assigned it
    "s2": {"ours": "sam"},
    "d3": {},
    "p1": {"lane": "sales_prospecting", "owner": "bob", "owner_set_by": "lane", "rules": ["leads"],
           "status": "responded", "response": ("2025-01-14T10:00:00Z", "bob", "reply", "https://shop.example/c/b1")},
    "q1": {"status": "ignored"},  # a person ignored it
    "b1": {"ours": "bob"},
    "x1": {"lane": "customer_service", "owner": "bob", "owner_set_by": "carol", "rules": ["complaints"],
           "status": "closed", "response": ("2025-01-16T10:00:00Z", "alice", "dm", None)},
}


def build_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text())
    conn.execute("INSERT INTO sources (name, kind, url) VALUES ('comments', 'feed', 'http://127.0.0.1:9/comments')")
    for n, (guid, author, at, reply_to, text) in enumerate(THREADS, start=1):
        old = OLD[guid]
        lane = old.get("lane", "listening")
        responded = old.get("response") or (None, None, None, None)
        conn.execute(
            "INSERT INTO items (id, source, guid, url, canonical_url, title, author, text, published_at, first_seen_at, "
            "updated_at, start_at, lane, lanes, rules, rules_version, owner, owner_set_by, status, responded_at, "
            "responded_by, response_via, response_url, in_reply_to, ours, content_hash) "
            "VALUES (?, 'comments', ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'v1rules', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (n, guid, f"https://shop.example/c/{guid}", f"https://shop.example/c/{guid}", author, text, at, SEEN, SEEN,
             at, lane, json.dumps([lane]), json.dumps(old.get("rules", [])), old.get("owner"), old.get("owner_set_by"),
             old.get("status", "open"), *responded, reply_to, old.get("ours"), f"hash{n}"))
        conn.execute("INSERT INTO events (item_id, at, kind, detail) VALUES (?, ?, 'created', '{}')", (n, SEEN))
    conn.commit()
    conn.close()


FIELDS = ("lane", "owner", "owner_set_by", "status", "responded_at", "responded_by", "response_via", "closed_at")


def snapshot(db: str) -> dict[str, dict[str, Any]]:
    return {r["guid"]: {k: r[k] for k in FIELDS} for r in rows("SELECT * FROM items", db=db)}


def test_migration_threads_stored_items_and_applies_the_conversation_rules(cli, write_config, tmp_path):
    build_v1(tmp_path / "old.db")
    before = snapshot("old.db")
    write_config({**CONFIG, "database": "old.db",
                  "sources": [{"name": "comments", "url": "http://127.0.0.1:9/comments"}]})
    result = cli("items", "--all", "--format", "json", "--limit", "0")
    assert result.exit_code == 0, result.stderr
    listed = {r["guid"]: r for r in json.loads(result.stdout)}
    assert rows("PRAGMA user_version", db="old.db")[0]["user_version"] == len(MIGRATIONS)
    ids = {g: r["id"] for g, r in listed.items()}
    assert {g: r["conversation_id"] for g, r in listed.items()} == {
        **dict.fromkeys(("d1", "s1", "d2", "l1", "s2", "d3"), ids["d1"]),
        **dict.fromkeys(("p1", "q1", "b1"), ids["p1"]), "x1": ids["x1"]}
    assert {g for g, r in listed.items() if r["followup"]} == {"d2", "l1", "d3"}
    assert {g for g, r in listed.items() if r["catalyzed"]} == {"l1"}
    after = snapshot("old.db")
    # The follow-ups join the conversation's lane; owners follow, except where a person chose one.
    assert (after["d3"]["lane"], after["d3"]["owner"], after["d3"]["owner_set_by"]) == \
        ("customer_service", "sam", "conversation")
    assert (after["l1"]["lane"], after["l1"]["owner"], after["l1"]["owner_set_by"]) == \
        ("customer_service", "alice", "carol")
    # Sam's second reply answered the thread: l1 too (d2 was answered directly before).
    assert (after["l1"]["status"], after["l1"]["responded_at"], after["l1"]["responded_by"]) == \
        ("responded", "2025-01-13T13:30:00Z", "sam")
    # A person's ignore, close, assignment and recorded response stand.
    assert after["q1"]["status"] == "ignored" and after["q1"]["responded_at"] is None
    assert after["x1"] == before["x1"]
    for guid in ("d1", "p1"):
        assert {k: after[guid][k] for k in FIELDS[3:]} == {k: before[guid][k] for k in FIELDS[3:]}
    # Every change the migration made is an event that says so.
    for guid in after:
        if after[guid] != before[guid]:
            reasons = [json.loads(e["detail"]).get("reason") for e in
                       rows("SELECT detail FROM events WHERE item_id = ? AND kind != 'created'", (ids[guid],), db="old.db")]
            assert "conversations upgrade" in reasons, guid
    assert rows("SELECT value FROM state WHERE key = 'conversations.upgrade'", db="old.db") == []
    # Once only: a second command changes nothing.
    events = rows("SELECT COUNT(*) AS n FROM events", db="old.db")[0]["n"]
    assert cli("items", "--format", "json").exit_code == 0
    assert rows("SELECT COUNT(*) AS n FROM events", db="old.db")[0]["n"] == events
