"""Search documents beside a pull, on PostgreSQL: a second connection gives the items the writer adds
their documents while the writer goes on (store.search.index_pending).

The `english` parser and stemmer and the GIN entry cost the server as much as the rest of storing an
item; in the insert's trigger they ran on the writer's path, which sets a pull's pace (benchmarks/
README.md, "Pull into PostgreSQL"). Here the server does that work in another backend, on the core the
writer and its backend leave idle while they wait on each other. Until an item has its document a
search reads its text directly, so nothing is unsearchable meanwhile, and a failure here loses nothing:
the items stay pending, searchable, and the next pull indexes them. SQLite indexes in its own triggers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from socialscale.errors import SocialscaleError
from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of
from socialscale.store.search import index_pending

IDLE_WAIT_S = 0.1  # how long the indexer waits when nothing is pending, before looking again


@contextmanager
def indexing_beside(db: Database) -> Iterator[list[str]]:
    """Index pending items on a second connection while the block runs, and the rest when it ends (not
    when it fails: then the thread stops after its current batch). Yields the list of problems met, one
    line each (the indexer stops at the first; a pull reports them as warnings)."""
    problems: list[str] = []
    if not dialect_of(db).postgres:
        yield problems
        return
    finishing, abandon = threading.Event(), threading.Event()
    thread = threading.Thread(target=_index, args=(str(db.url), finishing, abandon, problems),  # type: ignore[attr-defined]
                              name="socialscale-search-index", daemon=True)
    thread.start()
    try:
        yield problems
    except BaseException:
        abandon.set()
        raise
    finally:
        finishing.set()
        thread.join()


def _index(url: str, finishing: threading.Event, abandon: threading.Event, problems: list[str]) -> None:
    import psycopg

    from socialscale.store.postgres import connect, describe

    try:
        db = connect(url)
    except SocialscaleError as exc:
        problems.append(f"search index: {exc}; the new items stay searchable, the next pull indexes them")
        return
    try:
        while not abandon.is_set():
            if index_pending(db):
                continue
            if finishing.is_set():
                return
            finishing.wait(IDLE_WAIT_S)
    except psycopg.Error as exc:
        problems.append(describe(exc, url, "search index: could not index the new items") +
                        "; they stay searchable, the next pull indexes them")
    finally:
        db.close()
