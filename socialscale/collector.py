"""Python's cyclic garbage collector paused for a stretch of work that makes no cycles, as it was after.

Importing the CLI (typer's and click's classes) and tagging (a tuple or more per item, each freed by its
reference count) allocate many objects and no cycles; the collector ran every 700 allocations and every so
often walked everything alive, finding nothing to free (cli/entry.py, rules/tagging.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside the block; on again after it only if it was on before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
