"""Conversations: follow-ups inherit lane and owner, one message of ours answers the thread, and the
figures of backlog, latency and `report conversations` on a fixed dataset, computed by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apitools import items, pull_json, rows
from conversation_data import CONFIG, HANDOFF, NOW, THREADS, atom


@pytest.fixture
def pulled(server, cli, write_config) -> dict[str, dict[str, Any]]:
    """The two threads pulled (in one feed, oldest last), and the handoff recorded by a person."""
    url = server.add("/comments", atom(list(reversed(THREADS))))
    write_config({**CONFIG, "sources": [{"name": "comments", "url": url}]})
    pull_json(cli)
    guid, at, by, via = HANDOFF
    result = cli("respond", str(items()[guid]["id"]), "--at", at, "--by", by, "--via", via)
    assert result.exit_code == 0, result.stderr
    return items()


def report(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("report", *args, "--now", NOW, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_follow_ups_and_catalyzed_replies_are_flagged(pulled):
    flagged = {g: (r["followup"], r["catalyzed"]) for g, r in pulled.items()}
    assert flagged == {"d1": (0, 0), "s1": (0, 0), "d2": (1, 0), "l1": (1, 1), "s2": (0, 0), "d3": (1, 0),
                       "p1": (0, 0), "q1": (0, 0), "b1": (0, 0), "x1": (0, 0)}
    assert {g for g, r in pulled.items() if r["ours"]} == {"s1", "s2", "b1"}


def test_follow_ups_take_the_conversations_lane_and_our_last_authors_ownership(pulled):
    lanes = {g: (r["lane"], r["owner"], r["owner_set_by"]) for g, r in pulled.items() if not r["ours"]}
    assert lanes == {
        "d1": ("customer_service", "alice", "lane"),
        "d2": ("customer_service", "sam", "conversation"),   # no keyword: the conversation's lane, Sam answered last
        "l1": ("customer_service", "sam", "conversation"),
        "d3": ("customer_service", "sam", "conversation"),
        "p1": ("sales_prospecting", "bob", "lane"),
        "q1": ("sales_prospecting", "bob", "conversation"),  # not a follow-up: the root's owner
        "x1": ("customer_service", "alice", "lane"),
    }


def test_one_of_our_messages_answers_every_open_item_before_it_in_the_thread(pulled):
    answered = {g: (r["status"], r["responded_at"], r["responded_by"], r["response_via"])
                for g, r in pulled.items() if not r["ours"]}
    assert answered == {
        "d1": ("responded", "2025-01-10T11:00:00Z", "sam", "reply"),
        "d2": ("responded", "2025-01-13T13:30:00Z", "sam", "reply"),
        "l1": ("responded", "2025-01-13T13:30:00Z", "sam", "reply"),  # s2 replied to d2, and answers l1 too
        "d3": ("open", None, None, None),
        "p1": ("responded", "2025-01-14T10:00:00Z", "bob", "reply"),
        "q1": ("responded", "2025-01-14T10:00:00Z", "bob", "reply"),  # Bob answered the thread
        "x1": ("responded", "2025-01-16T10:00:00Z", "alice", "dm"),
    }
    assert pulled["q1"]["response_url"] == "https://shop.example/c/b1"
    events = rows("SELECT actor, detail FROM events WHERE item_id = ? AND kind = 'responded'", (pulled["q1"]["id"],))
    assert [(e["actor"], json.loads(e["detail"])["reply_id"]) for e in events] == [("bob", pulled["b1"]["id"])]


def test_the_pull_order_does_not_change_the_outcome(server, cli, write_config, pulled):
    """Each message in its own pull, newest first: every reply arrives before its parent."""
    expected = {g: {k: r[k] for k in ("lane", "owner", "status", "responded_at", "followup", "catalyzed")}
                for g, r in pulled.items()}
    write_config({**CONFIG, "database": "second.db", "sources": [{"name": "comments", "url": server.url("/one")}]})
    server.add("/one", "")
    for entry in reversed(THREADS):
        server.routes["/one"].body = atom([entry]).encode()
        pull_json(cli)
    guid, at, by, via = HANDOFF
    x1 = rows("SELECT id FROM items WHERE guid = ?", (guid,), db="second.db")[0]["id"]
    assert cli("respond", str(x1), "--at", at, "--by", by, "--via", via).exit_code == 0
    found = {r["guid"]: {k: r[k] for k in ("lane", "owner", "status", "responded_at", "followup", "catalyzed")}
             for r in rows("SELECT * FROM items", db="second.db")}
    assert found == expected


def test_a_persons_decisions_stand(server, cli, write_config):
    url = server.add("/comments", atom(THREADS[:3]))  # d1, s1, d2
    write_config({**CONFIG, "sources": [{"name": "comments", "url": url}]})
    server.routes["/comments"].body = atom(THREADS[:1]).encode()
    pull_json(cli)
    d1 = items()["d1"]["id"]
    assert cli("assign", str(d1), "--to", "bob", "--by", "carol").exit_code == 0
    assert cli("close", str(d1), "--by", "carol").exit_code == 0
    server.routes["/comments"].body = atom(THREADS[:3]).encode()
    pull_json(cli)
    got = items()
    # Sam's reply comes later: the closed item stays closed with bob, and its response is recorded.
    assert (got["d1"]["status"], got["d1"]["owner"], got["d1"]["responded_by"]) == ("closed", "bob", "sam")
    assert (got["d2"]["lane"], got["d2"]["owner"]) == ("customer_service", "sam")
