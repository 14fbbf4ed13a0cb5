"""One pull, start to end: due sources -> fetch -> parse (process pool) -> store -> thread -> tag -> answer -> notify.

The CLI and the demo call `pull()`; it returns a summary as data and never prints. Each source
is stored as soon as it is fetched, whole or not at all (in its own transaction, or in its own
savepoint of a group that finished while the writer was busy: `_GroupWriter`), so a crash loses
only the sources still in flight, and a failing source never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from socialscale import sources as kinds
from socialscale.errors import DatabaseError, SocialscaleError, UsageError, unknown
from socialscale.fetch import Budget, Fetcher, RateLimited, host_of, request_secrets
from socialscale.models import Config, RunStatus, Source
from socialscale.parsepool import ParsePool
from socialscale.rules.keep import kept
from socialscale.searchindex import indexing_beside
from socialscale.sources.base import Collected, SourceContext
from socialscale.store.database import Database
from socialscale.store.db import (
    bulk_writing,
    gather_planner_statistics,
    lacks_planner_statistics,
    transaction,
)
from socialscale.store.items import UpsertResult, stored_refs, upsert_items
from socialscale.store.sources import host_waits, record_fetch, save_host_waits, source_states
from socialscale.text import mask_secrets, one_line
from socialscale.timeutil import format_duration, parse_iso, utc_iso


@dataclass
class SourceResult:
    """One source's outcome; the fields of docs/json.md's `pull` JSON plus warnings."""

    name: str
    status: RunStatus
    http_status: int | None = None
    seen: int = 0
    new: int = 0
    updated: int = 0
    duration_ms: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list, repr=False)


@dataclass
class PullSummary:
    sources: list[SourceResult]
    notify_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # nothing lost, nothing to fix now (searchindex)

    @property
    def failed(self) -> bool:
        return any(s.status == "error" for s in self.sources) or bool(self.notify_errors)

    def totals(self) -> dict[str, int]:
        return {
            "sources": len(self.sources),
            "ok": sum(s.status in ("ok", "not_modified") for s in self.sources),
            "errors": sum(s.status == "error" for s in self.sources),
            "new": sum(s.new for s in self.sources),
            "updated": sum(s.updated for s in self.sources),
        }

    def to_json(self) -> dict[str, Any]:
        keys = ("name", "status", "http_status", "seen", "new", "updated", "duration_ms", "error", "warnings")
        return {"sources": [{k: asdict(s)[k] for k in keys} for s in self.sources], "totals": self.totals()}


FUTURE_SLACK = timedelta(days=1)
# SQLite's page cache while a pull writes (its default: 2,000 KiB). Each group's upserts, threading and tagging
# touch index pages all over `items` (guid, canonical URL, conversation, the report indexes); with 2 MB a
# 50,000-item pull with replies made 280,000 read calls, most of them SQLite fetching pages back from the OS;
# with 16 MiB 49,000 (32 MiB: 45,000; 64 MiB: 41,000, but the pull's peak RSS, all processes, went from 216
# to 284 MB against issue 14's 300). Pages are taken as they are used (benchmarks/README.md, "Fifth session").
CACHE_KIB = 16_384
MAX_ERROR = 1000  # characters of a source's error kept and shown: a server's error page can be megabytes
Progress = Callable[[SourceResult, int, int], None]  # (result, done so far, sources to fetch)


def require_sources(config: Config, names: Sequence[str] = ()) -> None:
    """Refuse a pull that has nothing to fetch (no sources, an unknown name); the CLI asks this before
    it opens the database or takes the lock, so a refused pull leaves no file behind."""
    if names:
        missing = [n for n in names if config.source(n) is None]
        if missing:
            raise UsageError(unknown("source", missing, [s.name for s in config.sources], label="sources",
                                     none="none configured"))
    elif not config.sources:
        where = config.path or "socialscale.yaml"
        raise UsageError(f"{where}: no sources configured (add some under `sources:`; see config.example.yaml)")


def select_sources(config: Config, states: dict[str, dict[str, Any]], names: Sequence[str], force: bool,
                   now: datetime) -> tuple[list[Source], list[SourceResult]]:
    """The sources to fetch now, and `skipped` results for those not yet due (`every:`)."""
    require_sources(config, names)
    if names:
        return [s for s in config.sources if s.name in names], []
    due, skipped = [], []
    for source in config.sources:
        last = (states.get(source.name) or {}).get("last_fetch_at")
        if not force and source.every_s and last:
            next_at = parse_iso(last) + timedelta(seconds=source.every_s)
            if next_at > now:
                skipped.append(SourceResult(source.name, "skipped", error=f"not due until {utc_iso(next_at)}"))
                continue
        due.append(source)
    return due, skipped


def pull(db: Database, config: Config, *, names: Sequence[str] = (), force: bool = False,
         now: datetime, progress: Progress | None = None, workers: int | None = None,
         notify: bool = True) -> PullSummary:
    """Fetch the due (or named) sources concurrently and store what they hold."""
    states = source_states(db)
    due, skipped = select_sources(config, states, names, force, now)
    results = list(skipped)
    index_problems: list[str] = []
    if due:
        with bulk_writing(db, cache_kib=CACHE_KIB), indexing_beside(db) as index_problems:
            results += asyncio.run(_pull_async(db, config, due, states, now, progress, workers))
    order = {s.name: i for i, s in enumerate(config.sources)}
    results.sort(key=lambda r: order.get(r.name, 0))
    summary = PullSummary(results, warnings=index_problems)
    new_ids = [i for r in results for i in r.new_ids]
    if notify and config.notify and any(t.on for t in config.notify):
        # Also with nothing new: alerts held by quiet hours or a failed send go out as soon as they can.
        summary.notify_errors = _notify_new(db, config, new_ids, now)
    return summary


async def _pull_async(db: Database, config: Config, due: list[Source],
                      states: dict[str, dict[str, Any]], now: datetime, progress: Progress | None,
                      workers: int | None) -> list[SourceResult]:
    tagger = _tagger(config)
    kind_of: dict[str, str] = {}  # every source's kind, read once by the writer (conversations.update)
    # The parser processes also decide each feed item's rules (Prematched), unless a rule reads the
    # sentiment (those are decided with every match, here).
    rules = config.rules if isinstance(getattr(tagger, "matcher", None), Prematched) else []
    pool = ParsePool(workers, time_limit_s=config.fetch.parse_timeout_s, memory_budget=config.fetch.parse_memory,
                     prepare=("socialscale.sources.parsing:use_rules", (rules,)) if rules else None)
    loop = asyncio.get_running_loop()
    # One writer thread: SQLite releases the GIL while it works, so the event loop goes on fetching
    # and feeding the parser processes while a finished source is being stored.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="socialscale-store")
    statistics = _PlannerStatistics(db)
    store = _GroupWriter(loop, writer,
                         lambda jobs: statistics.after(_store_group(db, config, tagger, kind_of, jobs, now)))
    done: list[SourceResult] = []
    pull_deadline = loop.time() + config.fetch.pull_timeout_s
    # The longest-waiting sources ask first: one skipped for want of a host slot is first in line next time.
    due = sorted(due, key=lambda s: (states.get(s.name) or {}).get("last_fetch_at") or "")

    # `fetch.concurrency: 1` means one source at a time from request to stored rows, in order: items
    # then get their ids in the same order on every run (the demo relies on it).
    one_at_a_time = asyncio.Lock() if config.fetch.concurrency == 1 else None

    async def fetch_and_store(source: Source, fetcher: Fetcher) -> SourceResult:
        if one_at_a_time is None:
            return await collect_and_store(source, fetcher)
        async with one_at_a_time:
            return await collect_and_store(source, fetcher)

    async def collect_and_store(source: Source, fetcher: Fetcher) -> SourceResult:
        collected, error, elapsed_ms = await _collect(source, config, fetcher, pool,
                                                         states.get(source.name) or {}, now, pull_deadline)
        result = await store.submit((source, collected, error, elapsed_ms))
        done.append(result)
        if progress:
            progress(result, len(done), len(due))
        return result

    try:
        async with Fetcher(config.fetch, not_before=host_waits(db, now)) as fetcher:
            results = list(await asyncio.gather(*(fetch_and_store(source, fetcher) for source in due)))
        with transaction(db):
            save_host_waits(db, {h: fetcher.not_before[h] for h in fetcher.changed_hosts})
    finally:
        writer.shutdown(wait=True)
        pool.close()
    return results


async def _collect(source: Source, config: Config, fetcher: Fetcher, pool: ParsePool, state: dict[str, Any],
                   now: datetime, pull_deadline: float) -> tuple[Collected | None, SocialscaleError | None, int]:
    """Run one source's kind. Its time budget starts with its first request; until then it waits
    for a slot on its host, at most until the pull's own deadline (fetch.pull_timeout)."""
    timeout = source.timeout_s or config.fetch.timeout_s
    started = time.monotonic()
    budget = Budget(timeout)
    ctx = SourceContext(source=source, config=config, fetcher=fetcher, parser=pool, state=state, now=now,
                        budget=budget, secrets=request_secrets(source.url or "", None, {}))
    error: SocialscaleError
    scope = asyncio.timeout_at(pull_deadline)
    budget.on_start = scope.reschedule
    try:
        async with scope:
            collected = await kinds.KINDS[source.type].collect(ctx)
        return _scrubbed(_with_content(collected), ctx.secrets, now), None, _ms(started)
    except TimeoutError as exc:
        if not scope.expired():
            error = SocialscaleError(f"unexpected {type(exc).__name__} in the {source.type} source: {exc}")
        elif budget.started:
            error = SocialscaleError(f"gave up after {timeout:.0f}s (the source's total time budget, fetch.timeout)")
        else:
            error = HostWait(f"waited for host {host_of(source.url or '') or '(its host)'}: no free slot "
                             f"(fetch.per_host) before the pull's deadline (fetch.pull_timeout, "
                             f"{format_duration(config.fetch.pull_timeout_s)}); not asked this time, "
                             "first in line next pull")
    except SocialscaleError as exc:
        error = exc
    except (RecursionError, MemoryError) as exc:
        error = SocialscaleError(f"payload too deep or too large to handle ({type(exc).__name__})")
    except Exception as exc:  # noqa: BLE001 - a bug met by one source's data must not stop the others
        error = SocialscaleError(f"unexpected {type(exc).__name__} in the {source.type} source: {exc}")
    if ctx.secrets:
        error.args = (mask_secrets(str(error), ctx.secrets),)
    if error.http_status is None:  # a parse failure after a 200, say: the status still says what came back
        error.http_status = ctx.last_status
    return None, error, _ms(started)


class HostWait(SocialscaleError):
    """The source never got a slot on its host before the pull's deadline: skipped, first next time."""


def _with_content(collected: Collected) -> Collected:
    """Drop entries that carry nothing a person could use (no title, link, text or date): a truncated
    feed's last entry, say. They would be blank rows in every listing."""
    kept = [i for i in collected.items if i.title or i.url or i.text or i.published_at]
    dropped = len(collected.items) - len(kept)
    if dropped:
        collected.items = kept
        collected.warnings.append(f"{dropped} {'entry' if dropped == 1 else 'entries'} with no title, link, "
                                  "text or date skipped")
    return collected


def _scrubbed(collected: Collected, secrets: list[str], now: datetime) -> Collected:
    """The source's warnings as clean text, no publication date from the future, and its
    credentials masked in everything it returns (an API may echo a token back)."""
    _no_future_dates(collected, now)
    collected.warnings = [one_line(w, MAX_ERROR) for w in collected.warnings]
    if not secrets:
        return collected
    for item in collected.items:
        item.title, item.text = mask_secrets(item.title, secrets), mask_secrets(item.text, secrets)
        item.url = mask_secrets(item.url, secrets) if item.url else item.url
        item.author = mask_secrets(item.author, secrets) if item.author else item.author
        item.canonical_url = mask_secrets(item.canonical_url, secrets) if item.canonical_url else item.canonical_url
        item.extra = _masked_value(item.extra, secrets)
    collected.warnings = [mask_secrets(w, secrets) for w in collected.warnings]
    return collected


def _no_future_dates(collected: Collected, now: datetime) -> None:
    """A date more than a day after the item is first seen is not a publication date (a typo, a
    broken clock or a forgery): the item is stored without one, the date kept in
    `extra.published_raw`, and the pull notes it. Within a day is clock skew and time zones."""
    limit = utc_iso(now + FUTURE_SLACK)
    dropped = 0
    for item in collected.items:
        if item.published_at and item.published_at > limit:
            item.extra = {**item.extra, "published_raw": item.published_at}
            item.published_at = None
            dropped += 1
    if dropped:
        collected.warnings.append(f"{dropped} entries dated more than a day ahead; stored without a publication "
                                  "date (the date is kept in extra.published_raw)")


def _masked_value(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return mask_secrets(value, secrets)
    if isinstance(value, dict):
        return {k: _masked_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_value(v, secrets) for v in value]
    return value


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


_T = TypeVar("_T")
_Job = tuple[Source, "Collected | None", "SocialscaleError | None", int]  # a source, what it gave, its error, ms
MAX_GROUP = 32  # sources stored in one transaction at most: a workflow command waits for the lock that long


class _GroupWriter:
    """Hands finished sources to the writer thread. A source that finds the writer idle is stored at
    once; those that finish while it is busy are stored next, together, in one transaction (group
    commit): each commit rewrites the index pages it touched, and sources stored together share
    them. Each source still has its own savepoint, so one source's failure undoes only that source
    (docs/design.md, "Pull"). A database failure fails the whole group, and the pull stops as before."""

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: ThreadPoolExecutor,
                 store_group: Callable[[list[_Job]], list[SourceResult]]) -> None:
        self.loop, self.writer, self.store_group = loop, writer, store_group
        self.waiting: list[tuple[_Job, asyncio.Future[SourceResult]]] = []
        self.busy = False

    def submit(self, job: _Job) -> asyncio.Future[SourceResult]:
        done: asyncio.Future[SourceResult] = self.loop.create_future()
        self.waiting.append((job, done))
        if not self.busy:
            self._next()
        return done

    def _next(self) -> None:
        group, self.waiting = self.waiting[:MAX_GROUP], self.waiting[MAX_GROUP:]
        self.busy = bool(group)
        if group:
            stored = self.loop.run_in_executor(self.writer, self.store_group, [job for job, _ in group])
            stored.add_done_callback(lambda f: self._finished(group, f))

    def _finished(self, group: list[tuple[_Job, asyncio.Future[SourceResult]]],
                  stored: asyncio.Future[list[SourceResult]]) -> None:
        failure = None if stored.cancelled() else stored.exception()
        for n, (_, done) in enumerate(group):
            if done.cancelled():
                continue
            if stored.cancelled():
                done.cancel()
            elif failure is not None:
                done.set_exception(failure)
            else:
                done.set_result(stored.result()[n])
        self._next()


class _PlannerStatistics:
    """A new PostgreSQL database's first pull gives `items` planner statistics once it has stored
    ANALYZE_AFTER new items, rather than read the whole table for each source's lookups until autovacuum
    comes by (store.db.lacks_planner_statistics)."""

    ANALYZE_AFTER = 500

    def __init__(self, db: Database) -> None:
        self.db, self.new = db, 0
        self.waiting = lacks_planner_statistics(db)

    def after(self, results: list[SourceResult]) -> list[SourceResult]:
        if self.waiting:
            self.new += sum(r.new for r in results)
            if self.new >= self.ANALYZE_AFTER:
                self.waiting = False
                gather_planner_statistics(self.db)
        return results


def _store_group(db: Database, config: Config, tagger: Any, kind_of: dict[str, str], jobs: list[_Job],
                 now: datetime) -> list[SourceResult]:
    """Store these sources, one transaction for all of them (each its own savepoint inside), then thread
    and tag their new and changed items together: one conversation step per group, not per source
    (docs/design.md, "Conversations"). A failure of that step other than the database's rolls the
    group back, and its sources are stored again one at a time, each with its own step, so it fails
    only the source whose items met it."""
    try:
        with transaction(db):
            step = _Step()
            results = [_store(db, config, tagger, kind_of, *job, now, step) for job in jobs]
            step.run(db, config, tagger, kind_of, utc_iso(now))
            return results
    except _StepFailed:
        return [_store(db, config, tagger, kind_of, *job, now) for job in jobs]


class _StepFailed(Exception):
    """The conversation step of a group met a bug (not the database's failure)."""


class _Step:
    """The conversation step of a group of sources: their changed items, the new ones' thread columns,
    and the scores and rule decisions their parser step made."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.rows: list[dict[str, Any]] = []
        self.tagged: dict[int, Any] = {}
        self.sentiments: dict[Any, Any] = {}
        self.decided: dict[Any, Any] = {}

    def add(self, changed: list[int], upserted: UpsertResult, collected: Collected) -> None:
        self.ids += changed
        self.rows += upserted.new_threads
        self.tagged.update(upserted.tagged)
        self.sentiments.update(collected.sentiments)
        self.decided.update(collected.decided)

    def run(self, db: Database, config: Config, tagger: Any, kind_of: dict[str, str], stamp: str) -> None:
        if not self.ids:
            return
        try:
            _with_known(tagger, self.sentiments, self.decided,
                        lambda: _conversations(db, config, tagger, kind_of, self.ids, stamp, self.rows, self.tagged))
        except DatabaseError:
            raise
        except Exception as exc:  # noqa: BLE001 - rolled back and stored again source by source
            raise _StepFailed(str(exc)) from exc


def _with_known(tagger: Any, sentiments: dict[Any, Any], decided: dict[Any, Any], call: Callable[[], _T]) -> _T:
    """Run `call` with the tagger's sentiment model and matcher answering first from the parser step's
    scores and decisions (Prescored, Prematched); returns what it returns."""
    prepared = [(p, known) for p, known in ((getattr(tagger, "vader", None), sentiments),
                                             (getattr(tagger, "matcher", None), decided))
                if isinstance(p, Prescored | Prematched)]
    for p, known in prepared:
        p.known = known
    try:
        return call()
    finally:
        for p, _ in prepared:
            p.known = {}


def _store(db: Database, config: Config, tagger: Any, kind_of: dict[str, str], source: Source,
           collected: Collected | None, error: SocialscaleError | None, elapsed_ms: int, now: datetime,
           step: _Step | None = None) -> SourceResult:
    """Store one source's batch in one transaction (with `step`, its conversation step is left to the
    group's). Any failure of that batch other than the database itself (full disk, damaged file: those
    stop the pull with one line) is this source's error, recorded as such: the other sources are
    stored as usual."""
    if collected is not None:
        try:
            return _store_batch(db, config, tagger, kind_of, source, collected, elapsed_ms, now, step)
        except DatabaseError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug met by one source's data must not stop the others
            error = SocialscaleError(f"could not store this source's items, nothing of them was written "
                                     f"(unexpected {type(exc).__name__}: {exc})")
    message = one_line(str(error), MAX_ERROR)  # one line, no controls or bidi overrides, in every output
    waited = isinstance(error, HostWait)
    status: RunStatus = "skipped" if waited or (isinstance(error, RateLimited) and error.skipped) else "error"
    http_status = error.http_status if error is not None else None  # what the server sent, when it answered
    with transaction(db):
        record_fetch(db, source, now=utc_iso(now), status=status, http_status=http_status, error=message,
                     duration_ms=elapsed_ms, seen=0, new=0, updated=0, asked=not waited)
    return SourceResult(source.name, status, http_status=http_status, error=message, duration_ms=elapsed_ms)


def _store_batch(db: Database, config: Config, tagger: Any, kind_of: dict[str, str], source: Source,
                 collected: Collected, elapsed_ms: int, now: datetime, step: _Step | None = None) -> SourceResult:
    stamp = utc_iso(now)
    status: RunStatus = "not_modified" if collected.not_modified else "ok"
    with transaction(db):
        items = kept(source, collected.items, lambda refs: stored_refs(db, source.name, refs))
        # New items tagged as they are inserted (docs/design.md, "New items inserted tagged").
        upserted = _with_known(tagger, collected.sentiments, collected.decided,
                               lambda: upsert_items(db, source.name, items, stamp,
                                                    tag=lambda fresh: tagger.tag_new(source.name, fresh, stamp)))
        changed = upserted.new_ids + upserted.updated_ids
        if changed and step is None:
            _with_known(tagger, collected.sentiments, collected.decided,
                        lambda: _conversations(db, config, tagger, kind_of, changed, stamp, upserted.new_threads,
                                               upserted.tagged))
        record_fetch(db, source, now=stamp, status=status, http_status=collected.http_status, error=None,
                     duration_ms=elapsed_ms, seen=len(collected.items), new=len(upserted.new_ids),
                     updated=len(upserted.updated_ids), etag=collected.etag, last_modified=collected.last_modified,
                     cursor=collected.cursor, redirected_to=collected.permanent_redirect)
    if changed and step is not None:  # only once its savepoint is kept
        step.add(changed, upserted, collected)
    warnings = list(collected.warnings)
    if collected.permanent_redirect:
        warnings.append(f"moved permanently to {collected.permanent_redirect}; will fetch that from now on")
    if collected.waited_s >= 1:
        warnings.append(f"waited {collected.waited_s:.0f}s for the server (retries / Retry-After)")
    return SourceResult(source.name, status, http_status=collected.http_status, seen=len(collected.items),
                        new=len(upserted.new_ids), updated=len(upserted.updated_ids), duration_ms=elapsed_ms,
                        warnings=warnings, new_ids=upserted.new_ids)


def _tagger(config: Config) -> Any:
    from socialscale.rules.tagging import Tagger

    tagger: Any = Tagger(config)
    if hasattr(tagger, "vader"):
        tagger.vader = Prescored(tagger.vader)
    if config.rules and not tagger.matcher.moods:
        tagger.matcher = Prematched(tagger.matcher)
    return tagger


class Prescored:
    """The tagger's sentiment model, answering first from the scores the parser processes computed for
    the source being stored (`Collected.sentiments`), for exactly the same title, text and language;
    anything else (a text masked since, an item of the conversation stored earlier) it scores itself."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.known: dict[tuple[str, str, str | None], float | None] = {}

    def item_score(self, title: str | None, text: str | None, lang: str | None = None) -> float | None:
        key = (title, text, lang)
        if key in self.known:
            return self.known[key]  # type: ignore[index]
        return self.model.item_score(title, text, lang)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


class Prematched:
    """The tagger's matcher, answering `decide_many` first from the decisions the parser processes made
    for the source being stored (`Collected.decided`), for exactly the same source, title, text, author
    and URL; anything else (a text masked since, a conversation's root stored earlier) it decides itself.
    Everything else is the matcher's own."""

    def __init__(self, matcher: Any) -> None:
        self.matcher = matcher
        self.known: dict[tuple[Any, ...], tuple[int, ...]] = {}

    def decide_many(self, items: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        known = self.known
        out: list[tuple[int, ...] | None] = [known.get(tuple(fields)) for fields in items] if known else [None] * len(items)
        missing = [n for n, found in enumerate(out) if found is None]
        if missing:
            for n, found in zip(missing, self.matcher.decide_many([items[n] for n in missing]), strict=True):
                out[n] = found
        return out  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.matcher, name)


def _conversations(db: Database, config: Config, tagger: Any, kind_of: dict[str, str], item_ids: list[int],
                   now: str, rows: list[dict[str, Any]] | None = None, tagged: dict[int, Any] | None = None) -> None:
    """Ours, threads, follow-ups, tagging (with the conversation's lane and owner), and what our messages answered.
    `kind_of` (source -> kind) is filled on the pull's first call: a pull stores only the config's sources, whose kinds the config
    gives, so the stored ones read then stay right for the whole pull. `rows`: the new items' thread columns, from the upsert;
    `tagged`: those it inserted tagged (store.items.UpsertResult.tagged)."""
    from socialscale import conversations, replies

    if not kind_of:
        kind_of.update(replies.source_kinds(db, config))
    conversations.update(db, config, tagger, item_ids, now, kind_of, rows, tagged)


def _notify_new(db: Database, config: Config, new_ids: list[int], now: datetime) -> list[str]:
    from socialscale import notify  # Apprise is heavy: imported only when targets are configured

    return list(notify.send_new(db, config, new_ids, now))
