"""type: appstore — Apple's customer-review feed (JSON form) played from fixture files."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from apitools import Answer, Router, cursor, fixture, items, pull_json, source_result, warnings_of

APP = "1234567890"


def page(n: int, country: str = "us") -> str:
    return f"/{country}/rss/customerreviews/page={n}/id={APP}/sortby=mostrecent/json"


def serve(server: Any, **pages: Answer | list[Answer]) -> None:
    defaults = {"1": Answer(fixture("appstore", "page1.json")), "2": Answer(fixture("appstore", "page2.json"))}
    for n, answer in {**defaults, **pages}.items():
        server.add(page(int(n)), handler=Router([({}, answer)]))


def since(year: int, month: int, day: int) -> str:
    """A backfill reaching back to that day."""
    return f"{int(time.time() - datetime(year, month, day, tzinfo=timezone.utc).timestamp())}s"


def config(server: Any, **extra: Any) -> dict[str, Any]:
    source = {"name": "reviews", "type": "appstore", "api_url": server.base, "app_id": APP, "country": "us",
              "backfill": since(2024, 12, 1)}
    return {"lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"},
                      "sales_prospecting": {"sla": "1d"}},
            "rules": [{"name": "complaints", "lane": "customer_service", "any": ["refund", "crash*"]},
                      {"name": "leads", "lane": "sales_prospecting", "any": ["quote", "discount"]}],
            "fetch": {"retries": 0}, "sources": [{**source, **extra}]}


def test_first_pull_follows_pages_back_to_the_backfill(server, cli, write_config):
    serve(server)
    write_config(config(server))
    result = pull_json(cli)
    assert result["totals"]["new"] == 4  # the 2024-06 review is older than the backfill
    assert [r.path for r in server.requests] == [page(1), page(2)]
    got = items("reviews")
    crash = got["11900000003"]
    assert crash["title"] == "Crashes on checkout"
    assert crash["text"].startswith("Since the last update the app crashes")
    assert crash["author"] == "sleepyshopper"
    assert crash["published_at"] == "2025-01-10T11:40:00Z"  # -07:00 converted to UTC
    assert crash["url"] is None and crash["in_reply_to"] is None
    assert crash["extra"]["rating"] == 1 and crash["extra"]["version"] == "3.2.1"
    assert crash["extra"]["counts"] == {"vote_count": 3}  # attention; the rating is not
    assert got["11900000002"]["published_at"] == "2025-01-10T06:15:00Z"  # -08:00
    assert got["11900000001"]["published_at"] == "2025-01-09T08:00:00Z"  # +01:00
    assert cursor("reviews")["newest"] == "2025-01-10T11:40:00Z"


def test_a_review_is_a_first_contact_in_the_lane_its_rules_choose(server, cli, write_config):
    serve(server)
    write_config(config(server))
    pull_json(cli)
    got = items("reviews")
    assert got["11900000003"]["lane"] == "customer_service" and got["11900000003"]["status"] == "open"
    assert got["11900000001"]["lane"] == "sales_prospecting"
    assert got["11900000002"]["lane"] == "listening"


def test_second_pull_reads_one_page_and_adds_nothing(server, cli, write_config):
    serve(server)
    write_config(config(server))
    pull_json(cli)
    before = len(server.requests)
    result = pull_json(cli)
    assert result["totals"]["new"] == 0 and result["totals"]["updated"] == 0
    assert [r.path for r in server.requests[before:]] == [page(1)]


def test_one_review_as_an_object_and_an_app_without_reviews(server, cli, write_config):
    serve(server, **{"1": Answer(fixture("appstore", "single.json"))})
    server.add(page(1, "gb"), handler=Router([({}, Answer(fixture("appstore", "empty.json")))]))
    write_config({"sources": [config(server)["sources"][0],
                              {**config(server)["sources"][0], "name": "reviews-gb", "country": "gb"}]})
    result = pull_json(cli)
    assert set(items("reviews")) == {"11900000003"}
    assert items("reviews-gb") == {}
    assert warnings_of(result, "reviews-gb") == [f"no reviews for app {APP} in the GB store (is app_id right?)"]


def test_a_short_retry_after_is_waited_and_a_long_one_is_a_note(server, cli, write_config, sleeps):
    limited = Answer(b"", 429, {"Retry-After": "1"})
    serve(server, **{"1": [limited, Answer(fixture("appstore", "page1.json"))]})
    write_config({**config(server), "fetch": {"retries": 1}})
    result = pull_json(cli)
    assert result["totals"]["new"] == 4
    assert 1.0 in sleeps

    server.routes.clear()
    serve(server, **{"1": Answer(b"", 429, {"Retry-After": "3600"})})
    write_config({**config(server, name="later"), "fetch": {"retries": 1}})
    result = pull_json(cli)
    assert source_result(result, "later")["status"] == "ok"
    assert any("the App Store feed asked to wait" in w for w in warnings_of(result, "later"))
    assert "not_before" in cursor("later")


def test_a_malformed_feed_is_one_clean_error(server, cli, write_config):
    serve(server, **{"1": Answer(fixture("appstore", "malformed.json"))})
    write_config(config(server))
    result = cli("pull")
    assert result.exit_code == 1
    assert "expected `feed.entry` (a JSON list), got a string" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_validation(cli, write_config):
    write_config({"sources": [
        {"name": "a", "type": "appstore"},
        {"name": "b", "type": "appstore", "app_id": "acme", "country": "usa"},
        {"name": "c", "type": "appstore", "app_id": "id1234567890", "country": "gb"}]})
    result = cli("check")
    text = result.stdout + result.stderr
    assert result.exit_code == 2
    assert "sources[0].app_id: is required" in text
    assert "sources[1].app_id: expected the app's numeric id" in text
    assert "sources[1].country: expected a two-letter store country code" in text
    assert "sources[2]" not in text
