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


def test_backlog_counts_open_follow_ups(pulled, cli):
    data = report(cli, "backlog")
    groups = {g["group"]: g for g in data["groups"]}
    # d3 is the only open item: a follow-up in customer_service, owned by Sam.
    assert (groups["customer_service"]["open"], groups["customer_service"]["followups"]) == (1, 1)
    assert (groups["sales_prospecting"]["open"], groups["sales_prospecting"]["followups"]) == (0, 0)
    assert (data["total"]["open"], data["total"]["followups"], data["total"]["unassigned"]) == (1, 1, 0)
    view = rows("SELECT id, followup FROM backlog")
    assert view == [{"id": pulled["d3"]["id"], "followup": 1}]


def test_latency_splits_first_contacts_from_follow_ups(pulled, cli):
    groups = {g["group"]: g for g in report(cli, "latency", "--since", "30d")["groups"]}
    cs, sales = groups["customer_service"], groups["sales_prospecting"]
    # First contacts: d1 answered in 1h (s1), x1 in 1h (a DM): median 3600, p90 3600, both within 2h.
    assert (cs["responded"], cs["median_s"], cs["p90_s"], cs["max_s"], cs["within_sla"], cs["handoff_share"]) == \
        (2, 3600, 3600, 3600, 1.0, 0.5)
    # Follow-ups: d2 after 2h30m and l1 after 1h30m (both by s2 at 13:30): median 7200, p90 = 5400 + 0.9 * 3600.
    assert (cs["next_responded"], cs["next_median_s"], cs["next_p90_s"], cs["next_within_sla"]) == \
        (2, 7200, 8640, 0.5)
    # Sales: p1 after 1h and q1 after 30m (both by b1); q1 is a first contact, not a follow-up.
    assert (sales["responded"], sales["median_s"], sales["p90_s"], sales["max_s"], sales["within_sla"]) == \
        (2, 2700, 3420, 3600, 1.0)
    assert (sales["next_responded"], sales["next_median_s"], sales["next_p90_s"], sales["next_within_sla"]) == \
        (0, None, None, None)


def test_report_conversations_figures_by_hand(pulled, cli):
    data = report(cli, "conversations", "--since", "30d")
    groups = {g["group"]: g for g in data["groups"]}
    empty = {"conversations": 0, "joined": None, "followups": 0, "followups_answered": None, "catalyzed": 0,
             "catalyzed_answered": None, "handoffs": 0, "waiting": 0}
    assert {k: v for k, v in groups["listening"].items() if k != "group"} == empty
    # Dana's thread (d1) and Max's (x1) in customer_service: we joined Dana's; 3 follow-ups, 2 answered;
    # 1 catalyzed (Lee), answered; a handoff in Max's; Dana's d3 waits.
    assert {k: v for k, v in groups["customer_service"].items() if k != "group"} == {
        "conversations": 2, "joined": 0.5, "followups": 3, "followups_answered": 0.6667, "catalyzed": 1,
        "catalyzed_answered": 1.0, "handoffs": 1, "waiting": 1}
    assert {k: v for k, v in groups["sales_prospecting"].items() if k != "group"} == {
        "conversations": 1, "joined": 1.0, "followups": 0, "followups_answered": None, "catalyzed": 0,
        "catalyzed_answered": None, "handoffs": 0, "waiting": 0}
    assert data["total"] == {"conversations": 3, "joined": 0.6667, "followups": 3, "followups_answered": 0.6667,
                             "catalyzed": 1, "catalyzed_answered": 1.0, "handoffs": 1, "waiting": 1}
    by_owner = {g["group"]: g["conversations"] for g in report(cli, "conversations", "--by", "owner")["groups"]}
    assert (by_owner["alice"], by_owner["bob"]) == (2, 1)
    # The view agrees, one row per conversation.
    view = {r["id"]: r for r in rows("SELECT * FROM conversations")}
    d1 = view[pulled["d1"]["id"]]
    assert (d1["messages"], d1["ours"], d1["followups"], d1["followups_answered"], d1["catalyzed"], d1["waiting"]) \
        == (6, 2, 3, 2, 1, 1)
    for fmt in ("table", "csv", "ndjson"):
        result = cli("report", "conversations", "--now", NOW, "--format", fmt)
        assert result.exit_code == 0 and "customer_service" in result.stdout


def test_show_prints_the_conversation_as_a_tree_and_items_lists_it(pulled, cli):
    shown = cli("show", str(pulled["d2"]["id"])).stdout
    lines = shown.splitlines()
    tree = lines[next(n for n, line in enumerate(lines) if line.startswith("conversation ")):]
    ids = {g: r["id"] for g, r in pulled.items()}
    assert tree[0] == f"conversation {ids['d1']} (6 messages)"
    expected = [("  ", 0, "d1"), ("  ", 1, "s1"), ("> ", 2, "d2"), ("  ", 3, "s2"), ("  ", 4, "d3"), ("  ", 2, "l1")]
    for line, (mark, depth, guid) in zip(tree[1:], expected, strict=True):
        assert line.startswith(mark + "  " * depth + f"#{ids[guid]} "), line
    assert "ours: sam" in tree[2] and "[responded, follow-up, catalyzed]" in tree[6]
    assert "[open, follow-up]" in tree[5]
    data = json.loads(cli("show", str(ids["q1"]), "--json").stdout)
    assert [(m["id"], m["depth"]) for m in data["conversation"]["messages"]] == \
        [(ids["p1"], 0), (ids["q1"], 1), (ids["b1"], 1)]
    listed = json.loads(cli("items", "--conversation", str(ids["b1"]), "--format", "json").stdout)
    assert sorted(r["guid"] for r in listed) == ["b1", "p1", "q1"]


def test_summary_and_html_report_show_conversations(pulled, cli, tmp_path):
    data = report(cli, "summary")
    assert data["conversations"]["catalyzed"] == 0  # Dana's thread started more than 7 days before NOW
    assert data["backlog"]["total"]["followups"] == 1
    markdown = cli("report", "summary", "--now", NOW, "--format", "markdown").stdout
    assert "## Conversations, last 7 days: 2" in markdown
    out = tmp_path / "report.html"
    assert cli("report", "html", "-o", str(out), "--now", NOW).exit_code == 0
    assert "Conversations we started" in out.read_text()


def test_why_explains_an_inherited_lane_and_owner(pulled, cli):
    shown = cli("why", str(pulled["d2"]["id"])).stdout
    assert f"follow-up in conversation {pulled['d1']['id']}, which is in customer_service" in shown
    assert f"sam wrote our latest message before it in conversation {pulled['d1']['id']}" in shown
    data = json.loads(cli("why", str(pulled["q1"]["id"]), "--json").stdout)
    assert (data["result"]["lane"], data["result"]["owner"]) == ("sales_prospecting", "bob")
    assert data["result"]["lane_from_conversation"] == pulled["p1"]["id"]
    assert data["winner_reason"].startswith(f"reply in conversation {pulled['p1']['id']}, which is in sales_prospecting")
