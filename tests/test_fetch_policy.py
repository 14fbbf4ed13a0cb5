"""The fetch engine's retry policy, `classify(outcome, attempt)`, decided without a server.

(The loop around it, with real servers, is tested in test_pull.py and tests/hostile/test_hostile_http.py.)
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from socialscale.fetch import Done, Fail, FetchResult, Retry, RetryPolicy, classify

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
GET = RetryPolicy("GET", attempts=3)
POST = RetryPolicy("POST", attempts=3)


def response(status: int, **headers: str) -> FetchResult:
    return FetchResult(url="https://example.com/f", final_url="https://example.com/f", status=status, headers=headers)


def decide(outcome: FetchResult | Exception, attempt: int = 1, policy: RetryPolicy = GET, jitter: float = 0.0):
    return classify(outcome, attempt, policy, now=NOW, jitter=jitter)


def test_a_success_or_not_modified_is_done():
    ok = response(200)
    assert decide(ok) == Done(ok)
    same = response(304)
    same.not_modified = True
    assert decide(same) == Done(same)


def test_an_error_status_fails_at_once_unless_the_caller_reads_error_bodies():
    missing = response(404)
    assert decide(missing) == Fail("HTTP 404 Not Found", status=404)
    assert decide(missing, policy=RetryPolicy("GET", raise_for_status=False)) == Done(missing)
    assert decide(response(302)) == Fail("HTTP 302 Found without a Location to follow")


def test_a_passing_failure_is_retried_with_backoff_growing_per_attempt():
    assert decide(response(503), attempt=1, jitter=0.0) == Retry(0.25, "HTTP 503 Service Unavailable", status=503)
    assert decide(response(502), attempt=2, jitter=0.5) == Retry(0.75, "HTTP 502 Bad Gateway", status=502)
    late = decide(httpx.ConnectError("boom"), attempt=20, policy=RetryPolicy(attempts=30), jitter=0.999)
    assert isinstance(late, Retry) and 29 < late.delay < 30  # capped at MAX_BACKOFF_S


def test_retry_after_sets_the_delay_and_is_remembered_for_the_host():
    assert decide(response(429, **{"retry-after": "120"})) == Retry(120.0, "HTTP 429 Too Many Requests", hold=120.0, status=429)
    dated = decide(response(503, **{"retry-after": "Wed, 01 May 2024 12:05:00 GMT"}))
    assert dated == Retry(300.0, "HTTP 503 Service Unavailable", hold=300.0, status=503)


def test_an_absurd_retry_after_is_capped():
    decision = decide(response(429, **{"retry-after": "86400"}), policy=RetryPolicy(max_retry_after_s=3600))
    assert decision == Retry(3600.0, "HTTP 429 Too Many Requests with Retry-After 1d, capped to 1h "
                                     "(fetch.max_retry_after)", hold=3600.0, status=429)


def test_the_last_attempt_gives_up_or_hands_the_answer_back():
    assert decide(response(503), attempt=3) == Fail("HTTP 503 Service Unavailable (gave up after 3 attempts)", status=503)
    limited = response(429, **{"retry-after": "30"})
    assert decide(limited, attempt=3, policy=RetryPolicy(raise_for_status=False)) == Done(limited, hold=30.0)
    assert decide(httpx.ReadTimeout("slow"), attempt=3) == Fail("read timed out (gave up after 3 attempts)")


def test_a_post_is_retried_only_where_the_server_cannot_have_acted_on_it():
    assert decide(response(500), policy=POST) == Fail("HTTP 500 Internal Server Error", status=500)
    assert decide(response(503), policy=POST) == Retry(0.25, "HTTP 503 Service Unavailable", status=503)
    assert decide(httpx.ConnectError("refused"), policy=POST) == Retry(0.25, "connection refused")  # never left
    assert decide(httpx.ReadTimeout("slow"), policy=POST) == Fail("read timed out (a POST is not retried once sent)")
    assert decide(httpx.RemoteProtocolError("peer closed"), policy=POST) == \
        Fail("RemoteProtocolError: peer closed (a POST is not retried once sent)")


def test_a_network_failure_is_retried_on_a_get():
    assert decide(httpx.ReadTimeout("slow")) == Retry(0.25, "read timed out")
    assert decide(httpx.RemoteProtocolError("peer closed")) == Retry(0.25, "RemoteProtocolError: peer closed")


@pytest.mark.parametrize("error, problem", [
    (httpx.TooManyRedirects("loop"), "redirect loop or more than 5 redirects"),
    (httpx.UnsupportedProtocol("ftp://"), "cannot follow (ftp://)"),
    (httpx.RemoteProtocolError("Missing Location header"), "cannot follow a redirect (Missing Location header)"),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
     "TLS error ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed)"),
    (httpx.InvalidURL("bad host"), "invalid URL or redirect (bad host)"),
    (UnicodeError("label too long"), "invalid URL or redirect (label too long)"),
])
def test_what_retrying_cannot_mend_fails_at_once(error, problem):
    assert decide(error) == Fail(problem)
