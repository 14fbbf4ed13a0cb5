"""Automatic response tracking: team handles mark items as ours, and our replies answer their parents."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from apitools import Answer, Router, fixture, items, pull_json, query, rows, send

HN = "/search_by_date"
TEAM = {"alice": {"handles": ["hackernews:acme_alice", "@Alice@Mastodon.Example", "github:acme-alice"]},
        "bob": {"handles": ["hackernews:ACME_bob", "reddit:acme_bob"]},
        "carol": {"handles": ["reddit:jdoe"]}}


def hit(object_id: str, created: str, author: str, parent: str | None = None) -> dict[str, Any]:
    """One Algolia HN hit as documented: a story, or a comment when it has a parent."""
    stamp = {"12:00": 1736510400, "12:30": 1736512200, "12:10": 1736511000, "12:20": 1736511600,
             "11:50": 1736509800}[created]
    base = {"created_at_i": stamp, "author": author, "objectID": object_id, "story_id": 1001}
    if parent:
        return {**base, "comment_text": f"<p>reply {object_id}</p>", "parent_id": int(parent),
                "_tags": ["comment", f"author_{author}"]}
    return {**base, "title": "Acme widgets keep breaking", "url": None, "_tags": ["story", f"author_{author}"]}


class FakeHN:
    """Algolia search: the query source and the team's authors source see different hits."""

    def __init__(self) -> None:
        self.hits: dict[str, list[dict[str, Any]]] = {"query": [], "team": []}

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        which = "team" if "author_" in query(handler.path)["tags"] else "query"
        send(handler, Answer(json.dumps({"hits": self.hits[which], "page": 0, "nbPages": 1, "hitsPerPage": 100})))


def hn_setup(server: Any, write_config: Any) -> FakeHN:
    fake = FakeHN()
    server.add(HN, handler=fake)
    write_config({"team": TEAM, "sources": [
        {"name": "hn", "type": "hackernews", "api_url": server.base, "query": "acme"},
        {"name": "hn-team", "type": "hackernews", "api_url": server.base, "authors": ["acme_alice", "acme_bob"]}]})
    return fake


def item(guid: str) -> dict[str, Any]:
    found = [r for r in items().values() if r["guid"] == guid]
    assert len(found) == 1, guid
    return found[0]


def responded_events(item_id: int) -> list[dict[str, Any]]:
    found = rows("SELECT at, actor, detail FROM events WHERE item_id = ? AND kind = 'responded' ORDER BY id",
                 (item_id,))
    return [{**e, "detail": json.loads(e["detail"])} for e in found]


def test_reply_in_the_same_pull_answers_its_parent(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe"), hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    parent, reply = item("1001"), item("1002")
    assert (parent["status"], parent["responded_at"], parent["responded_by"], parent["response_via"]) == \
        ("responded", "2025-01-10T12:30:00Z", "alice", "reply")
    assert parent["response_url"] == "https://news.ycombinator.com/item?id=1002"
    assert reply["ours"] == "alice" and parent["ours"] is None
    events = responded_events(parent["id"])
    assert len(events) == 1
    assert events[0]["at"] == "2025-01-10T12:30:00Z" and events[0]["actor"] == "alice"
    assert events[0]["detail"]["url"] == "https://news.ycombinator.com/item?id=1002"
    assert events[0]["detail"]["automatic"] is True and events[0]["detail"]["reply_id"] == reply["id"]
    backlog = {r["id"] for r in rows("SELECT id FROM backlog")}
    assert reply["id"] not in backlog and parent["id"] not in backlog


def test_reply_pulled_before_its_parent_is_linked_when_the_parent_arrives(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["team"] = [hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    assert item("1002")["ours"] == "alice"
    fake.hits["query"] = [hit("1001", "12:00", "jdoe")]
    pull_json(cli)
    parent = item("1001")
    assert parent["source"] == "hn" and item("1002")["source"] == "hn-team"
    assert (parent["status"], parent["responded_at"], parent["responded_by"]) == \
        ("responded", "2025-01-10T12:30:00Z", "alice")
    assert parent["response_url"] == "https://news.ycombinator.com/item?id=1002"


def test_parent_first_then_reply_in_a_later_pull(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe")]
    pull_json(cli)
    assert item("1001")["status"] == "open"
    fake.hits["team"] = [hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    assert item("1001")["responded_by"] == "alice"


def test_earliest_reply_wins_and_later_ones_change_nothing(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe")]
    fake.hits["team"] = [hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    fake.hits["team"] = [hit("1003", "12:10", "acme_bob", parent="1001")]  # bob answered earlier
    pull_json(cli)
    parent = item("1001")
    assert (parent["responded_at"], parent["responded_by"]) == ("2025-01-10T12:10:00Z", "bob")
    assert parent["response_url"] == "https://news.ycombinator.com/item?id=1003"
    fake.hits["team"] = [hit("1004", "12:20", "acme_alice", parent="1001")]
    pull_json(cli)
    events = responded_events(parent["id"])
    assert [(e["actor"], e["at"]) for e in events] == [("alice", "2025-01-10T12:30:00Z"), ("bob", "2025-01-10T12:10:00Z")]
    assert events[1]["detail"]["replaces"] == "2025-01-10T12:30:00Z"
    assert item("1001")["responded_by"] == "bob"


def test_reply_dated_before_its_parent_counts_at_the_parents_start(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe"), hit("1002", "11:50", "acme_alice", parent="1001")]
    pull_json(cli)
    assert item("1001")["responded_at"] == "2025-01-10T12:00:00Z"


def test_a_persons_earlier_response_stands(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe")]
    pull_json(cli)
    parent_id = item("1001")["id"]
    result = cli("respond", str(parent_id), "--at", "2025-01-10T12:05:00Z", "--by", "bob", "--via", "email")
    assert result.exit_code == 0, result.stderr
    fake.hits["team"] = [hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    parent = item("1001")
    assert (parent["responded_at"], parent["responded_by"], parent["response_via"], parent["response_url"]) == \
        ("2025-01-10T12:05:00Z", "bob", "email", None)
    assert len(responded_events(parent_id)) == 1


def test_a_reply_earlier_than_a_persons_later_record_becomes_the_first_response(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe")]
    pull_json(cli)
    parent_id = item("1001")["id"]
    assert cli("respond", str(parent_id), "--at", "2025-01-10T13:00:00Z", "--by", "bob").exit_code == 0
    fake.hits["team"] = [hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    parent = item("1001")
    assert (parent["responded_at"], parent["responded_by"]) == ("2025-01-10T12:30:00Z", "alice")
    # and a person recording an even earlier response afterwards clears the reply's URL
    assert cli("respond", str(parent_id), "--at", "2025-01-10T12:15:00Z", "--by", "bob", "--via", "dm").exit_code == 0
    assert item("1001")["response_url"] is None


def test_items_and_show_name_the_reply_that_answered(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe"), hit("1002", "12:30", "acme_alice", parent="1001")]
    pull_json(cli)
    parent_id = item("1001")["id"]
    listed = json.loads(cli("items", "--status", "responded", "--format", "json").stdout)
    assert [(r["id"], r["response_url"]) for r in listed] == [(parent_id, "https://news.ycombinator.com/item?id=1002")]
    table = cli("items", "--status", "responded").stdout
    assert "https://news.ycombinator.com/item?id=1002" in table and "alice" in table
    shown = cli("show", str(parent_id)).stdout
    assert "response_url" in shown and "https://news.ycombinator.com/item?id=1002" in shown
    assert json.loads(cli("show", str(parent_id), "--json").stdout)["response_url"].endswith("id=1002")


def test_handles_are_scoped_to_their_kind_and_case_insensitive(server, cli, write_config):
    fake = hn_setup(server, write_config)
    # carol's handle is reddit:jdoe: the Hacker News user jdoe is somebody else
    fake.hits["query"] = [hit("1001", "12:00", "jdoe"), hit("1003", "12:10", "acme_bob", parent="1001")]
    pull_json(cli)
    assert item("1001")["ours"] is None
    assert item("1003")["ours"] == "bob"  # handle written hackernews:ACME_bob


def test_mastodon_address_handle_links_a_reply_on_the_same_instance(server, cli, write_config):
    oldest = "113000000000000001"
    server.add("/api/v1/timelines/tag/acme", handler=Router([
        ({"max_id": oldest}, Answer(fixture("mastodon", "tag_page2.json"))),
        ({}, Answer(fixture("mastodon", "tag_page1.json"),
                    headers={"Link": f'<https://mastodon.example/x?max_id={oldest}>; rel="next"'}))]))
    write_config({"team": TEAM, "sources": [
        {"name": "md", "type": "mastodon", "instance": "https://mastodon.example", "api_url": server.base,
         "tag": "acme", "backfill": "3650d"}]})
    pull_json(cli)
    parent = item("mastodon.example:113000000000000038")
    assert (parent["responded_by"], parent["responded_at"]) == ("alice", "2025-01-10T11:36:00Z")
    assert parent["response_url"] == "https://mastodon.example/@alice/113000000000000039"
    assert item("mastodon.example:113000000000000039")["ours"] == "alice"


def test_github_comment_answers_its_issue_by_url(server, cli, write_config):
    server.add("/search/issues", handler=Router([], default=Answer(fixture("github", "search_page2.json"))))
    server.add("/repos/acme/widgets/issues/comments", handler=Router([], default=Answer(fixture("github", "comments.json"))))
    server.add("/second/search/issues", handler=Router([], default=Answer(fixture("github", "search_page1.json"))))
    write_config({"team": TEAM, "sources": [
        {"name": "gh", "type": "github", "api_url": server.base, "repo": "acme/widgets"}]})
    pull_json(cli)  # the comments arrive before their issues
    write_config({"team": TEAM, "sources": [
        {"name": "gh", "type": "github", "api_url": server.base, "repo": "acme/widgets"},
        {"name": "gh-search", "type": "github", "api_url": server.base + "/second", "query": "acme"}]})
    pull_json(cli)
    issue = item("https://github.com/acme/widgets/issues/5")
    assert issue["source"] == "gh-search"
    assert (issue["responded_by"], issue["responded_at"]) == ("alice", "2025-01-10T12:45:00Z")
    assert issue["response_url"] == "https://github.com/acme/widgets/issues/5#issuecomment-9001"
    assert item("https://github.com/acme/widgets/pull/6")["status"] == "open"  # jdoe is not on the team


def test_reddit_comment_answers_a_post_from_another_source(server, cli, write_config):
    server.add("/r/acme/comments.json", handler=Router([], default=Answer(fixture("reddit", "comments.json"))))
    server.add("/r/acme/new.json", handler=Router([], default=Answer(fixture("reddit", "new_page2.json"))))
    write_config({"team": TEAM, "sources": [
        {"name": "rd-comments", "type": "reddit", "api_url": server.base, "subreddit": "acme",
         "listing": "comments", "backfill": "3650d"}]})
    pull_json(cli)
    server.routes["/r/acme/new.json"].handler = Router([], default=Answer(fixture("reddit", "new_page1.json")))
    write_config({"team": TEAM, "sources": [
        {"name": "rd-comments", "type": "reddit", "api_url": server.base, "subreddit": "acme",
         "listing": "comments", "backfill": "3650d"},
        {"name": "rd-posts", "type": "reddit", "api_url": server.base, "subreddit": "acme", "backfill": "3650d"}]})
    pull_json(cli)
    post = item("t3_b2")
    assert (post["responded_by"], post["responded_at"]) == ("bob", "2025-01-10T13:00:00Z")
    assert post["response_url"] == "https://www.reddit.com/r/acme/comments/b2/acme_widget_broke/c1/"


def test_tag_relink_applies_changed_handles_to_stored_items(server, cli, write_config, tmp_path):
    """A handle added after the pull reaches the stored items with `tag --relink`, not before."""
    import sqlite3

    from conftest import rss

    url = server.add("/blog", rss([{"title": "Thanks all, fixed in 2.1", "guid": "ours", "author": "acme_bob"},
                                   {"title": "Refund please", "guid": "theirs", "author": "jane"}]))
    write_config({"team": {"bob": {}}, "sources": [{"name": "blog", "url": url}]})
    assert cli("pull").exit_code == 0
    write_config({"team": {"bob": {"handles": ["feed:acme_bob"]}}, "sources": [{"name": "blog", "url": url}]})

    def ours() -> dict[str, object]:
        with sqlite3.connect(tmp_path / "test.db") as conn:
            return dict(conn.execute("SELECT guid, ours FROM items").fetchall())

    assert ours() == {"ours": None, "theirs": None}
    assert cli("tag").exit_code == 0
    assert ours() == {"ours": None, "theirs": None}  # re-tagging alone leaves links as they were
    assert cli("tag", "--relink").exit_code == 0
    assert ours() == {"ours": "bob", "theirs": None}
