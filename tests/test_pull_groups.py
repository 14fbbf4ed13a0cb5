"""Group commit in the pull: sources that finish while the writer is busy are stored together, in one
transaction with a savepoint each (socialscale.pipeline._GroupWriter, store.db.transaction nested).

What must hold: every source is stored, in the order it finished; a source whose batch fails is
undone alone and recorded as that source's error while the sources stored with it are kept; a
database failure fails the group's sources and nothing of the group is half-written.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from socialscale import pipeline
from socialscale.config import load_config
from socialscale.errors import DatabaseError
from socialscale.models import Item
from socialscale.sources.base import Collected
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items

NOW = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
STAMP = "2026-11-24T09:00:00Z"


def test_a_nested_transaction_undoes_only_its_own_writes(database):
    db = open_db(database)
    with transaction(db):
        upsert_items(db, "kept", [Item("kept", "g1", title="kept before")], STAMP)
        with pytest.raises(RuntimeError), transaction(db):
            upsert_items(db, "undone", [Item("undone", "g2", title="undone")], STAMP)
            raise RuntimeError("this source's batch failed")
        with transaction(db):
            upsert_items(db, "kept", [Item("kept", "g3", title="kept after")], STAMP)
    titles = sorted(r[0] for r in db.execute("SELECT title FROM items").fetchall())
    assert titles == ["kept after", "kept before"]
    db.conn.close()


def test_a_database_error_inside_fails_the_whole_transaction(database):
    db = open_db(database)
    with pytest.raises(DatabaseError), transaction(db):
        upsert_items(db, "s", [Item("s", "g1", title="one")], STAMP)
        with transaction(db):
            db.execute("INSERT INTO no_such_table VALUES (1)")
    assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
    db.conn.close()


def test_sources_finishing_while_the_writer_is_busy_are_stored_together_in_order():
    groups: list[list[str]] = []
    first_started, release = threading.Event(), threading.Event()

    def store_group(jobs):
        groups.append([job[0] for job in jobs])
        if len(groups) == 1:
            first_started.set()
            release.wait(10)
        return [pipeline.SourceResult(job[0], "ok") for job in jobs]

    async def run() -> list[str]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1) as writer:
            store = pipeline._GroupWriter(loop, writer, store_group)
            first = store.submit(("a", None, None, 0))
            await loop.run_in_executor(None, first_started.wait, 10)
            later = [store.submit((name, None, None, 0)) for name in ("b", "c", "d")]
            release.set()
            results = await asyncio.gather(first, *later)
        return [r.name for r in results]

    assert asyncio.run(run()) == ["a", "b", "c", "d"]
    assert groups == [["a"], ["b", "c", "d"]]


def test_a_group_bigger_than_the_limit_is_stored_in_several_transactions():
    groups: list[int] = []
    release = threading.Event()

    def store_group(jobs):
        groups.append(len(jobs))
        release.wait(10)
        return [pipeline.SourceResult(job[0], "ok") for job in jobs]

    async def run() -> int:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1) as writer:
            store = pipeline._GroupWriter(loop, writer, store_group)
            futures = [store.submit((f"s{n}", None, None, 0)) for n in range(pipeline.MAX_GROUP + 5)]
            release.set()
            return len(await asyncio.gather(*futures))

    assert asyncio.run(run()) == pipeline.MAX_GROUP + 5
    assert groups == [1, pipeline.MAX_GROUP, 4]


def test_in_a_group_a_failing_source_is_its_own_error_and_the_others_are_stored(tmp_path, monkeypatch):
    names = ["one", "broken", "three"]
    (tmp_path / "c.yaml").write_text(f"database: '{tmp_path / 'g.db'}'\nsources:\n" + "".join(
        f"  - {{name: {n}, url: 'http://127.0.0.1:9/{n}.xml'}}\n" for n in names))
    config = load_config(tmp_path / "c.yaml")
    db = open_db(config.database)
    real_upsert = pipeline.upsert_items

    def upsert(db, source, items, stamp, **kw):
        if source == "broken":
            real_upsert(db, source, items, stamp, **kw)  # written, then undone with the source's savepoint
            raise ValueError("a bug met by this source's data")
        return real_upsert(db, source, items, stamp, **kw)

    monkeypatch.setattr(pipeline, "upsert_items", upsert)
    jobs = [(config.source(n), Collected(items=[Item(n, f"{n}-1", title=f"{n} title")]), None, 5) for n in names]
    results = pipeline._store_group(db, config, pipeline._tagger(config), {}, jobs, NOW)
    assert [(r.name, r.status, r.new) for r in results] == [("one", "ok", 1), ("broken", "error", 0),
                                                            ("three", "ok", 1)]
    assert "could not store this source's items, nothing of them was written" in (results[1].error or "")
    assert sorted(r[0] for r in db.execute("SELECT source FROM items").fetchall()) == ["one", "three"]
    health = dict(db.execute("SELECT name, last_status FROM sources").fetchall())
    assert health == {"one": "ok", "broken": "error", "three": "ok"}
    assert db.execute("SELECT COUNT(*) FROM fetches").fetchone()[0] == 3
    db.conn.close()
