"""Sentiment on a second core for `tag --all`: one worker process scores the next batch while the
caller matches the rules and writes the current one.

Scoring is pure Python (tens of µs a post) and holds the GIL, so another core takes another
process. The worker starts from a forkserver, loads the lexicon once and receives each batch's
(title, text, lang) as `marshal` bytes; the caller checks that an item's text did not change
between the two reads (a pull may run meanwhile) and scores any that did itself.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from socialscale.insight.sentiment import Vader

MIN_ITEMS = 50_000  # below this many items to tag, starting a worker costs more than it saves

_vader: Vader | None = None


def _start() -> None:
    global _vader
    _vader = Vader()


def _score(packed: bytes) -> list[float | None]:
    if _vader is None:  # pragma: no cover - _start runs first in every worker
        raise RuntimeError("worker started without the lexicon")
    score = _vader.item_score
    return [score(title, text, lang) for title, text, lang in marshal.loads(packed)]


def worth_it(items: int) -> bool:
    """A worker helps when there are many items and a second core to run it on."""
    return items >= MIN_ITEMS and (os.cpu_count() or 1) > 1


class SentimentWorker:
    """`submit(texts)` returns a Future of their scores, in order (texts: (title, text, lang) tuples)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        self._executor = ProcessPoolExecutor(1, mp_context=context, initializer=_start)

    def submit(self, texts: Sequence[tuple[Any, Any, Any]]) -> Future[list[float | None]]:
        return self._executor.submit(_score, marshal.dumps([tuple(t) for t in texts]))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
