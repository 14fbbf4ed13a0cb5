"""The HTTP engine: one AsyncClient per pull, politeness, retries, byte caps, conditional GET.

Every source kind fetches through `Fetcher.request` (`get`, or `post` for a JSON query such as
GitHub's GraphQL); there is no second HTTP stack.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import ssl
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx

from socialscale import USER_AGENT
from socialscale.errors import FetchError
from socialscale.models import FetchSettings
from socialscale.text import has_secrets, redact_url
from socialscale.timeutil import format_duration, utc_iso

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A POST is retried only when the server cannot have acted on it: it said so (429, 503), or the
# connection failed before the request went out. The POSTs we send are read-only queries (GitHub
# GraphQL searches, never mutations), so even a duplicate would be harmless, but a 500/502/504 or
# a read timeout may mean the server is still working on it: repeating that only adds load.
POST_RETRY_STATUSES = frozenset({429, 503})
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_REDIRECTS = 5
MAX_BACKOFF_S = 30.0
MAX_INLINE_WAIT_S = 60.0  # a longer Retry-After is not slept through: the host is remembered instead


class RateLimited(FetchError):
    """The host asked us to wait longer than this pull can; it is not asked again before `until`."""

    def __init__(self, message: str, host: str, until: datetime) -> None:
        super().__init__(message)
        self.host, self.until = host, until


@dataclass
class FetchResult:
    """One HTTP response, body already decoded and within the byte cap."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    not_modified: bool = False
    permanent_redirect: str | None = None
    attempts: int = 1
    waited_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def json(self) -> Any:
        from socialscale.sources.base import load_json

        return load_json(self.body, self.final_url)


class _Decoder:
    """Incremental, bounded Content-Encoding decoding: never more than `limit` bytes are inflated.

    httpx would inflate a whole network chunk at once, so a small gzip bomb could take gigabytes
    before any cap is checked; here each call inflates at most what the cap still allows.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.strip().lower()
        self._first = False  # deflate: the first chunk tells zlib-wrapped from raw
        if self.encoding in ("", "identity"):
            self._z = None
        elif self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
            self._first = True
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes, room: int) -> bytes:
        if self._z is None:
            return data
        if self._first and data:
            self._first = False
            if data[0] & 0x0F != 8:  # raw deflate without the zlib header, as some servers send it
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            out = self._z.decompress(data, room + 1)
            if self._z.unconsumed_tail and len(out) <= room:
                out += self._z.decompress(self._z.unconsumed_tail, room + 1 - len(out))
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.encoding} response body ({exc})") from None
        return out

    def flush(self) -> bytes:
        return self._z.flush() if self._z is not None else b""


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class Fetcher:
    """Async requests with a global and a per-host concurrency limit, retries and politeness.

    `not_before` maps host -> the time before which it must not be asked (from Retry-After); the
    pipeline loads it from and saves it to the database so separate cron runs respect it too.
    """

    def __init__(self, settings: FetchSettings, *, user_agent: str = USER_AGENT,
                 not_before: dict[str, datetime] | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.user_agent = user_agent
        self.not_before: dict[str, datetime] = dict(not_before or {})
        self.changed_hosts: set[str] = set()
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(settings.per_host))
        self._transport = transport
        self.client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self.client = httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(connect=s.connect_timeout_s, read=s.read_timeout_s, write=s.read_timeout_s,
                                  pool=s.timeout_s),
            limits=httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=self._transport,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def get(self, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                  etag: str | None = None, last_modified: str | None = None, max_bytes: int | None = None,
                  deadline: float | None = None, raise_for_status: bool = True) -> FetchResult:
        """GET `url` with retries; a 304 comes back as `not_modified`, other 4xx/5xx raise FetchError
        (unless raise_for_status=False, for APIs whose error bodies carry meaning)."""
        hdrs = dict(headers or {})
        if etag:
            hdrs["If-None-Match"] = etag
        if last_modified:
            hdrs["If-Modified-Since"] = last_modified
        return await self.request("GET", url, params=params, headers=hdrs, max_bytes=max_bytes, deadline=deadline,
                                  raise_for_status=raise_for_status)

    async def post(self, url: str, *, json: Any, headers: dict[str, str] | None = None,
                   max_bytes: int | None = None, deadline: float | None = None,
                   raise_for_status: bool = True) -> FetchResult:
        """POST a JSON body (a read-only query); retried only where it cannot have been acted on."""
        return await self.request("POST", url, json=json, headers=headers, max_bytes=max_bytes, deadline=deadline,
                                  raise_for_status=raise_for_status)

    async def request(self, method: str, url: str, *, params: dict[str, Any] | None = None, json: Any = None,
                      headers: dict[str, str] | None = None, max_bytes: int | None = None,
                      deadline: float | None = None, raise_for_status: bool = True) -> FetchResult:
        """One request with the engine's limits, politeness, retries, Retry-After and byte cap."""
        assert self.client is not None, "use `async with Fetcher(...)`"
        loop = asyncio.get_running_loop()
        method = method.upper()
        idempotent = method in ("GET", "HEAD")
        retry_statuses = RETRY_STATUSES if idempotent else POST_RETRY_STATUSES
        host = host_of(url)
        hdrs = dict(headers or {})
        cap = max_bytes or self.settings.max_bytes
        waited = 0.0
        shown = redact_url(url)
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            self._check_host(host, shown)
            problem: str
            retry_after: float | None = None
            try:
                async with self._global, self._hosts[host]:
                    result = await self._once(method, url, params, json, hdrs, cap)
            except httpx.TooManyRedirects:
                raise FetchError(f"{shown}: redirect loop or more than {MAX_REDIRECTS} redirects") from None
            except httpx.UnsupportedProtocol as exc:
                raise FetchError(f"{shown}: cannot follow ({exc})") from None
            except httpx.RemoteProtocolError as exc:
                if "location header" in str(exc).lower():
                    raise FetchError(f"{shown}: cannot follow a redirect ({exc})") from None
                problem = _transport_problem(exc)
                if not idempotent:
                    raise FetchError(f"{shown}: {problem} (a {method} is not retried once sent)") from None
            except httpx.TransportError as exc:
                problem = _transport_problem(exc)
                if "certificate" in problem.lower() or "ssl" in problem.lower():
                    raise FetchError(f"{shown}: TLS error ({problem})") from None
                if not idempotent and not isinstance(exc, _UNSENT):
                    raise FetchError(f"{shown}: {problem} (a {method} is not retried once sent)") from None
            except (httpx.InvalidURL, httpx.DecodingError, ValueError, UnicodeError) as exc:
                # The configured URL or a redirect's Location is not a URL httpx can request.
                raise FetchError(f"{shown}: invalid URL or redirect ({_clip(exc)})") from None
            else:
                result.attempts, result.waited_s = attempt, waited
                if result.not_modified:
                    return result
                if 300 <= result.status < 400:  # httpx follows redirects; one left over had no usable Location
                    raise FetchError(f"{shown}: HTTP {result.status}{status_phrase(result.status)} without a Location to follow")
                if result.status < 400:
                    return result
                if result.status not in retry_statuses:
                    if raise_for_status:
                        raise FetchError(f"{shown}: HTTP {result.status}{status_phrase(result.status)}")
                    return result
                problem = f"HTTP {result.status}{status_phrase(result.status)}"
                retry_after = parse_retry_after(result.headers.get("retry-after"), datetime.now(timezone.utc))
                if retry_after is not None:
                    if retry_after > self.settings.max_retry_after_s:
                        problem += (f" with Retry-After {format_duration(retry_after)}, capped to "
                                    f"{format_duration(self.settings.max_retry_after_s)} (fetch.max_retry_after)")
                        retry_after = self.settings.max_retry_after_s
                    self._remember_wait(host, retry_after)
                if attempt == attempts and not raise_for_status:
                    return result
            if attempt == attempts:
                break
            delay = retry_after if retry_after is not None else _backoff(attempt)
            remaining = (deadline - loop.time()) if deadline else None
            if delay > MAX_INLINE_WAIT_S or (remaining is not None and delay >= remaining - 0.5):
                until = self.not_before.get(host) or datetime.now(timezone.utc) + timedelta(seconds=delay)
                raise RateLimited(f"{shown}: {problem}; asked to wait {format_duration(delay)}, "
                                  f"will not ask {host} again before {utc_iso(until)}", host, until)
            await asyncio.sleep(delay)
            waited += delay
        raise FetchError(f"{shown}: {problem} (gave up after {attempts} attempts)")

    def _check_host(self, host: str, shown: str) -> None:
        until = self.not_before.get(host)
        if until and until > datetime.now(timezone.utc) + timedelta(seconds=0.25):
            raise RateLimited(f"{shown}: {host} asked not to be contacted before {utc_iso(until)}; skipped",
                              host, until)

    def _remember_wait(self, host: str, seconds: float) -> None:
        until = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        previous = self.not_before.get(host)
        if previous is None or until > previous:
            self.not_before[host] = until
            self.changed_hosts.add(host)

    async def _once(self, method: str, url: str, params: dict[str, Any] | None, json: Any, headers: dict[str, str],
                    cap: int) -> FetchResult:
        assert self.client is not None
        async with self.client.stream(method, url, params=params, json=json, headers=headers) as resp:
            final_url = str(resp.url)
            permanent = None
            # A permanent move is remembered in the database, so never one whose URL carries a secret.
            if resp.history and all(r.status_code in (301, 308) for r in resp.history) and not has_secrets(final_url):
                permanent = final_url
            base = FetchResult(url=url, final_url=final_url, status=resp.status_code,
                               headers={k.lower(): v for k, v in resp.headers.items()}, permanent_redirect=permanent)
            if resp.status_code == 304:
                base.not_modified = True
                return base
            encoding = resp.headers.get("content-encoding", "")
            declared = resp.headers.get("content-length", "")
            if not encoding and declared.isdigit() and int(declared) > cap:
                raise FetchError(f"{redact_url(url)}: response of {int(declared):,} bytes is over the "
                                 f"{cap:,}-byte cap (fetch.max_bytes)")
            decoder = _Decoder(encoding)
            body = bytearray()
            raw = 0
            async for chunk in resp.aiter_raw():
                raw += len(chunk)
                body += decoder.feed(chunk, cap - len(body))
                if len(body) > cap or raw > cap:
                    raise FetchError(f"{redact_url(url)}: response is over the {cap:,}-byte cap (fetch.max_bytes)"
                                     + (" after decompression" if encoding and len(body) > cap else ""))
            body += decoder.flush()
            if len(body) > cap:
                raise FetchError(f"{redact_url(url)}: response is over the {cap:,}-byte cap (fetch.max_bytes)")
            base.body = bytes(body)
            return base


def _clip(exc: BaseException, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 0.5s, 1s, 2s ... capped, times a random factor in [0.5, 1)."""
    base = min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))
    return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


def status_phrase(status: int) -> str:
    """The reason phrase with a leading space (" Not Found"), or "" for a status without one."""
    try:
        return f" {HTTPStatus(status).phrase}"
    except ValueError:
        return ""


def _transport_problem(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timed out"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a connection"
    if isinstance(exc, httpx.ConnectError):
        # anyio reports "All connection attempts failed"; the reason is further down the chain.
        for cause in _causes(exc):
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
            if isinstance(cause, ssl.SSLError):
                return f"SSL: {cause.reason or cause}"
            if isinstance(cause, socket.gaierror):
                return f"cannot resolve the host name ({cause.strerror or cause})"
        text = str(exc) or "connection failed"
        if "refused" in text.lower():
            return "connection refused"
        return text
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first (bounded: chains can be cyclic)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
