"""type: lemmy — an instance's /api/v3/search played from fixtures shaped like lemmy-js-client's types."""

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

SEARCH = "/api/v3/search"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.lemmy-jwt-0123456789"
H = "lemmy.example"


def serve(server: Any, *extra: tuple[Any, Answer | list[Answer]]) -> None:
    server.add(SEARCH, handler=Router([*extra, ({"page": "1"}, Answer(fixture("lemmy", "search_page1.json")))],
                                      default=Answer(fixture("lemmy", "search_empty.json"))))


def config(server: Any, **extra: Any) -> dict[str, Any]:
    source = {"name": "lemmy", "type": "lemmy", "instance": "https://lemmy.example", "api_url": server.base,
              "query": "acme", "backfill": "3650d"}
    return {"team": {"acme": {"handles": ["lemmy:acme_support@lemmy.example"]}}, "fetch": {"retries": 0},
            "sources": [{**source, **extra}]}


def full_page(kind: str) -> str:
    """A page of 50 posts (or comments) made from the fixture's first one, ids counting down."""
    import json

    doc = json.loads(fixture("lemmy", "search_page1.json"))
    view = doc[kind][-1]
    key = "post" if kind == "posts" else "comment"
    views = []
    for n in range(50):
        copy = json.loads(json.dumps(view))
        copy[key]["id"] = 20000 - n
        if key == "comment":
            copy["comment"]["path"] = f"0.{20000 - n}"
        views.append(copy)
    doc[kind] = views
    return json.dumps(doc)


def test_posts_and_comments_with_parents_from_the_comment_path(server, cli, write_config):
    serve(server)
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 3
    assert query(server.hits(SEARCH)[0].path) == {"q": "acme", "type_": "All", "sort": "New", "listing_type": "All",
                                                  "limit": "50", "page": "1"}
    got = items("lemmy")
    post = got[f"{H}:post:3301"]
    assert post["title"] == "Anyone using acme for invoicing?"
    assert post["text"] == "Our shop needs invoices in two currencies. Is acme any good?"
    assert post["author"] == "jane@lemmy.world"
    assert post["url"] == "https://lemmy.world/post/12301"
    assert post["published_at"] == "2025-01-10T11:40:00Z"
    assert post["extra"]["counts"] == {"score": 12, "reply_count": 3}
    assert post["extra"]["upvote_count"] == 13 and post["extra"]["downvote_count"] == 1
    assert post["extra"]["community"] == "smallbusiness"
    top = got[f"{H}:comment:7701"]
    assert top["in_reply_to"] == f"{H}:post:3301"  # path 0.7701: answers the post
    assert top["text"].startswith("Hi! acme does multi-currency invoices")
    nested = got[f"{H}:comment:7702"]
    assert nested["in_reply_to"] == f"{H}:comment:7701"  # path 0.7701.7702: answers comment 7701
    assert nested["extra"]["post_title"] == "Anyone using acme for invoicing?"
    assert cursor("lemmy")["newest"] == "2025-01-10T12:05:00Z"


def test_our_comment_answers_the_post_and_their_reply_points_at_ours(server, cli, write_config):
    serve(server)
    write_config(config(server))
    pull_json(cli)
    got = items("lemmy")
    ours, theirs, post = got[f"{H}:comment:7701"], got[f"{H}:comment:7702"], got[f"{H}:post:3301"]
    assert ours["ours"] == "acme"
    assert post["status"] == "responded" and post["responded_at"] == "2025-01-10T11:50:00Z"
    assert theirs["in_reply_to"] == ours["guid"] and theirs["ours"] is None


def test_full_pages_are_followed_and_a_second_pull_adds_nothing(server, cli, write_config):
    serve(server, ({"page": "1"}, Answer(full_page("comments"))),
          ({"page": "2"}, Answer(fixture("lemmy", "search_page2.json"))))
    write_config(config(server))
    result = pull_json(cli)
    assert [query(r.path)["page"] for r in server.hits(SEARCH)] == ["1", "2"]  # page 2 is not full: the end
    assert result["totals"]["new"] == 1 + 50 + 2
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and result["totals"]["updated"] == 0
    assert [query(r.path)["page"] for r in server.requests[before:]] == ["1"]  # page 1 reaches known items


def test_a_rate_limit_is_a_note_not_a_failure(server, cli, write_config):
    serve(server, ({"page": "1"}, Answer(fixture("lemmy", "rate_limited.json"), 429)))
    write_config(config(server))
    result = pull_json(cli)
    assert source_result(result, "lemmy")["status"] == "ok"
    assert any("Lemmy rate limit (rate_limit_error)" in w for w in warnings_of(result, "lemmy"))
    assert "not_before" in cursor("lemmy")


def test_a_refused_token_names_its_variable(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("LEMMY_TOKEN", TOKEN)
    serve(server, ({}, Answer(fixture("lemmy", "not_logged_in.json"), 400)))
    write_config(config(server, token_env="LEMMY_TOKEN"))
    result = cli("pull")
    assert result.exit_code == 1
    assert ("lemmy: the Lemmy instance refused the search (not_logged_in): check the token in LEMMY_TOKEN "
            "(token_env)") in result.stderr
    assert server.hits(SEARCH)[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in result.stdout + result.stderr and TOKEN.encode() not in database_bytes()


def test_lemmy_1_0_search_and_a_missing_v3_api_are_reported(server, cli, write_config):
    serve(server, ({}, Answer(fixture("lemmy", "search_v1.json"))))
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "the instance answered with Lemmy 1.0's search (api v4: search_term, page_cursor)" in result.stderr

    server.routes.clear()
    result = cli("pull")
    assert result.exit_code == 1
    assert "HTTP 404: this instance has no Lemmy 0.19 search (/api/v3/search)" in result.stderr


def test_a_malformed_answer_is_one_clean_error(server, cli, write_config):
    serve(server, ({}, Answer(fixture("lemmy", "not_a_list.json"))))
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected `posts` (a JSON list), got an object" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_validation(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "lemmy"},
        {"name": "b", "type": "lemmy", "instance": "lemmy.world/c/x", "query": "acme", "community": ""}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].instance: is required" in text and "sources[0].query: is required" in text
    assert "sources[1].instance: expected the server's address" in text
    assert "sources[1].community: expected a non-empty string" in text
