"""type: lobsters — newest stories (no search) filtered by `keep:`, and the comments of kept stories."""

from __future__ import annotations

import json
from typing import Any

from apitools import Answer, Router, cursor, fixture, items, pull_json, source_result, warnings_of


def serve(server: Any, **routes: Answer | list[Answer]) -> None:
    defaults: dict[str, Answer | list[Answer]] = {
        "/newest.json": Answer(fixture("lobsters", "newest.json")),
        "/newest/page/2.json": Answer(fixture("lobsters", "newest_page2.json")),
        "/newest/page/3.json": Answer(fixture("lobsters", "newest_page3.json")),
        "/s/a1cme9.json": Answer(fixture("lobsters", "story_a1cme9.json")),
        "/t/rust.json": Answer(fixture("lobsters", "tag_rust.json")),
        "/t/rust/page/2.json": Answer(fixture("lobsters", "newest_page3.json"))}
    for path, answer in {**defaults, **routes}.items():
        server.add(path, handler=Router([({}, answer)]))


def config(server: Any, **extra: Any) -> dict[str, Any]:
    source = {"name": "lobsters", "type": "lobsters", "api_url": server.base, "keep": ["acme"],
              "backfill": "3650d", "follow": "3650d"}
    return {"team": {"alice": {"handles": ["lobsters:acme_alice"]}}, "fetch": {"retries": 0},
            "sources": [{**source, **extra}]}


def paths(requests: list[Any]) -> list[str]:
    return [r.path for r in requests]


def test_keep_decides_what_is_stored_and_kept_stories_bring_their_comments(server, cli, write_config):
    serve(server)
    write_config(config(server))
    result = pull_json(cli)
    assert paths(server.requests) == ["/newest.json", "/newest/page/2.json", "/newest/page/3.json", "/s/a1cme9.json"]
    assert result["sources"][0]["seen"] == 5 + 3
    got = items("lobsters")
    # The teletype and compilers stories do not mention acme; the comments join their kept story.
    assert sorted(got) == ["a1cme9", "b2acm3", "c0jane", "c1ours", "c2them", "old222"]
    story = got["a1cme9"]
    assert story["title"] == "Acme's new sync engine, written in Rust"
    assert story["url"] == "https://lobste.rs/s/a1cme9"
    assert story["author"] == "jane"
    assert story["published_at"] == "2025-01-10T11:40:00Z"  # -06:00 converted to UTC
    assert story["extra"]["counts"] == {"score": 14, "reply_count": 3}
    assert story["extra"]["link"] == "https://acme.example/blog/sync-engine"
    assert got["b2acm3"]["text"] == "We are evaluating acme for a small team. Experiences?"
    assert got["c0jane"]["in_reply_to"] == "a1cme9"  # a top-level comment answers the story
    assert cursor("lobsters")["newest"] == "2025-01-10T11:40:00Z"
    assert cursor("lobsters")["threads"]["a1cme9"] == ["2025-01-10T11:40:00Z", 3]


def test_our_comment_answers_and_their_reply_points_at_ours(server, cli, write_config):
    serve(server)
    write_config(config(server))
    pull_json(cli)
    got = items("lobsters")
    assert got["c1ours"]["ours"] == "alice" and got["c1ours"]["in_reply_to"] == "c0jane"
    assert got["c0jane"]["status"] == "responded" and got["c0jane"]["responded_at"] == "2025-01-10T12:20:00Z"
    assert got["c2them"]["in_reply_to"] == "c1ours" and got["c2them"]["ours"] is None


def test_second_pull_reads_one_page_and_asks_only_for_stories_with_new_comments(server, cli, write_config):
    old = {**json.loads(fixture("lobsters", "newest_page2.json"))[1], "comments": []}
    serve(server, **{"/s/old222.json": Answer(json.dumps(old))})
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and result["totals"]["updated"] == 0
    # Page one reaches known stories and lists two followed ones with the comment counts already seen;
    # the followed story no longer on page one is asked for (its count is not listed).
    assert paths(server.requests[before:]) == ["/newest.json", "/s/old222.json"]
    stories = json.loads(fixture("lobsters", "newest.json"))
    stories[0]["comment_count"] = 4
    serve(server, **{"/newest.json": Answer(json.dumps(stories))})
    pull_json(cli)
    assert paths(server.requests)[-3:] == ["/newest.json", "/s/a1cme9.json", "/s/old222.json"]
    assert cursor("lobsters")["threads"]["a1cme9"][1] == 3  # what the story page said


def test_a_tag_listing(server, cli, write_config):
    serve(server)
    write_config(config(server, tag="rust", keep=None))
    pull_json(cli)
    assert paths(server.requests)[:2] == ["/t/rust.json", "/t/rust/page/2.json"]
    assert "a1cme9" in items("lobsters")


def test_a_long_retry_after_is_a_note(server, cli, write_config):
    serve(server, **{"/newest/page/2.json": Answer(b"", 429, {"Retry-After": "3600"})})
    write_config({**config(server), "fetch": {"retries": 1}})
    result = pull_json(cli)
    assert source_result(result, "lobsters")["status"] == "ok"
    assert any("Lobsters asked to wait" in w for w in warnings_of(result, "lobsters"))
    assert "a1cme9" in items("lobsters")  # what came before the limit is kept
    assert "not_before" in cursor("lobsters")


def test_a_malformed_listing_is_one_clean_error(server, cli, write_config):
    serve(server, **{"/newest.json": Answer(fixture("lobsters", "not_a_list.json"))})
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected a list of stories (a JSON list), got an object" in result.stderr
    assert "Traceback" not in result.stderr


def test_older_lobsters_submitter_objects_are_read(server, cli, write_config):
    stories = json.loads(fixture("lobsters", "newest.json"))
    for story in stories:
        story["submitter_user"] = {"username": story["submitter_user"], "karma": 10}
    serve(server, **{"/newest.json": Answer(json.dumps(stories))})
    write_config(config(server))
    pull_json(cli)
    assert items("lobsters")["a1cme9"]["author"] == "jane"


def test_config_validation(cli, write_config):
    write_config({"sources": [{"name": "a", "type": "lobsters", "tag": "Not A Tag", "follow": "soon"}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].tag: expected a Lobsters tag" in text
    assert "sources[0].follow: expected a duration" in text
