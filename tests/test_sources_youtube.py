"""type: youtube — commentThreads and comments of the Data API v3 played from fixture files."""

from __future__ import annotations

from typing import Any

from apitools import (
    Answer,
    Router,
    cursor,
    database_bytes,
    fixture,
    items,
    pull_json,
    query,
    source_result,
    warnings_of,
)

THREADS = "/youtube/v3/commentThreads"
COMMENTS = "/youtube/v3/comments"
CHANNEL = "UCacmeRoasters0000000001"
KEY = "AIzaSyD-example-key-0123456789abcdefg"
T1 = "UgzJanE1xQ0p9kq2AaABAg"
T2 = "UgxBoB2yR1q8lm3BbBCAg"


def serve(server: Any, threads: Router | None = None, comments: Router | None = None) -> None:
    server.add(THREADS, handler=threads or Router([
        ({"pageToken": "QURTSl9pMkFjbWUyMDI1"}, Answer(fixture("youtube", "threads_page2.json"))),
        (lambda q: "pageToken" not in q, Answer(fixture("youtube", "threads_page1.json")))]))
    server.add(COMMENTS, handler=comments or Router([({"parentId": T2}, Answer(fixture("youtube", "replies_t2.json")))]))


def config(server: Any, monkeypatch: Any, **extra: Any) -> dict[str, Any]:
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    source = {"name": "yt", "type": "youtube", "api_url": server.base, "channel_id": CHANNEL,
              "key_env": "YOUTUBE_API_KEY", "backfill": "3650d"}
    return {"team": {"acme": {"handles": [f"youtube:{CHANNEL}"]}}, "fetch": {"retries": 0},
            "sources": [{**source, **extra}]}


def test_threads_page_and_replies_link_to_their_top_comment(server, cli, write_config, monkeypatch):
    serve(server)
    write_config(config(server, monkeypatch))
    result = cli("--verbose", "pull", "--format", "json")
    assert result.exit_code == 0, result.stderr
    asked = [query(r.path) for r in server.hits(THREADS)]
    assert asked[0] == {"part": "snippet,replies", "allThreadsRelatedToChannelId": CHANNEL, "order": "time",
                        "maxResults": "100", "textFormat": "plainText", "key": KEY}
    assert asked[1]["pageToken"] == "QURTSl9pMkFjbWUyMDI1"
    # Thread 2 shows 2 of its 3 replies: the rest come from comments.list.
    assert [query(r.path)["parentId"] for r in server.hits(COMMENTS)] == [T2]
    got = items("yt")
    assert len(got) == 3 + 4 + 1
    top = got[T1]
    assert top["author"] == "@janedoe"
    assert top["text"] == "The acme grinder in this video squeaks, mine too. Can I get a refund?"
    assert top["url"] == f"https://www.youtube.com/watch?v=dQw4acme001&lc={T1}"
    assert top["published_at"] == "2025-01-10T11:40:00Z"
    assert top["extra"]["counts"] == {"like_count": 4, "reply_count": 2}
    assert top["extra"]["author_id"] == "UCjane00000000000000000a"
    assert got[f"{T2}.DanReply0001"]["in_reply_to"] == T2
    assert all(r["in_reply_to"] == T2 for g, r in got.items() if g.startswith(f"{T2}."))
    assert cursor("yt")["newest"] == "2025-01-10T12:05:00Z"
    for output in (result.stdout, result.stderr):
        assert KEY not in output
    assert KEY.encode() not in database_bytes()


def test_the_channel_owners_reply_is_ours_and_answers_and_their_reply_follows(server, cli, write_config,
                                                                               monkeypatch):
    serve(server)
    write_config(config(server, monkeypatch))
    pull_json(cli)
    got = items("yt")
    ours, theirs = got[f"{T1}.AcmeReply00"], got[f"{T1}.AcmeReply01"]
    assert ours["ours"] == "acme" and ours["in_reply_to"] == T1
    assert got[T1]["status"] == "responded" and got[T1]["responded_by"] == "acme"
    assert got[T1]["responded_at"] == "2025-01-10T11:50:00Z"
    assert theirs["ours"] is None and theirs["in_reply_to"] == T1  # the thread's top comment
    assert theirs["published_at"] > ours["published_at"]


def test_second_pull_stops_at_the_first_page_and_adds_nothing(server, cli, write_config, monkeypatch):
    serve(server)
    write_config(config(server, monkeypatch))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and result["totals"]["updated"] == 0
    assert [r.path.split("?")[0] for r in server.requests[before:]] == [THREADS]


def test_quota_exceeded_is_a_note_and_the_next_pull_waits(server, cli, write_config, monkeypatch):
    serve(server, threads=Router([], default=Answer(fixture("youtube", "quota_exceeded.json"), 403)))
    write_config(config(server, monkeypatch))
    result = pull_json(cli)
    assert source_result(result, "yt")["status"] == "ok"
    assert any("YouTube API daily quota used up (quotaExceeded); it resets at midnight Pacific time" in w
               for w in warnings_of(result, "yt"))
    assert "not_before" in cursor("yt")
    asked = len(server.requests)
    result = pull_json(cli)
    assert any(w.startswith("not asked") for w in warnings_of(result, "yt")) and len(server.requests) == asked


def test_a_rate_limit_mid_pull_keeps_what_came_before(server, cli, write_config, monkeypatch):
    serve(server, comments=Router([], default=Answer(fixture("youtube", "rate_limited.json"), 403)))
    write_config(config(server, monkeypatch))
    result = pull_json(cli)
    assert source_result(result, "yt")["status"] == "ok"
    assert any("YouTube API rate limit (rateLimitExceeded)" in w for w in warnings_of(result, "yt"))
    assert T1 in items("yt")


def test_an_invalid_key_is_one_line_naming_the_variable(server, cli, write_config, monkeypatch):
    serve(server, threads=Router([], default=Answer(fixture("youtube", "key_invalid.json"), 400)))
    write_config(config(server, monkeypatch))
    result = cli("pull")
    assert result.exit_code == 1
    assert ("yt: YouTube refused the API key in YOUTUBE_API_KEY (key_env): API key not valid. Please pass a valid "
            "API key.") in result.stderr
    assert KEY not in result.stdout + result.stderr

    monkeypatch.delenv("YOUTUBE_API_KEY")
    result = cli("pull")
    assert "yt: environment variable YOUTUBE_API_KEY (key_env) is not set or empty" in result.stderr


def test_a_malformed_answer_is_one_clean_error(server, cli, write_config, monkeypatch):
    serve(server, threads=Router([], default=Answer(fixture("youtube", "not_a_list.json"))))
    write_config(config(server, monkeypatch))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected `items` (a JSON list), got an object" in result.stderr
    assert "key=***" in result.stderr and KEY not in result.stderr


def test_config_validation(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "youtube"},
        {"name": "b", "type": "youtube", "channel_id": "acme", "key_env": "AIzaSy-real-key"}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].channel_id: is required" in text and "sources[0].key_env: is required" in text
    assert "sources[1].channel_id: expected a channel id" in text
    assert "sources[1].key_env: expected the NAME of an environment variable" in text
    assert "AIzaSy-real-key" not in text
