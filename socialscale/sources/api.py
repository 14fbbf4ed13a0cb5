"""What the API source kinds share: common options, tokens, JSON requests, rate limits, cursors.

Each API kind is a small adapter: it builds requests, turns the documented JSON into Items,
and uses a `Run` to collect items, warnings and waits. Rate-limit signals are honoured here:
a short wait is slept through (and reported), a long one ends the pull for that source with a
warning and is remembered in the cursor, so the next pull does not ask before it is over.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from socialscale.errors import FetchError, ParseError
from socialscale.fetch import MAX_INLINE_WAIT_S, FetchResult, RateLimited, status_phrase
from socialscale.models import Item
from socialscale.sources.base import Collected, SourceContext, dedupe
from socialscale.text import http_url_problem, load_json, mask_secrets, redact_url
from socialscale.timeutil import format_duration, parse_duration, parse_iso, utc_iso

COMMON_KEYS: tuple[str, ...] = ("api_url", "backfill", "max_pages")
DEFAULT_BACKFILL_S = 3 * 86400
DEFAULT_MAX_PAGES = 10
MAX_HOLD_S = 2 * 86400.0  # no API asks for longer; a larger (or garbled) figure is not believed
# Search indexes (Algolia, Stack Exchange, GitHub) make an item searchable a little after it was
# posted; asking again from slightly before the newest item seen keeps such late arrivals.
INDEX_LAG_S = 300
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --- config validation ---------------------------------------------------------------------------

def validate_common(options: dict[str, Any], *, token: bool) -> list[tuple[str, str]]:
    """Problems with api_url, backfill, max_pages (and token_env when the kind takes a token)."""
    problems: list[tuple[str, str]] = []
    api_url = options.get("api_url")
    if api_url is not None and (why := http_url_problem(api_url)):
        problems.append(("api_url", f"{why}, got {api_url!r}"))
    if options.get("backfill") is not None:
        try:
            parse_duration(options["backfill"])
        except ValueError:
            problems.append(("backfill", f"expected a duration such as 3d or 12h, got {options['backfill']!r}"))
    pages = options.get("max_pages")
    if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int) or pages < 1):
        problems.append(("max_pages", f"expected a whole number >= 1, got {pages!r}"))
    if token and options.get("token_env") is not None:
        name = options["token_env"]
        # Never echo the value: someone may have pasted the token itself here.
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            problems.append(("token_env", "expected the NAME of an environment variable that holds the token "
                                          "(such as GITHUB_TOKEN), not the token itself"))
    return problems


def env_name(options: dict[str, Any], key: str, example: str, *, required: bool) -> list[tuple[str, str]]:
    """`key` must name an environment variable; the value is never echoed (it may be a pasted secret)."""
    name = options.get(key)
    if name is None:
        return [(key, f"is required (the NAME of the environment variable that holds it, such as {example})")] \
            if required else []
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        return [(key, f"expected the NAME of an environment variable (such as {example}), not the secret itself")]
    return []


def require_string(options: dict[str, Any], key: str, what: str) -> list[tuple[str, str]]:
    value = options.get(key)
    if value is None:
        return [(key, f"is required ({what})")]
    if not isinstance(value, str) or not value.strip():
        return [(key, f"expected a non-empty string ({what}), got {value!r}")]
    return []


def optional_string(options: dict[str, Any], key: str) -> list[tuple[str, str]]:
    value = options.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        return [(key, f"expected a non-empty string, got {value!r}")]
    return []


# --- settings read at fetch time ------------------------------------------------------------------

def base_url(ctx: SourceContext, default: str) -> str:
    return str(ctx.source.options.get("api_url") or default).rstrip("/")


def backfill_s(ctx: SourceContext) -> int:
    value = ctx.source.options.get("backfill")
    return parse_duration(value) if value is not None else DEFAULT_BACKFILL_S


def max_pages(ctx: SourceContext) -> int:
    return int(ctx.source.options.get("max_pages") or DEFAULT_MAX_PAGES)


def read_token(ctx: SourceContext) -> str | None:
    """The token from the environment variable named by token_env, read now and never stored."""
    if not ctx.source.options.get("token_env"):
        return None
    return read_secret(ctx, "token_env")


def read_secret(ctx: SourceContext, key: str, *, masked: bool = True) -> str:
    """The value of the environment variable named by option `key`, read now and never stored; a
    missing or empty one is an error naming the variable (never a value). `masked=False` for a value
    that is private but not secret (a Bluesky handle is also every post's author: masking it would
    hide our own posts)."""
    name = ctx.source.options.get(key)
    value = os.environ.get(str(name), "").strip() if name else ""
    if not value:
        raise FetchError(f"environment variable {name} ({key}) is not set or empty")
    if any(not (" " <= ch <= "~") for ch in value):
        # Never quote the value: it is the secret. A line break would start a header of its own.
        raise FetchError(f"environment variable {name} ({key}) holds a line break, control or non-ASCII "
                         "character; it was not sent")
    if masked:
        ctx.secrets.append(value)
    return value


# --- a run: items, warnings, waits, cursor ---------------------------------------------------------

@dataclass
class Run:
    """Collects what one source's pull produced; `finish()` turns it into a Collected."""

    ctx: SourceContext
    secrets: tuple[str, ...] = ()
    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    http_status: int | None = None
    waited_s: float = 0.0
    not_before: datetime | None = None
    pending: tuple[float, str] | None = None  # a rate-limit wait to honour before the next request

    def warn(self, message: str) -> None:
        self.warnings.append(scrub(message, self.secrets))

    def page_limit(self, page: int, pages: int, rest: str, what: str = "pages") -> bool:
        """Whether paging has reached `max_pages`; if so, say so once (`rest`: what was left unfetched)."""
        if page < pages:
            return False
        self.warn(f"stopped after {pages} {what} (max_pages); {rest}")
        return True

    @property
    def cutoff(self) -> datetime:
        """The oldest time a first pull goes back to (`backfill:`)."""
        return self.ctx.now - timedelta(seconds=backfill_s(self.ctx))

    def previous(self, fingerprint: str) -> dict[str, Any] | None:
        """The stored cursor if it was made for the same query; None means a first pull (backfill)."""
        cursor = self.ctx.cursor
        if isinstance(cursor, dict) and cursor.get("query") == fingerprint:
            return cursor
        return None

    def waiting_until(self) -> datetime | None:
        """A wait the API asked for in an earlier pull that is not over yet."""
        cursor = self.ctx.cursor
        raw = cursor.get("not_before") if isinstance(cursor, dict) else None
        if not isinstance(raw, str):
            return None
        try:
            until = parse_iso(raw)
        except ValueError:
            return None
        return until if until > self.ctx.now else None

    async def get_json(self, url: str, *, params: dict[str, Any] | None = None,
                       headers: dict[str, str] | None = None,
                       error_of: Callable[[Any], str | None] | None = None,
                       accept_status: Iterable[int] = ()) -> tuple[FetchResult, Any]:
        """GET and decode JSON; an HTTP error becomes a FetchError carrying the API's own message."""
        res = await self.ctx.get(url, params=params, headers=headers, raise_for_status=False)
        return self._decode(res, error_of, accept_status)

    async def post_json(self, url: str, body: Any, *, headers: dict[str, str] | None = None,
                        error_of: Callable[[Any], str | None] | None = None,
                        accept_status: Iterable[int] = ()) -> tuple[FetchResult, Any]:
        """POST a JSON query and decode the JSON answer, errors handled as in `get_json`."""
        res = await self.ctx.post(url, json=body, headers=headers, raise_for_status=False)
        return self._decode(res, error_of, accept_status)

    def _decode(self, res: FetchResult, error_of: Callable[[Any], str | None] | None,
                accept_status: Iterable[int]) -> tuple[FetchResult, Any]:
        self.http_status = res.status
        self.waited_s += res.waited_s
        where = redact_url(res.final_url)
        if res.status >= 400 and res.status not in tuple(accept_status):
            detail = ""
            try:
                doc = load_json(res.body, where)
                detail = (error_of(doc) if error_of else None) or ""
            except ParseError:
                pass
            raise FetchError(scrub(f"{where}: HTTP {res.status}{status_phrase(res.status)}"
                                   f"{f': {_short(detail)}' if detail else ''}", self.secrets), http_status=res.status)
        try:
            return res, load_json(res.body, where)
        except ParseError as exc:
            if res.status >= 400:  # an accepted error status with a body that is not JSON: the status says it
                return res, None
            raise ParseError(scrub(str(exc), self.secrets)) from None

    async def wait(self, seconds: float, why: str) -> bool:
        """Honour a rate-limit wait: sleep if short (True), else remember it and stop (False)."""
        seconds = _sane_wait(seconds)
        loop = asyncio.get_running_loop()
        left = self.ctx.budget.remaining(loop.time())
        if seconds <= MAX_INLINE_WAIT_S and seconds < left - 1:
            # Reported here with its reason; `waited_s` counts only the fetch engine's own waits.
            await asyncio.sleep(seconds)
            self.warn(f"waited {format_duration(seconds)} ({why})")
            return True
        self.hold(seconds)
        self.warn(f"{why}: asked to wait {format_duration(seconds)}; stopped here, "
                  f"the next pull continues after {utc_iso(self.not_before or self.ctx.now)}")
        return False

    def limit_hit(self, seconds: float, why: str) -> None:
        """The API said its budget is spent: the next request (if any) waits for the reset first."""
        self.pending = (_sane_wait(seconds), why)

    async def ready(self) -> bool:
        """False when a pending rate-limit wait is too long for this pull (the caller stops paging)."""
        if self.pending is None:
            return True
        seconds, why = self.pending
        self.pending = None
        return await self.wait(seconds, why)

    def hold(self, seconds: float) -> None:
        until = datetime.now(timezone.utc) + timedelta(seconds=_sane_wait(seconds))
        if self.not_before is None or until > self.not_before:
            self.not_before = until.replace(microsecond=0) + timedelta(seconds=1)

    def finish(self, cursor: dict[str, Any] | None) -> Collected:
        if self.pending is not None:  # spent budget, no further request needed: the next pull waits
            self.hold(self.pending[0])
            self.pending = None
        # The same post can appear on two pages when the listing moves while we page: keep one.
        items, _ = dedupe(self.items)
        if cursor is not None and self.not_before is not None:
            cursor = {**cursor, "not_before": utc_iso(self.not_before)}
        elif cursor is not None:
            cursor = {k: v for k, v in cursor.items() if k != "not_before"}
        return Collected(items=items, http_status=self.http_status, cursor=cursor, warnings=self.warnings,
                         waited_s=self.waited_s)

    def skipped(self, until: datetime) -> Collected:
        """Nothing asked: the API asked an earlier pull to wait until `until`."""
        return Collected(http_status=None, cursor=None,
                         warnings=[f"not asked: the API asked to wait until {utc_iso(until)} (rate limit)"])


def held_off(run: Run, exc: RateLimited, what: str) -> None:
    """The fetch engine met a Retry-After too long for this pull: a note and a remembered wait, not
    a failure (what was collected so far is kept)."""
    run.hold((exc.until - datetime.now(timezone.utc)).total_seconds())
    run.warn(f"{what} asked to wait (HTTP 429/503 with Retry-After); stopped here, the next pull "
             f"continues after {utc_iso(run.not_before or run.ctx.now)}")


def _sane_wait(seconds: float) -> float:
    if not math.isfinite(seconds):
        return MAX_INLINE_WAIT_S
    return min(max(0.0, seconds), MAX_HOLD_S)


Collect = Callable[[SourceContext], Awaitable[Collected]]
Pull = Callable[["Run", "str | None"], Awaitable[Collected]]


def collector(*, token: bool = False) -> Callable[[Pull], Collect]:
    """The prologue every API kind shares, done once: `@api.collector(token=True)` over
    `async def collect(run, token)` gives the kind its `collect(ctx)`.

    - the token is read from `token_env` (when the kind takes one) and kept out of every message;
    - a wait the API asked an earlier pull for that is not over yet returns a `skipped` result
      without asking;
    - an unforeseen payload shape is a ParseError of this source, never an exception that stops
      the whole pull (a safety net under the guarded field access below).
    """

    def wrap(pull: Pull) -> Collect:
        @functools.wraps(pull)
        async def collect(ctx: SourceContext) -> Collected:
            try:
                secret = read_token(ctx) if token else None
                run = Run(ctx, secrets=(secret,) if secret else ())
                until = run.waiting_until()
                if until:
                    return run.skipped(until)
                return await pull(run, secret)
            except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
                raise ParseError(f"unexpected response shape ({type(exc).__name__}: {str(exc)[:200]})") from None

        return collect

    return wrap


def fingerprint(*parts: Any) -> str:
    """A short digest of what a source asks for, so a changed query starts again with a backfill."""
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


def scrub(text: str, secrets: Iterable[str]) -> str:
    return mask_secrets(text, secrets)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- guarded access to untrusted JSON -------------------------------------------------------------

def expect_dict(value: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{where}: expected {what} (a JSON object), got {_json_kind(value)}")
    return value


def expect_list(value: Any, where: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(f"{where}: expected {what} (a JSON list), got {_json_kind(value)}")
    return value


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def s(obj: Any, key: str) -> str | None:
    """A string (or an id number as text) at obj[key]; None when absent or of another type."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return None


def d(obj: Any, key: str) -> dict[str, Any]:
    """The object at obj[key], or an empty one."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def n(obj: Any, key: str) -> float | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def counts(**values: float | None) -> dict[str, int] | None:
    """The attention counts a source gives for an item, for `extra["counts"]` (reach is their sum):
    whole numbers, a negative score as 0 (no attention, not less than none); None when there are none."""
    found = {k: max(0, int(min(v, 2**53))) for k, v in values.items() if v is not None}
    return found or None


def from_unix(value: float | None) -> str | None:
    if value is None:
        return None
    try:
        return utc_iso(datetime.fromtimestamp(value, tz=timezone.utc))
    except (OverflowError, OSError, ValueError):
        return None


def from_text(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return utc_iso(parse_iso(value))
    except (ValueError, OverflowError):
        return None


def is_older(published_at: str | None, cutoff: datetime) -> bool:
    return published_at is not None and published_at < utc_iso(cutoff)


def same_origin(a: str, b: str) -> bool:
    try:
        pa, pb = urlsplit(a), urlsplit(b)
        return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)
    except ValueError:
        return False
