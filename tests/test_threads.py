"""Threads: every item's conversation_id, through every source kind that has replies, in any pull order."""

from __future__ import annotations

from typing import Any

from apitools import Answer, Router, fixture, items, pull_json, rows
from test_replies import TEAM, hit, hn_setup
from test_sources_github_discussions import D
from test_sources_github_discussions import setup as discussions_setup
from test_sources_mastodon import config as mastodon_config
from test_sources_mastodon import tag_router

THR = "http://purl.org/syndication/thread/1.0"


def atom(entries: list[dict[str, str]]) -> str:
    """An Atom feed; an entry's `reply_to` becomes `<thr:in-reply-to ref=... href=...>` (RFC 4685, section 3)."""
    parts = [f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' xmlns:thr='{THR}'>"
             "<title>Comments</title><id>urn:comments</id><updated>2025-01-10T12:00:00Z</updated>"]
    for e in entries:
        reply = (f"<thr:in-reply-to ref='{e['reply_to']}' href='https://blog.example/{e['reply_to']}'/>"
                 if e.get("reply_to") else "")
        parts.append(f"<entry><id>{e['id']}</id><title>{e.get('title', '')}</title>"
                     f"<link href='https://blog.example/{e['id']}'/><author><name>{e.get('author', 'someone')}</name>"
                     f"</author><updated>{e.get('at', '2025-01-10T12:00:00Z')}</updated>"
                     f"<content type='text'>{e.get('text', 'hello')}</content>{reply}</entry>")
    parts.append("</feed>")
    return "".join(parts)


def conversations() -> dict[str, tuple[str, str | None]]:
    """guid -> (the root's guid, the parent's guid)."""
    found = rows("SELECT i.guid, r.guid AS root, p.guid AS parent FROM items i JOIN items r ON r.id = i.conversation_id "
                 "LEFT JOIN items p ON p.id = i.parent_id")
    return {r["guid"]: (r["root"], r["parent"]) for r in found}


def feed_config(write_config: Any, url: str, **more: Any) -> None:
    write_config({"sources": [{"name": "blog", "url": url}], **more})


def test_feed_replies_thread_by_thr_in_reply_to(server, cli, write_config):
    url = server.add("/comments", atom([
        {"id": "post", "title": "Our new grinder"},
        {"id": "c1", "reply_to": "post", "at": "2025-01-10T12:10:00Z"},
        {"id": "c2", "reply_to": "c1", "at": "2025-01-10T12:20:00Z"},
        {"id": "other", "title": "Unrelated"}]))
    feed_config(write_config, url)
    pull_json(cli)
    assert conversations() == {"post": ("post", None), "c1": ("post", "post"), "c2": ("post", "c1"),
                               "other": ("other", None)}


def test_a_reply_stored_before_its_parent_joins_it_with_its_own_replies(server, cli, write_config):
    url = server.add("/comments", atom([{"id": "c1", "reply_to": "post"}, {"id": "c2", "reply_to": "c1"},
                                        {"id": "c3", "reply_to": "c2"}]))
    feed_config(write_config, url)
    pull_json(cli)
    assert conversations() == {"c1": ("c1", None), "c2": ("c1", "c1"), "c3": ("c1", "c2")}
    server.routes["/comments"].body = atom([{"id": "post"}]).encode()
    pull_json(cli)
    assert conversations() == {"post": ("post", None), "c1": ("post", "post"), "c2": ("post", "c1"),
                               "c3": ("post", "c2")}


def test_a_thousand_levels_in_any_order_without_recursion(server, cli, write_config):
    depth = 1000
    chain = [{"id": f"m{n}", "reply_to": f"m{n - 1}" if n else ""} for n in range(depth)]
    # First every message but the root, newest first; then the root: the whole chain is re-rooted at once.
    url = server.add("/comments", atom(list(reversed(chain[1:]))))
    feed_config(write_config, url)
    pull_json(cli)
    found = conversations()
    assert found["m999"] == ("m1", "m998") and found["m1"] == ("m1", None)
    server.routes["/comments"].body = atom(chain[:1]).encode()
    pull_json(cli)
    found = conversations()
    assert len(found) == depth
    assert {root for root, _ in found.values()} == {"m0"}
    assert found["m999"] == ("m0", "m998") and found["m1"] == ("m0", "m0")
    # `show` walks the tree with a stack: the deepest message is at depth 999.
    import json

    deepest = rows("SELECT id FROM items WHERE guid = 'm999'")[0]["id"]
    shown = cli("show", str(deepest), "--json")
    assert shown.exit_code == 0, shown.stderr
    messages = json.loads(shown.stdout)["conversation"]["messages"]
    assert len(messages) == depth and messages[-1]["depth"] == depth - 1 and messages[-1]["id"] == deepest


def test_cycles_from_a_hostile_feed_do_not_hang_and_leave_one_root(server, cli, write_config):
    url = server.add("/comments", atom([{"id": "a", "reply_to": "b"}, {"id": "b", "reply_to": "c"},
                                        {"id": "c", "reply_to": "a"}, {"id": "self", "reply_to": "self"}]))
    feed_config(write_config, url)
    pull_json(cli)
    found = conversations()
    roots = {root for guid, (root, _) in found.items() if guid != "self"}
    assert len(roots) == 1  # one conversation, cut where the cycle would close
    assert sum(parent is None for guid, (_, parent) in found.items() if guid != "self") == 1
    assert found["self"] == ("self", None)
    # The same cycle built over two pulls: the link that would close it is not made.
    server.routes["/comments"].body = atom([{"id": "x", "reply_to": "y"}]).encode()
    pull_json(cli)
    server.routes["/comments"].body = atom([{"id": "y", "reply_to": "x"}]).encode()
    pull_json(cli)
    found = conversations()
    assert found["x"] == ("x", None) and found["y"] == ("x", "x")


def test_two_sources_carrying_the_same_thread_make_one_conversation(server, cli, write_config):
    thread = atom([{"id": "post", "title": "Refund please"}, {"id": "c1", "reply_to": "post"},
                   {"id": "c2", "reply_to": "c1"}])
    a, b = server.add("/a", thread), server.add("/b", thread)
    write_config({"sources": [{"name": "a", "url": a}, {"name": "b", "url": b}]})
    pull_json(cli)
    found = rows("SELECT id, source, guid, parent_id, conversation_id, duplicate_of FROM items ORDER BY id")
    # Whichever source was stored first holds the originals; the other's copies are duplicates.
    first = {r["guid"]: r for r in found if r["duplicate_of"] is None}
    second = [r for r in found if r["duplicate_of"] is not None]
    assert len({r["source"] for r in first.values()}) == 1 and len(second) == 3
    root = first["post"]["id"]
    assert {r["conversation_id"] for r in first.values()} == {root}
    # The copies' replies hang under the originals, in the one conversation.
    assert {r["conversation_id"] for r in second if r["guid"] != "post"} == {root}
    assert {r["parent_id"] for r in second if r["guid"] != "post"} == {root, first["c1"]["id"]}


def test_hacker_news_comments_thread_under_their_story(server, cli, write_config):
    fake = hn_setup(server, write_config)
    fake.hits["query"] = [hit("1001", "12:00", "jdoe"), hit("1002", "12:10", "someone", parent="1001")]
    fake.hits["team"] = [hit("1003", "12:30", "acme_alice", parent="1002")]
    pull_json(cli)
    assert conversations() == {"1001": ("1001", None), "1002": ("1001", "1001"), "1003": ("1001", "1002")}


def test_mastodon_replies_thread_on_the_same_instance(server, cli, write_config):
    server.add("/api/v1/timelines/tag/acme", handler=tag_router())
    write_config({**mastodon_config(server), "team": TEAM})
    pull_json(cli)
    found = conversations()
    assert found["mastodon.example:113000000000000039"] == ("mastodon.example:113000000000000038",
                                                            "mastodon.example:113000000000000038")


def test_reddit_comments_join_their_post_from_another_source(server, cli, write_config):
    server.add("/r/acme/comments.json", handler=Router([], default=Answer(fixture("reddit", "comments.json"))))
    server.add("/r/acme/new.json", handler=Router([], default=Answer(fixture("reddit", "new_page1.json"))))
    write_config({"team": TEAM, "sources": [
        {"name": "rd-comments", "type": "reddit", "api_url": server.base, "subreddit": "acme",
         "listing": "comments", "backfill": "3650d"}]})
    pull_json(cli)
    assert conversations()["t1_c1"] == ("t1_c1", None)  # the post is not stored yet
    write_config({"team": TEAM, "sources": [
        {"name": "rd-comments", "type": "reddit", "api_url": server.base, "subreddit": "acme",
         "listing": "comments", "backfill": "3650d"},
        {"name": "rd-posts", "type": "reddit", "api_url": server.base, "subreddit": "acme", "backfill": "3650d"}]})
    pull_json(cli)
    found = conversations()
    assert found["t1_c1"] == ("t3_b2", "t3_b2") and found["t1_c0"] == ("t3_b2", "t3_b2")


def test_github_issue_comments_link_to_the_issue(server, cli, write_config):
    server.add("/search/issues", handler=Router([], default=Answer(fixture("github", "search_page1.json"))))
    server.add("/repos/acme/widgets/issues/comments", handler=Router([], default=Answer(fixture("github", "comments.json"))))
    write_config({"team": TEAM, "sources": [
        {"name": "gh", "type": "github", "api_url": server.base, "repo": "acme/widgets", "query": "acme"}]})
    pull_json(cli)
    found = conversations()
    issue = "https://github.com/acme/widgets/issues/5"
    assert found[issue + "#issuecomment-9001"] == (issue, issue)
    assert items()[issue]["responded_by"] == "alice"


def test_github_discussion_replies_thread_under_their_comment(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", "ghp_DiscussionsTokenValue0987654321")
    discussions_setup(server, write_config)
    pull_json(cli)
    found = conversations()
    assert found[D + "7#discussioncomment-101"] == (D + "7", D + "7")
    assert found[D + "7#discussioncomment-103"] == (D + "7", D + "7#discussioncomment-101")
    assert found[D + "9#discussioncomment-201"] == (D + "9#discussioncomment-201", None)  # its discussion is not stored


def test_items_json_has_conversation_id_and_ours(server, cli, write_config):
    url = server.add("/comments", atom([{"id": "post"}, {"id": "c1", "reply_to": "post", "author": "sam"}]))
    feed_config(write_config, url, team={"sam": {"handles": ["feed:sam"]}})
    pull_json(cli)
    import json

    listed = {r["guid"]: r for r in json.loads(cli("items", "--all", "--format", "json").stdout)}
    assert listed["c1"]["conversation_id"] == listed["post"]["id"] == listed["post"]["conversation_id"]
    assert (listed["c1"]["ours"], listed["post"]["ours"]) == ("sam", None)
