"""Matching on more than one core: worker processes, each with the rules compiled once.

The matcher is Python around a C automaton and holds the GIL, so a second core takes a second
process. `MatchPool.submit` hands a batch to the workers in pieces; its `result()` takes back the
pieces no worker has started and matches them in the calling process, so the work meets in the
middle whether the caller waits at once (`match_many`) or does other work first (`tag` comparing
the batch before). Workers start from a forkserver, not by forking a process that may hold
threads or an open database.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, cast

from socialscale.models import Rule
from socialscale.rules.matcher import Matcher

# Below this many items a batch is matched in the calling process: shipping it costs more.
MIN_SPLIT = 2_000
PIECE = 2_000  # items sent to a worker at once: what the caller may take back when it is free first

_matcher: Matcher | None = None  # in a worker process: the rules, compiled once by _start


_deciding = False  # in a worker process: decide_many rather than match_many


def _start(rules: tuple[Rule, ...], deciding: bool = False) -> None:
    global _matcher, _deciding
    _matcher = Matcher(rules)
    _deciding = deciding


def _match(items: Sequence[Sequence[Any]] | bytes) -> list[tuple[int, ...]]:
    if _matcher is None:  # pragma: no cover - _start runs first in every worker
        raise RuntimeError("worker started without rules")
    batch = marshal.loads(items) if isinstance(items, bytes) else items
    return _matcher.decide_many(batch) if _deciding else _matcher.match_many(batch)


def _pack(items: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]] | bytes:
    # marshal writes tuples of strings three times as fast as pickle (0.24 us an item against
    # 0.71), and this side's time is what the split waits for; pickle takes anything else.
    try:
        return marshal.dumps(cast(Any, items))
    except ValueError:
        return items


def default_workers() -> int:
    """Worker processes that use every core next to the caller: one fewer than the cores."""
    return max(0, (os.cpu_count() or 1) - 1)


class MatchPool:
    """`Matcher.match_many` (or, with `deciding`, `decide_many`) spread over `workers` processes plus the
    caller; same results, same order."""

    def __init__(self, rules: Sequence[Rule], workers: int | None = None, matcher: Matcher | None = None,
                 deciding: bool = False) -> None:
        self.matcher = matcher or Matcher(rules)
        self._here = self.matcher.decide_many if deciding else self.matcher.match_many
        self.workers = default_workers() if workers is None else workers
        self._executor: ProcessPoolExecutor | None = None
        if self.workers > 0:
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start,
                                                 initargs=(tuple(rules), deciding))

    def start(self) -> None:
        """Start the workers now rather than on the first batch (each imports and compiles the rules)."""
        if self._executor is not None:
            for future in [self._executor.submit(_match, []) for _ in range(self.workers)]:
                future.result()

    def match_many(self, items: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        return self.submit(items).result()

    def submit(self, items: Sequence[Sequence[Any]]) -> Matching:
        """Start matching `items` on the workers, in pieces of PIECE; `result()` later takes back the pieces
        no worker has started and matches them here. So a caller with other work to do meanwhile (`tag`
        comparing the batch before) hands the workers a batch whole, and one that waits at once shares it."""
        if self._executor is None or len(items) < MIN_SPLIT:
            return Matching(self, items, [])
        # A small piece first, so that a worker starts soon (its items are packed, sent and unpacked first).
        cuts = [0, min(len(items), PIECE // 4)]
        while cuts[-1] < len(items):
            cuts.append(min(cuts[-1] + PIECE, len(items)))
        pieces = [(a, b, self._executor.submit(_match, _pack(items[a:b]))) for a, b in zip(cuts, cuts[1:], strict=False)]
        return Matching(self, items, pieces)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> MatchPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class Matching:
    """A batch handed to `MatchPool.submit`: its pieces on the workers."""

    def __init__(self, pool: MatchPool, items: Sequence[Sequence[Any]],
                 pieces: list[tuple[int, int, Future[list[tuple[int, ...]]]]]) -> None:
        self.pool, self.items, self.pieces = pool, items, pieces

    def result(self) -> list[tuple[int, ...]]:
        """Each item's rules, in order. The pieces are taken from the workers' queue from the last one back,
        one at a time, and matched here while the workers match the first ones (the work meets in the middle);
        a piece a worker has started is awaited."""
        if not self.pieces:
            return self.pool._here(self.items)
        mine: dict[int, list[tuple[int, ...]]] = {}
        for n in range(len(self.pieces) - 1, -1, -1):
            a, b, future = self.pieces[n]
            if not future.cancel():
                break
            mine[n] = self.pool._here(self.items[a:b])
        out: list[tuple[int, ...]] = []
        for n, (_, _, future) in enumerate(self.pieces):
            out += mine[n] if n in mine else future.result()
        return out
