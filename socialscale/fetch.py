"""The HTTP engine: one AsyncClient per pull, politeness, retries, byte caps, conditional GET.

Every source kind fetches through `Fetcher.request` (`get`, or `post` for a JSON query such as
GitHub's GraphQL); there is no second HTTP stack.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import select
import socket
import ssl
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpcore
import httpx

from socialscale import USER_AGENT
from socialscale.errors import FetchError
from socialscale.models import Config, FetchSettings
from socialscale.text import has_secrets, http_url_problem, is_secret_key, load_json, mask_secrets, redact_url
from socialscale.timeutil import format_duration, utc_iso

# httpx logs full URLs (query strings included) at INFO: keep it quiet so no token is printed, whatever
# level the root logger has (--verbose sets DEBUG). Here, with the import: only what fetches loads httpx.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A POST is retried only when the server cannot have acted on it: it said so (429, 503), or the
# connection failed before the request went out. The POSTs we send are read-only queries (GitHub
# GraphQL searches, never mutations), so even a duplicate would be harmless, but a 500/502/504 or
# a read timeout may mean the server is still working on it: repeating that only adds load.
POST_RETRY_STATUSES = frozenset({429, 503})
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_REDIRECTS = 5
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_READ_S = 365 * 86400.0  # a Retry-After is read as at most a year (then capped by the setting)
MAX_INLINE_WAIT_S = 60.0  # a longer Retry-After is not slept through: the host is remembered instead
# The only request headers that go on to another origin when a redirect leaves the one we asked:
# everything else a source set (Authorization, X-Api-Key, any `token_header`, cookies, validators)
# may be a credential, and httpx itself drops only Authorization.
CROSS_ORIGIN_HEADERS = frozenset({"host", "user-agent", "accept", "accept-encoding", "accept-language",
                                  "content-type", "content-length", "transfer-encoding", "connection"})


class RateLimited(FetchError):
    """The host asked us to wait longer than this pull can; it is not asked again before `until`.

    `skipped`: it was not asked at all this time (an earlier wait is not over), rather than asked
    and told to wait. `http_status`: the status of the last answer that asked us to wait, if any."""

    def __init__(self, message: str, host: str, until: datetime, *, skipped: bool,
                 http_status: int | None = None) -> None:
        super().__init__(message, http_status=http_status)
        self.host, self.until, self.skipped = host, until, skipped


class Budget:
    """A source's total time budget. It starts when the source's first request is sent, never while
    it waits for a free slot on its host: many feeds on one host (Google Alerts, Reddit, hnrss.org)
    must not spend their time behind one slow sibling."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline: float | None = None
        self.on_start: Callable[[float], None] | None = None

    @property
    def started(self) -> bool:
        return self.deadline is not None

    def start(self, now: float) -> None:
        if self.deadline is None:
            self.deadline = now + self.seconds
            if self.on_start is not None:
                self.on_start(self.deadline)

    def remaining(self, now: float) -> float:
        return (self.deadline - now) if self.deadline is not None else self.seconds


class PrivateAddressError(FetchError):
    """A redirect pointed at a private, loopback or link-local address (fetch.allow_private)."""


def private_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if `host` is an IP literal outside the public internet (private, loopback,
    link-local such as a cloud metadata service, CGNAT, multicast, unspecified), else None."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return None if ip.is_global else ip


def private_allowed(settings: FetchSettings, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `fetch.allow_private` lets a request go to this private host/address."""
    if settings.allow_private is True:
        return True
    for entry in settings.allow_private or ():
        if entry.lower() == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def configured_private(config: Config) -> list[str]:
    """`name (host)` for each source whose configured URL points inside the network (an address
    literal or `localhost`) and that `fetch.allow_private` does not cover: allowed, but worth a
    note, since a URL pasted into a shared config should not reach the router or a metadata service."""
    found: list[str] = []
    for source in config.sources:
        for value in (source.url, source.options.get("api_url"), source.options.get("instance")):
            host = host_of(value) if isinstance(value, str) else ""
            ip = private_address(host) or (ipaddress.ip_address("127.0.0.1")
                                           if host == "localhost" or host.endswith(".localhost") else None)
            if ip is not None and not private_allowed(config.fetch, host, ip):
                found.append(f"{source.name} ({host})")
                break
    return found


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
        return load_json(self.body, self.final_url)


def pooled_transport(connections: int) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (TLS, limits and proxies as httpx sets them), whose connections answer
    httpcore's "is this idle connection still usable?" with one poll() of their socket.

    httpcore asks that of every idle connection each time a request starts or ends; its anyio stream
    builds anyio's whole attribute table for it, a getpeername() call included: a third of the
    pull's fetching CPU for 1,000 feeds at 16 in flight (benchmarks/README.md). Should httpcore's
    internals change, the transport is left as it is."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(backend, httpcore.AsyncNetworkBackend):
        pool._network_backend = _Backend(backend)
        if type(pool) is httpcore.AsyncConnectionPool and _Pool.fits():
            pool.__class__ = _Pool
    return transport


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its bookkeeping in linear time; what it decides is httpcore 1.0's.

    At each request's start and end httpcore 1.0 walks its connections, and for each idle one counts
    every connection (`len([c.is_idle() for c in connections])`, which calls `is_idle()` on each) to
    decide whether idle connections exceed `max_keepalive_connections`: at 16 connections, 256 calls
    per event, a sixth of a pull's fetching CPU. The count is the number of connections, which can only
    exceed the keep-alive limit if it did when the walk began, so it is asked once. The rest (closed
    and expired connections dropped, queued requests given an available connection, a new one, or an
    idle one's place) decides as httpcore's code does, in the same order, taking the first match
    rather than building each list. Used only with the httpcore release it was
    written against (`fits`): otherwise the stock pool runs."""

    @staticmethod
    def fits() -> bool:
        return httpcore.__version__.startswith("1.0.") and hasattr(httpcore.AsyncConnectionPool,
                                                                   "_assign_requests_to_connections")

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        connections = self._connections
        surplus = len(connections) > self._max_keepalive_connections
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired():
                connections.remove(connection)
                closing.append(connection)
            elif surplus and connection.is_idle() and len(connections) > self._max_keepalive_connections:
                connections.remove(connection)
                closing.append(connection)
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = next((c for c in connections if c.can_handle_request(origin) and c.is_available()), None)
            if available is not None:
                pool_request.assign_to_connection(available)
            elif len(connections) < self._max_connections:
                connection = self.create_connection(origin)
                connections.append(connection)
                pool_request.assign_to_connection(connection)
            else:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is not None:
                    connections.remove(idle)
                    closing.append(idle)
                    connection = self.create_connection(origin)
                    connections.append(connection)
                    pool_request.assign_to_connection(connection)
        return closing


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """A stream of the inner backend; its raw socket is looked up once, for the readability check."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner
        self._socket: socket.socket | None = None
        self._poller: Any = None  # select.poll, where the platform has it
        self._polled = -1

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info != "is_readable":
            return self.inner.get_extra_info(info)
        if self._socket is None:
            self._socket = self.inner.get_extra_info("socket")
        # As httpcore's own check: readable (data, or the peer closed) means not reusable; no socket
        # or a closed one reads as readable too.
        fd = self._socket.fileno() if self._socket is not None else -1
        if fd < 0 or not hasattr(select, "poll"):
            return self.inner.get_extra_info(info) if fd >= 0 else True
        if self._poller is None or self._polled != fd:  # one poll object per socket, asked many times
            self._poller, self._polled = select.poll(), fd
            self._poller.register(fd, select.POLLIN)
        return bool(self._poller.poll(0))


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
        # 400 nines would be a float infinity, which no timedelta can hold: a year is plenty.
        return min(float(value[:12]), MAX_RETRY_AFTER_READ_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_READ_S)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@dataclass(frozen=True)
class RetryPolicy:
    """What the retry decisions depend on besides the outcome itself."""

    method: str = "GET"
    attempts: int = 3  # in all, the first one included (fetch.retries + 1)
    raise_for_status: bool = True  # False: an HTTP error status is an answer, for APIs whose error bodies speak
    max_retry_after_s: float = 3600.0  # fetch.max_retry_after

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD")

    @property
    def retry_statuses(self) -> frozenset[int]:
        return RETRY_STATUSES if self.idempotent else POST_RETRY_STATUSES


@dataclass(frozen=True)
class Done:
    """Return this result to the caller."""

    result: FetchResult
    hold: float | None = None  # seconds the host asked us to wait (Retry-After), to remember


@dataclass(frozen=True)
class Fail:
    """Stop: retrying cannot mend it. `problem` is the error message after the URL."""

    problem: str
    hold: float | None = None
    status: int | None = None  # the HTTP status that decided it, when an answer did


@dataclass(frozen=True)
class Retry:
    """Try again after `delay` seconds (the host's Retry-After, else backoff with jitter)."""

    delay: float
    problem: str  # what went wrong, for the message if the wait is too long for this pull
    hold: float | None = None
    status: int | None = None


Decision = Done | Fail | Retry
# What the loop hands to classify(): the httpx errors that are about this request, never a bug.
RETRIED_ERRORS = (httpx.TooManyRedirects, httpx.TransportError, httpx.InvalidURL, httpx.DecodingError, ValueError,
                  UnicodeError)


def classify(outcome: FetchResult | Exception, attempt: int, policy: RetryPolicy = RetryPolicy(), *,
             now: datetime, jitter: float = 0.5) -> Decision:
    """The retry policy, as a pure function of one attempt's outcome (a response or a request error)
    and its number (from 1). `now` reads a Retry-After date; `jitter` in [0, 1) spreads the backoff."""
    last = attempt >= policy.attempts
    if isinstance(outcome, FetchResult):
        return _classify_response(outcome, attempt, policy, now, jitter)
    verdict = _classify_error(outcome, policy)
    if isinstance(verdict, Fail):
        return verdict
    if last:
        return Fail(f"{verdict} (gave up after {policy.attempts} attempts)")
    return Retry(_backoff(attempt, jitter), verdict)


def _classify_response(result: FetchResult, attempt: int, policy: RetryPolicy, now: datetime,
                       jitter: float) -> Decision:
    if result.not_modified:
        return Done(result)
    problem = f"HTTP {result.status}{status_phrase(result.status)}"
    if 300 <= result.status < 400:  # a redirect without a usable Location
        return Fail(f"{problem} without a Location to follow")
    if result.status < 400:
        return Done(result)
    if result.status not in policy.retry_statuses:
        return Fail(problem, status=result.status) if policy.raise_for_status else Done(result)
    hold = parse_retry_after(result.headers.get("retry-after"), now)
    if hold is not None and hold > policy.max_retry_after_s:
        problem += (f" with Retry-After {format_duration(hold)}, capped to "
                    f"{format_duration(policy.max_retry_after_s)} (fetch.max_retry_after)")
        hold = policy.max_retry_after_s
    if attempt >= policy.attempts:
        if not policy.raise_for_status:
            return Done(result, hold)
        return Fail(f"{problem} (gave up after {policy.attempts} attempts)", hold, status=result.status)
    return Retry(hold if hold is not None else _backoff(attempt, jitter), problem, hold, status=result.status)


def _classify_error(exc: Exception, policy: RetryPolicy) -> Fail | str:
    """A Fail for a request error that retrying cannot mend, else the problem to retry on."""
    if isinstance(exc, httpx.TooManyRedirects):
        return Fail(f"redirect loop or more than {MAX_REDIRECTS} redirects")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Fail(f"cannot follow ({exc})")
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc).lower():
        return Fail(f"cannot follow a redirect ({exc})")
    if isinstance(exc, httpx.TransportError):
        problem = _transport_problem(exc)
        if not isinstance(exc, httpx.RemoteProtocolError) and ("certificate" in problem.lower()
                                                                or "ssl" in problem.lower()):
            return Fail(f"TLS error ({problem})")
        # Only a POST that never left is sent again (see POST_RETRY_STATUSES).
        if not policy.idempotent and not isinstance(exc, _UNSENT):
            return Fail(f"{problem} (a {policy.method} is not retried once sent)")
        return problem
    # The configured URL or a redirect's Location is not a URL httpx can request.
    return Fail(f"invalid URL or redirect ({_clip(exc)})")


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
            transport=self._transport or pooled_transport(s.concurrency),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def get(self, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                  etag: str | None = None, last_modified: str | None = None, max_bytes: int | None = None,
                  budget: Budget | None = None, raise_for_status: bool = True) -> FetchResult:
        """GET `url` with retries; a 304 comes back as `not_modified`, other 4xx/5xx raise FetchError
        (unless raise_for_status=False, for APIs whose error bodies carry meaning)."""
        hdrs = dict(headers or {})
        if etag:
            hdrs["If-None-Match"] = etag
        if last_modified:
            hdrs["If-Modified-Since"] = last_modified
        return await self.request("GET", url, params=params, headers=hdrs, max_bytes=max_bytes, budget=budget,
                                  raise_for_status=raise_for_status)

    async def post(self, url: str, *, json: Any, headers: dict[str, str] | None = None,
                   max_bytes: int | None = None, budget: Budget | None = None,
                   raise_for_status: bool = True) -> FetchResult:
        """POST a JSON body (a read-only query); retried only where it cannot have been acted on."""
        return await self.request("POST", url, json=json, headers=headers, max_bytes=max_bytes, budget=budget,
                                  raise_for_status=raise_for_status)

    async def request(self, method: str, url: str, *, params: dict[str, Any] | None = None, json: Any = None,
                      headers: dict[str, str] | None = None, max_bytes: int | None = None,
                      budget: Budget | None = None, raise_for_status: bool = True) -> FetchResult:
        """One request with the engine's limits, politeness, retries, Retry-After and byte cap.

        Every error message passes through the scrubber with the credentials this request carries
        (header values, token-like query values, a URL password), whatever library wrote it."""
        hdrs = dict(headers or {})
        secrets = request_secrets(url, params, hdrs)
        try:
            return await self._request(method.upper(), url, params, json, hdrs, max_bytes, budget,
                                       raise_for_status, secrets)
        except FetchError as exc:
            exc.args = (mask_secrets(str(exc), secrets),)
            raise

    async def _request(self, method: str, url: str, params: dict[str, Any] | None, json: Any,
                       hdrs: dict[str, str], max_bytes: int | None, budget: Budget | None,
                       raise_for_status: bool, secrets: list[str]) -> FetchResult:
        """The loop: send, ask `classify` what the outcome means, and sleep or stop as it says."""
        assert self.client is not None, "use `async with Fetcher(...)`"
        loop = asyncio.get_running_loop()
        policy = RetryPolicy(method, self.settings.retries + 1, raise_for_status, self.settings.max_retry_after_s)
        host = host_of(url)
        cap = max_bytes or self.settings.max_bytes
        waited = 0.0
        shown = redact_url(url)
        why = http_url_problem(url)
        if why:
            raise FetchError(f"{shown}: {why}")
        bad = unsendable_header(hdrs)
        if bad:
            raise FetchError(f"{shown}: the {bad} header holds a line break, control or non-ASCII character; "
                             "not sent")
        for attempt in range(1, policy.attempts + 1):
            self._check_host(host, shown)
            outcome: FetchResult | Exception
            try:
                # The host's slot first, then a global one: a source waiting for its busy host must
                # not hold a global slot that a source of another host could use.
                async with self._hosts[host], self._global:
                    if budget is not None:
                        budget.start(loop.time())
                    outcome = await self._once(method, url, params, json, hdrs, cap, secrets)
                outcome.attempts, outcome.waited_s = attempt, waited
            except RETRIED_ERRORS as exc:
                outcome = exc
            decision = classify(outcome, attempt, policy, now=datetime.now(timezone.utc),
                                jitter=random.random())  # noqa: S311 - jitter, not security
            if decision.hold is not None:
                self._remember_wait(host, decision.hold)
            if isinstance(decision, Done):
                return decision.result
            if isinstance(decision, Fail):
                raise FetchError(f"{shown}: {decision.problem}", http_status=decision.status) from None
            remaining = budget.remaining(loop.time()) if budget is not None else None
            if decision.delay > MAX_INLINE_WAIT_S or (remaining is not None and decision.delay >= remaining - 0.5):
                until = self.not_before.get(host) or datetime.now(timezone.utc) + timedelta(seconds=decision.delay)
                raise RateLimited(f"{shown}: {decision.problem}; asked to wait {format_duration(decision.delay)}, "
                                  f"will not ask {host} again before {utc_iso(until)}", host, until, skipped=False,
                                  http_status=decision.status)
            await asyncio.sleep(decision.delay)
            waited += decision.delay
        raise AssertionError("classify() retried after the last attempt")  # pragma: no cover

    def _check_host(self, host: str, shown: str) -> None:
        until = self.not_before.get(host)
        if until and until > datetime.now(timezone.utc) + timedelta(seconds=0.25):
            raise RateLimited(f"{shown}: {host} asked not to be contacted before {utc_iso(until)}; skipped",
                              host, until, skipped=True)

    def _remember_wait(self, host: str, seconds: float) -> None:
        until = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        previous = self.not_before.get(host)
        if previous is None or until > previous:
            self.not_before[host] = until
            self.changed_hosts.add(host)

    async def _once(self, method: str, url: str, params: dict[str, Any] | None, json: Any, headers: dict[str, str],
                    cap: int, secrets: list[str]) -> FetchResult:
        """Send, following redirects here rather than in httpx: each hop that leaves the origin we
        asked loses every credential (headers and token-like query values) and may not point at a
        private address (fetch.allow_private)."""
        assert self.client is not None
        request = self.client.build_request(method, url, params=params, json=json, headers=headers)
        first = request.url
        statuses: list[int] = []
        while True:
            resp = await self.client.send(request, stream=True, follow_redirects=False)
            try:
                following = resp.next_request
                if following is None:
                    return await self._read(resp, url, statuses, cap)
                statuses.append(resp.status_code)
                if len(statuses) > MAX_REDIRECTS:
                    raise httpx.TooManyRedirects("too many redirects", request=request)
            finally:
                await resp.aclose()
            if following.url.scheme not in ("http", "https"):
                raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{following.url.scheme}://'.")
            why = http_url_problem(str(following.url))
            if why:
                raise FetchError(f"{redact_url(url)}: cannot follow a redirect to {redact_url(str(following.url))}: {why}")
            if not same_origin(first, following.url):
                strip_credentials(following, secrets)
                await self._check_private(following.url, url)
            request = following

    async def _check_private(self, target: httpx.URL, url: str) -> None:
        """Refuse a redirect to a private, loopback or link-local address unless fetch.allow_private
        allows it. Names are resolved here; the configured URL itself is the user's choice."""
        if self.settings.allow_private is True:
            return
        host = target.host
        ip = private_address(host)
        found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip] if ip else []
        if ip is None and not _is_ip(host):
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, target.port or (443 if target.scheme == "https" else 80),
                                               type=socket.SOCK_STREAM)
            except OSError:
                infos = []  # the connection will fail and say so
            found = [a for a in (private_address(str(info[4][0])) for info in infos) if a is not None]
        for address in found:
            if not private_allowed(self.settings, host, address):
                raise PrivateAddressError(
                    f"{redact_url(url)}: redirected to {redact_url(str(target))}, a private address ({address}); "
                    "not followed (fetch.allow_private)")

    async def _read(self, resp: httpx.Response, url: str, statuses: list[int], cap: int) -> FetchResult:
        final_url = str(resp.url)
        permanent = None
        # A permanent move is remembered in the database, so never one whose URL carries a secret.
        if statuses and all(s in (301, 308) for s in statuses) and not has_secrets(final_url):
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


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Same scheme, host and port; an upgrade from http to https on the same host counts as the same
    (as httpx treats it)."""
    if a.host != b.host:
        return False
    if (a.scheme, a.port) == (b.scheme, b.port):
        return True
    return a.scheme == "http" and b.scheme == "https" and a.port in (None, 80) and b.port in (None, 443)


def strip_credentials(request: httpx.Request, secrets: Iterable[str]) -> None:
    """Make a redirected request fit for another origin: only CROSS_ORIGIN_HEADERS stay, and query
    values that are credentials (token-like names, or a value we sent as a secret) are dropped."""
    for name in list(request.headers.keys()):
        if name.lower() not in CROSS_ORIGIN_HEADERS:
            del request.headers[name]
    values = set(secrets)
    query = parse_qsl(request.url.query.decode("ascii", "replace"), keep_blank_values=True)
    kept = [(k, v) for k, v in query if not is_secret_key(k) and v not in values]
    if len(kept) != len(query):
        request.url = request.url.copy_with(query=urlencode(kept).encode("ascii") or None)


def request_secrets(url: str, params: dict[str, Any] | None, headers: dict[str, str]) -> list[str]:
    """The credentials a request carries, for scrubbing its error messages and its redirects:
    header values other than the harmless ones, token-like query values, a URL's password."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() not in CROSS_ORIGIN_HEADERS and name.lower() not in ("if-none-match", "if-modified-since"):
            found.append(str(value))
            scheme, _, rest = str(value).partition(" ")
            if rest and scheme.isalpha():  # "Bearer TOKEN": the token alone too
                found.append(rest)
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if parts.password:
            found.append(parts.password)
    except ValueError:
        query = []
    query += [(str(k), str(v)) for k, v in (params or {}).items()]
    found += [v for k, v in query if is_secret_key(k) and v]
    return [s for s in found if len(s) >= 4]


def unsendable_header(headers: dict[str, str]) -> str | None:
    """The name of a header whose value cannot be sent as is (a line break would start a new header;
    httpx would refuse it with an error quoting the value, a token included)."""
    for name, value in headers.items():
        if any(not (" " <= ch <= "~" or ch == "\t") for ch in str(value)):
            return name
    return None


def _clip(exc: BaseException, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _backoff(attempt: int, jitter: float) -> float:
    """Exponential backoff with jitter: 0.5s, 1s, 2s ... capped, times a factor in [0.5, 1) from `jitter` in [0, 1)."""
    base: float = min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))
    return base * (0.5 + jitter / 2)


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
