"""type: github with discussions: true — GitHub's GraphQL search played from fixture files, and POST in the engine."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from types import SimpleNamespace
from typing import Any

import pytest
from apitools import (
    Answer,
    Router,
    cursor,
    database_bytes,
    fixture,
    items,
    pull_json,
    rows,
    send,
    source_result,
    warnings_of,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from socialscale.errors import FetchError, ParseError
from socialscale.fetch import Fetcher
from socialscale.models import FetchSettings, Item
from socialscale.sources import github_discussions

GRAPHQL = "/graphql"
SEARCH = "/search/issues"
TOKEN = "ghp_DiscussionsTokenValue0987654321"
D = "https://github.com/acme/widgets/discussions/"
PAGE2 = "Y3Vyc29yOjI="


class GraphQL(Router):
    """Answers POST /graphql by the posted variables: the first case whose test passes wins.

    A case may hold a list of answers, given out in turn (the last repeats)."""

    def __init__(self, cases: list[tuple[Callable[[dict[str, Any]], bool], Answer | list[Answer]]],
                 default: Answer) -> None:
        super().__init__(list(cases), default)  # type: ignore[arg-type]
        self.posted: list[dict[str, Any]] = []

    def keys(self, handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        body = json.loads(getattr(handler, "body", b"") or b"{}")
        self.posted.append(body)
        return dict(body.get("variables") or {})


def pages(*extra: tuple[Callable[[dict[str, Any]], bool], Answer | list[Answer]]) -> GraphQL:
    return GraphQL([*extra, (lambda v: v.get("after") == PAGE2, Answer(fixture("github", "discussions_page2.json")))],
                   default=Answer(fixture("github", "discussions_page1.json")))


def setup(server: Any, write_config: Any, graphql: GraphQL | None = None, team: bool = False,
          **extra: Any) -> GraphQL:
    graphql = graphql or pages()
    server.add(SEARCH, handler=Router([], default=Answer(fixture("github", "search_empty.json"))))
    server.add(GRAPHQL, handler=graphql)
    source = {"name": "gh", "type": "github", "api_url": server.base, "query": "acme", "repo": "acme/widgets",
              "comments": False, "discussions": True, "token_env": "GH_TOKEN", "backfill": "3650d", **extra}
    config: dict[str, Any] = {"sources": [{k: v for k, v in source.items() if v is not None}]}
    if team:
        config["team"] = {"alice": {"handles": ["github:acme-alice"]}}
    write_config(config)
    return graphql


def bound(q: str) -> datetime:
    stamp = q.split("updated:>=", 1)[1].split()[0]
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    return TOKEN


def test_first_pull_reads_discussions_comments_and_replies(server, cli, write_config, token):
    graphql = setup(server, write_config)
    result = pull_json(cli)
    assert result["totals"]["new"] == 6
    posts = server.hits(GRAPHQL)
    assert [r.method for r in posts] == ["POST", "POST"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in posts)
    assert posts[0].headers["content-type"] == "application/json"
    first, second = (body["variables"] for body in graphql.posted)
    assert "search(type: DISCUSSION, query: $q, first: $first, after: $after)" in graphql.posted[0]["query"]
    assert "rateLimit { cost remaining resetAt }" in graphql.posted[0]["query"]
    assert first["q"].startswith("acme repo:acme/widgets updated:>=") and first["q"].endswith(" sort:updated-asc")
    assert abs((bound(first["q"]) - (datetime.now(timezone.utc) - timedelta(days=3650))).total_seconds()) < 30
    assert (first["first"], first["after"], first["comments"], first["replies"]) == (25, None, 50, 20)
    assert second == {**first, "after": PAGE2}

    got = items("gh")
    assert set(got) == {D + "7", D + "7#discussioncomment-101", D + "7#discussioncomment-103",
                        D + "7#discussioncomment-102", D + "8", D + "9#discussioncomment-201"}
    discussion = got[D + "7"]
    assert discussion["title"] == "How do I <configure> widgets?"  # plain text as written, escaped on display
    assert discussion["text"] == "I tried `acme run --config`, nothing happens <b>at all</b>."
    assert (discussion["author"], discussion["published_at"]) == ("jdoe", "2025-01-10T09:00:00Z")
    assert discussion["extra"] == {"number": "7", "repo": "acme/widgets", "kind": "discussion", "category": "Q&A",
                                   "counts": {"upvoteCount": 5, "comments": 2}}
    assert discussion["reach"] == 7
    assert got[D + "8"]["author"] is None  # a deleted account ("ghost") has no author
    comment = got[D + "7#discussioncomment-101"]
    assert (comment["in_reply_to"], comment["author"], comment["title"]) == (D + "7", "mallory", "")
    assert comment["extra"] == {"repo": "acme/widgets", "number": "7", "comment_id": "DC_kwDOAc101",
                                "kind": "discussion_comment", "counts": {"upvoteCount": 2, "replies": 1}}
    assert comment["reach"] == 3
    assert got[D + "7#discussioncomment-102"]["extra"]["answer"] is True
    assert got[D + "7#discussioncomment-103"]["in_reply_to"] == D + "7#discussioncomment-101"  # replyTo
    # Discussion 9 was created in 2014, before the backfill: its new comment is kept, it is not.
    assert got[D + "9#discussioncomment-201"]["in_reply_to"] == D + "9"
    assert any("had more comments or replies than are read" in w for w in warnings_of(result, "gh"))
    stored = cursor("gh")["discussions"]
    assert stored["updated"] == "2025-01-10T12:00:00Z"
    assert abs((datetime.strptime(stored["origin"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                - bound(first["q"])).total_seconds()) <= 1
    assert len(server.hits(SEARCH)) == 1  # the issue search still runs alongside


def test_second_pull_asks_only_for_newer_discussions(server, cli, write_config, token):
    graphql = setup(server, write_config, pages((lambda v: "2025-01-10T11:55:00Z" in v["q"],
                                                 Answer(fixture("github", "discussions_newer.json")))))
    pull_json(cli)
    origin = cursor("gh")["discussions"]["origin"]
    result = pull_json(cli)
    assert result["totals"]["new"] == 1
    assert len(graphql.posted) == 3
    # The newest update seen less 5 minutes; the same origin, so nothing older than the first pull's bound.
    assert graphql.posted[2]["variables"]["q"] == "acme repo:acme/widgets updated:>=2025-01-10T11:55:00Z sort:updated-asc"
    assert graphql.posted[2]["variables"]["after"] is None
    assert items("gh")[D + "10"]["title"] == "Widgets on ARM?"
    assert cursor("gh")["discussions"] == {"origin": origin, "updated": "2025-01-11T08:00:00Z"}


def test_a_team_members_comment_answers_the_discussion(server, cli, write_config, token):
    setup(server, write_config, team=True)
    pull_json(cli)
    got = items("gh")
    discussion = got[D + "7"]
    assert (discussion["status"], discussion["responded_by"], discussion["response_via"]) == \
        ("responded", "alice", "reply")
    assert discussion["responded_at"] == "2025-01-10T10:00:00Z"  # the answer, not the later threaded reply
    assert discussion["response_url"] == D + "7#discussioncomment-102"
    # mallory's comment came before alice's top-level answer in the same discussion: that answer answers
    # the thread, mallory's comment included (design.md, "Conversations"), before the reply under it.
    comment = got[D + "7#discussioncomment-101"]
    assert (comment["responded_at"], comment["response_url"]) == ("2025-01-10T10:00:00Z",
                                                                   D + "7#discussioncomment-102")
    assert got[D + "7#discussioncomment-102"]["ours"] == "alice"
    assert got[D + "7#discussioncomment-103"]["ours"] == "alice"  # handles match case-insensitively
    assert got[D + "8"]["responded_at"] is None and got[D + "9#discussioncomment-201"]["responded_at"] is None
    listed = json.loads(cli("items", "--status", "responded", "--format", "json").stdout)
    assert {i["url"]: i["response_url"] for i in listed if i["source"] == "gh"} == {
        D + "7": D + "7#discussioncomment-102", D + "7#discussioncomment-101": D + "7#discussioncomment-102"}


def test_without_a_token_discussions_are_a_note_not_an_error(server, cli, write_config):
    setup(server, write_config, token_env=None)
    result = pull_json(cli)
    assert source_result(result, "gh")["status"] == "ok"
    assert not server.hits(GRAPHQL)
    assert len(server.hits(SEARCH)) == 1
    assert any("discussions not pulled" in w and "requires a token; set token_env" in w
               for w in warnings_of(result, "gh"))
    assert "discussions" not in cursor("gh")


def test_a_spent_graphql_limit_is_waited_out(server, cli, write_config, token, sleeps):
    reset = str(int(time.time()) + 2)
    limited = Answer(fixture("github", "graphql_rate_limited.json"), 200,
                     {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset,
                      "X-RateLimit-Resource": "graphql"})
    setup(server, write_config, GraphQL([(lambda v: True, [limited, Answer(fixture("github", "discussions_empty.json"))])],
                                        default=Answer(b"{}", 500)))
    result = pull_json(cli)
    waits = [s for s in sleeps if s > 0]
    assert len(waits) == 1 and 0 < waits[0] <= 2, sleeps  # until X-RateLimit-Reset, at most 2s away
    assert len(server.hits(GRAPHQL)) == 2
    assert any(w.startswith("waited") and "GitHub rate limit" in w for w in warnings_of(result, "gh"))


def test_rate_limit_fields_in_the_response_stop_paging_and_are_remembered(server, cli, write_config, token):
    page = json.loads(fixture("github", "discussions_page1.json"))
    reset = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page["data"]["rateLimit"] = {"cost": 2, "remaining": 1, "resetAt": reset}
    setup(server, write_config, GraphQL([], default=Answer(json.dumps(page))))
    result = pull_json(cli)
    assert source_result(result, "gh")["status"] == "ok"
    assert len(server.hits(GRAPHQL)) == 1  # 1 point left, a page costs 2: page 2 waits for the reset
    assert any("GitHub GraphQL rate limit (rateLimit.remaining is 1): asked to wait" in w
               for w in warnings_of(result, "gh"))
    assert result["totals"]["new"] == 5  # page 1 is kept
    assert cursor("gh")["not_before"] >= reset
    assert cursor("gh")["discussions"]["updated"] == "2025-01-10T11:30:00Z"
    again = pull_json(cli)
    assert len(server.hits(GRAPHQL)) == 1
    assert any(w.startswith("not asked") for w in warnings_of(again, "gh"))


def test_graphql_errors_are_a_clean_error_of_the_source(server, cli, write_config, token):
    def echo(handler: BaseHTTPRequestHandler) -> None:  # a hostile server repeating our credentials back
        send(handler, Answer(json.dumps({"errors": [{"message": f"Bad credentials {handler.headers['Authorization']}"}]})))

    setup(server, write_config, GraphQL([], default=Answer(fixture("github", "graphql_errors.json"))))
    server.add("/echo" + GRAPHQL, handler=echo)
    server.add("/echo" + SEARCH, handler=Router([], default=Answer(fixture("github", "search_empty.json"))))
    config = {"name": "gh", "type": "github", "api_url": server.base, "query": "acme", "discussions": True,
              "token_env": "GH_TOKEN"}
    write_config({"sources": [config, {**config, "name": "echo", "api_url": server.base + "/echo"}]})
    result = cli("pull")
    assert result.exit_code == 1
    assert (f"{server.base}/graphql: GraphQL error: Invalid search query: the listed users and repositories "
            "cannot be searched") in result.stderr
    assert "GraphQL error: Bad credentials Bearer ***" in result.stderr
    assert rows("SELECT COUNT(*) AS n FROM items")[0]["n"] == 0
    outputs = [result.stdout, result.stderr, cli("sources", "--format", "json").stdout]
    assert all(TOKEN not in text for text in outputs)
    assert TOKEN.encode() not in database_bytes()


def test_token_never_reaches_output_or_the_database(server, cli, write_config, token):
    setup(server, write_config, team=True)
    result = cli("--verbose", "pull")
    assert result.exit_code == 0, result.stderr
    outputs = [result.stdout, result.stderr, cli("sources", "--format", "json").stdout,
               cli("items", "--format", "json").stdout]
    assert all(TOKEN not in text for text in outputs)
    assert TOKEN.encode() not in database_bytes()


def test_discussions_option_is_validated(cli, write_config):
    write_config({"sources": [{"name": "g", "type": "github", "repo": "acme/widgets", "discussions": "yes"}]})
    result = cli("check")
    assert "sources[0].discussions: expected true or false" in result.stdout + result.stderr
    # GraphQL lives next to the REST base, and at /api/graphql beside GitHub Enterprise Server's /api/v3.
    assert github_discussions.graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert github_discussions.graphql_url("https://ghe.example/api/v3") == "https://ghe.example/api/graphql"


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
KEYS = ["url", "createdAt", "updatedAt", "title", "bodyText", "author", "login", "number", "id", "repository",
        "category", "comments", "replies", "nodes", "totalCount", "replyTo", "isAnswer", "cost", "remaining",
        "resetAt", "type", "message"]
shapes = st.recursive(st.dictionaries(st.sampled_from(KEYS), scalars, max_size=6),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
                      max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.one_of(shapes, values))
def test_any_graphql_json_gives_items_a_wait_or_a_parse_error(node: Any) -> None:
    now = datetime(2025, 1, 10, tzinfo=timezone.utc)
    waits: list[float] = []
    run: Any = SimpleNamespace(ctx=SimpleNamespace(source=SimpleNamespace(name="s"), now=now), items=[],
                               pending=None, limit_hit=lambda seconds, why: waits.append(seconds))
    try:
        github_discussions._collect(run, node, now - timedelta(days=3650))
        github_discussions._budget(run, node if isinstance(node, dict) else {})
    except ParseError:
        return
    assert isinstance(github_discussions._rate_limited(node), bool)
    assert all(isinstance(m, str) for m in github_discussions._messages(node))
    for item in run.items:
        assert isinstance(item, Item) and item.guid and isinstance(item.text, str)
        json.dumps(item.extra)  # storable


# --- the fetch engine's POST -------------------------------------------------------------------------

def post(url: str, retries: int = 2, read_timeout: float = 5.0) -> Any:
    async def go() -> Any:
        settings = FetchSettings(retries=retries, read_timeout_s=read_timeout)
        async with Fetcher(settings) as fetcher:
            return await fetcher.post(url, json={"query": "{ viewer { login } }"}, raise_for_status=False)

    return asyncio.run(go())


def test_post_is_retried_only_where_the_server_cannot_have_acted(server):
    server.add("/busy", handler=Router([({}, [Answer(b"{}", 503, {"Retry-After": "0"}), Answer(b'{"data": 1}')])]))
    server.add("/slow-down", handler=Router([({}, [Answer(b"{}", 429, {"Retry-After": "0"}), Answer(b'{"data": 2}')])]))
    server.add("/broken", handler=Router([], default=Answer(b"{}", 502)))
    assert post(server.url("/busy")).json() == {"data": 1} and len(server.hits("/busy")) == 2
    assert post(server.url("/slow-down")).json() == {"data": 2} and len(server.hits("/slow-down")) == 2
    assert post(server.url("/broken")).status == 502 and len(server.hits("/broken")) == 1  # a GET would retry
    assert json.loads(server.posts[0][1]) == {"query": "{ viewer { login } }"}


def test_post_is_not_retried_after_a_read_timeout_but_is_after_a_refused_connection(server):
    server.add("/stuck", b"{}", delay=1.0)
    with pytest.raises(FetchError, match="read timed out \\(a POST is not retried once sent\\)"):
        post(server.url("/stuck"), read_timeout=0.3)
    assert len(server.hits("/stuck")) == 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    with pytest.raises(FetchError, match="connection refused \\(gave up after 2 attempts\\)"):
        post(f"http://127.0.0.1:{dead}/graphql", retries=1)
