"""A re-tag that changes most items drops the report indexes and builds them again (store/reindex.py):
what it stores and what the reports say are the same as when the indexes are updated row by row, a
failure half-way puts the indexes back, and a tag that dies in between is repaired by the next open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialscale import reports
from socialscale.config import load_config
from socialscale.models import Config, Item, Lane, Rule
from socialscale.rules import tagging
from socialscale.rules.tagging import Tagger
from socialscale.store import reindex
from socialscale.store import tagging as store
from socialscale.store.db import open_db, transaction
from socialscale.store.dialect import dialect_of
from socialscale.store.items import upsert_items

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WORDS = ["refund", "broken", "looking for", "alternative", "great", "thanks", "price", "quote", "hiring"]
ITEMS = 240
BATCH = 40


def _second(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Another empty database on the same backend as `database`."""
    if "://" in database:
        return str(request.getfixturevalue("pg_server").new_database())
    return str(tmp_path / "twin.db")


def _config(tmp_path: Path, database: str, name: str) -> Config:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "database": database, "team": {"ann": {}, "bob": {}},
        "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "ann"},
                  "sales_prospecting": {"sla": "1d"}},
        "rules": [{"name": f"r{i}", "lane": ["customer_service", "sales_prospecting", "listening"][i % 3],
                   "any": [WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)]], "tags": [f"t{i % 4}"],
                   **({"owner": "bob"} if i % 5 == 4 else {})} for i in range(30)]}), encoding="utf-8")
    return load_config(path)


def _load(config: Config) -> Any:
    db = open_db(config.database)
    items = [Item(source=f"s{i % 3}", guid=f"g{i}", title=" ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 4)),
                  text=f"post {i} " + WORDS[i % len(WORDS)], published_at=f"2026-11-{1 + i % 23:02d}T{i % 24:02d}:00:00Z")
             for i in range(ITEMS)]
    with transaction(db):
        upsert_items(db, "s", items, "2026-11-24T08:00:00Z")
    return db


def _stored(db: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(
        "SELECT guid, lane, lanes, tags, rules, owner, owner_set_by, rules_version FROM items ORDER BY id").fetchall()]


def _events(db: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(
        "SELECT i.guid, e.detail FROM events e JOIN items i ON i.id = e.item_id WHERE e.kind = 'tagged' "
        "ORDER BY i.guid").fetchall()]


def _reports(db: Any, config: Config) -> str:
    figures = {f"backlog by {by}": reports.backlog(db, config, now=NOW, by=by) for by in ("lane", "owner", "source")}
    figures["latency"] = reports.latency(db, config, now=NOW, since="60d")  # type: ignore[assignment]
    return json.dumps(figures, sort_keys=True, default=str)


def _definitions(db: Any) -> list[str | None]:
    out = []
    for name in reindex.REPORT_INDEXES:
        row = db.conn.execute(dialect_of(db).index_definition(), (name,)).fetchone()
        out.append(row[0] if row else None)
    return out


def test_a_retag_that_rebuilds_the_indexes_stores_and_reports_what_row_by_row_updates_do(
        database, request, tmp_path, monkeypatch):
    dropped: list[bool] = []
    real = reindex.drop

    def spy(db: Any, *args: Any) -> bool:
        dropped.append(real(db, *args))
        return dropped[-1]

    monkeypatch.setattr(reindex, "drop", spy)
    outcomes = []
    for name, db_name, rebuild_at in (("rows", database, 10**9), ("rebuild", _second(database, request, tmp_path), 1)):
        config = _config(tmp_path, db_name, name)
        db = _load(config)
        before = _definitions(db)
        summary = Tagger(config, rebuild_at=rebuild_at).retag(db, now="2026-11-24T09:00:00Z", all_items=True,
                                                              batch=BATCH)
        assert summary.changed == ITEMS
        assert _definitions(db) == before and None not in before  # the same indexes, as they were defined
        assert not reindex.pending(db)
        outcomes.append((_stored(db), _events(db), _reports(db, config)))
        db.conn.close()
    assert dropped == [True]  # only the second run took the rebuild path
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][1]) == ITEMS


def test_a_dry_run_or_a_retag_that_changes_little_leaves_the_indexes_alone(database, tmp_path, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(reindex, "drop", lambda db, *a: calls.append(1) or False)
    config = _config(tmp_path, database, "c")
    db = _load(config)
    tagger = Tagger(config, rebuild_at=1)
    tagger.retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH, dry_run=True)
    assert calls == []
    monkeypatch.undo()
    tagger.retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH)
    monkeypatch.setattr(reindex, "drop", lambda db, *a: calls.append(1) or False)
    again = tagger.retag(db, now="2026-11-24T10:00:00Z", all_items=True, batch=BATCH)
    assert again.changed == 0 and calls == []  # nothing changed in the first batch: row by row
    db.conn.close()


def test_a_failure_half_way_puts_the_indexes_back(database, tmp_path, monkeypatch):
    config = _config(tmp_path, database, "c")
    db = _load(config)
    before = _definitions(db)
    writes = []

    def failing(real: Any) -> Any:
        def write(db: Any, *args: Any) -> Any:
            writes.append(1)
            if len(writes) == 3:
                assert reindex.pending(db)  # the indexes are dropped by now
                raise RuntimeError("disk on fire")
            return real(db, *args)
        return write

    # The first batch is written as it is read; the others by the writer thread, beside the next one's reading.
    monkeypatch.setattr(store, "write_tagging", failing(store.write_tagging))
    monkeypatch.setattr(store, "write_if_unmoved", failing(store.write_if_unmoved))
    with pytest.raises(RuntimeError, match="disk on fire"):
        Tagger(config, rebuild_at=1).retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH)
    assert _definitions(db) == before
    assert not reindex.pending(db)
    # The two batches before the failure are stored (each its own transaction, as without the rebuild);
    # the failing one is not.
    tagged = db.execute("SELECT COUNT(*) FROM items WHERE lane IS NOT NULL").fetchone()[0]
    assert tagged == 2 * BATCH
    assert db.execute("SELECT COUNT(*) FROM events WHERE kind = 'tagged'").fetchone()[0] == 2 * BATCH
    db.conn.close()


_DIE_AFTER_DROP = """
import os, sys
from socialscale.store import reindex
from socialscale.store.db import open_db, transaction
db = open_db(sys.argv[1])
with transaction(db):
    assert reindex.drop(db)
os._exit(9)  # dies before rebuilding, as under kill -9
"""


def test_a_tag_that_dies_after_dropping_is_repaired_by_the_next_open(database, tmp_path):
    config = _config(tmp_path, database, "c")
    db = _load(config)
    Tagger(config).retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH)
    before, figures = _definitions(db), _reports(db, config)
    db.conn.close()
    done = subprocess.run([sys.executable, "-c", _DIE_AFTER_DROP, database], env={**os.environ}, timeout=120)
    assert done.returncode == 9
    db = open_db(database)  # the dead tag's record is found, and the indexes are built again
    assert _definitions(db) == before
    assert not reindex.pending(db)
    assert _reports(db, config) == figures
    db.conn.close()


def test_indexes_a_running_tag_dropped_are_left_to_it(database, tmp_path):
    config = _config(tmp_path, database, "c")
    first = _load(config)
    with transaction(first):
        assert reindex.drop(first)
    second = open_db(database)  # the tag (this process, or `first`'s session) is alive: no repair
    try:
        assert _definitions(second) == [None, None]
        figures_without = _reports(second, config)  # reports still answer, from the table
        with transaction(first):
            assert reindex.rebuild(first)
        assert None not in _definitions(second)
        assert _reports(second, config) == figures_without
    finally:
        second.conn.close()
        first.conn.close()


def test_the_rebuild_decision_needs_half_the_table_to_change(tmp_path):
    config = _config(tmp_path, str(tmp_path / "d.db"), "c")
    db = _load(config)
    tagger = Tagger(config, rebuild_at=ITEMS + 1)  # every item is stale (never tagged): ITEMS are left
    assert not tagger._worth_rebuilding(db, changed=BATCH, checked=BATCH, stale_for=None)
    tagger.rebuild_at = ITEMS
    assert tagger._worth_rebuilding(db, changed=BATCH, checked=BATCH, stale_for=None)
    half = int(BATCH * tagging.REBUILD_SHARE)
    assert tagger._worth_rebuilding(db, changed=half, checked=BATCH, stale_for=None) is False  # 120 < 240 expected
    tagger.rebuild_at = 1
    assert tagger._worth_rebuilding(db, changed=half, checked=BATCH, stale_for=None)  # half of the table
    assert not tagger._worth_rebuilding(db, changed=half - 1, checked=BATCH, stale_for=None)
    with transaction(db):  # most items tagged by the current rules already: few are left to change
        db.execute("UPDATE items SET rules_version = ? WHERE id <= ?", (tagger.version, ITEMS - 100))
    assert not tagger._worth_rebuilding(db, changed=BATCH, checked=BATCH, stale_for=None)
    db.conn.close()


def test_a_persons_decision_made_while_tag_reads_the_next_batch_is_kept(database, request, tmp_path, monkeypatch):
    """From the second batch on, `tag` reads a batch on a second connection while its writer thread stores the
    one before, so the read is not in the write's transaction. A person who assigns or closes an item of that
    batch in between keeps the decision: the batch's write checks the rows are as read, and, as one of them is
    not, the batch is tagged again inside one transaction."""
    from socialscale import workflow

    config = _config(tmp_path, database, "c")
    db = _load(config)
    other = open_db(config.database)  # the person's own connection
    real = store.rows_after
    decided: dict[int, str] = {}

    def meanwhile(db_: Any, after: int, *args: Any, **kwargs: Any) -> Any:
        rows = real(db_, after, *args, **kwargs)
        if db_ is not db and rows and len(decided) < 2:  # the second connection: outside any write transaction
            item = int(rows[3][0])
            if decided:
                workflow.close(other, config, [item], actor="bob", now=NOW)
                decided[item] = "closed"
            else:
                workflow.assign(other, config, [item], to="bob", actor="bob", now=NOW)
                decided[item] = "bob"
        return rows

    monkeypatch.setattr(store, "rows_after", meanwhile)
    summary = Tagger(config).retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH)
    assert len(decided) == 2  # both made after their batch was read, before it was written
    assert summary.checked == ITEMS and summary.changed == ITEMS and summary.kept == 2
    (assigned, owner), (closed, _) = decided.items()
    row = db.execute("SELECT owner, owner_set_by, lane, rules_version FROM items WHERE id = ?", (assigned,)).fetchone()
    assert tuple(row) == ("bob", "bob", row[2], Tagger(config).version) and row[2] is not None
    assert db.execute("SELECT status FROM items WHERE id = ?", (closed,)).fetchone()[0] == "closed"
    details = [json.loads(r[0]) for r in db.execute(
        "SELECT detail FROM events WHERE kind = 'tagged' AND item_id IN (?, ?) ORDER BY item_id", (assigned, closed))]
    assert {d.get("owner_kept") for d in details} == {"assigned by bob", "status is closed"}
    # Every item tagged once, and what is stored is what a run without anyone meanwhile stores.
    assert db.execute("SELECT COUNT(*) FROM events WHERE kind = 'tagged'").fetchone()[0] == ITEMS
    monkeypatch.setattr(store, "rows_after", real)
    twin = _config(tmp_path, _second(database, request, tmp_path), "twin")
    twin_db = _load(twin)
    Tagger(twin).retag(twin_db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH)
    ours, theirs = _stored(db), _stored(twin_db)
    assert [r[:5] for r in ours] == [r[:5] for r in theirs]  # guid, lane, lanes, tags, rules
    other.conn.close()
    twin_db.conn.close()
    db.conn.close()


@pytest.mark.timeout(120)
def test_batches_matched_by_the_pools_worker_while_the_one_before_is_compared_store_the_same(
        database, request, tmp_path, monkeypatch):
    """`tag --all` hands each next batch to the match pool's worker in pieces and takes back the pieces it has not
    started (rules.pool.Matching): the same rows and events as a run matched in this process alone, dry run and
    nothing-changed run included."""
    from socialscale.rules import pool

    monkeypatch.setattr(pool, "MIN_SPLIT", 8)  # batches of 40 in pieces of 6: some matched there, some here
    monkeypatch.setattr(pool, "PIECE", 6)
    taken: list[int] = []
    real = pool.Matching.result

    def counting(self: Any) -> list[tuple[int, ...]]:
        taken.append(len(self.pieces))
        return real(self)

    monkeypatch.setattr(pool.Matching, "result", counting)
    outcomes = []
    for name, db_name, workers in (("pool", database, 1), ("here", _second(database, request, tmp_path), 0)):
        monkeypatch.setattr(tagging, "default_workers", lambda workers=workers: workers)
        config = _config(tmp_path, db_name, name)
        db = _load(config)
        tagger = Tagger(config)
        dry = tagger.retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH, dry_run=True).to_json()
        first = tagger.retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH).to_json()
        again = tagger.retag(db, now="2026-11-24T10:00:00Z", all_items=True, batch=BATCH).to_json()
        assert first["changed"] == ITEMS and again["changed"] == 0 and dry == first | {"dry_run": True}
        outcomes.append((dry, first, again, _stored(db), _events(db)))
        db.conn.close()
    assert sum(n > 1 for n in taken) >= 4  # the batches read ahead went to the worker in pieces
    assert outcomes[0] == outcomes[1]


def test_a_tagged_events_detail_is_what_json_writes_of_it():
    """`_detail` joins the detail's text from the lists already encoded for the row: the same text as `json.dumps` of
    the dict, every optional key and non-ASCII names included."""
    config = Config(path=None, database=":memory:", lanes={"café": Lane(name="café", owner="zoë")}, default_lane="café",
                    rules=(Rule(name="r\u00e9", lane="café", any=("a",), tags=("t\"1", "t2")),
                           Rule(name="r2", lane="other", any=("b",), owner="ann")))
    tagger = Tagger(config)
    p = tagger.outcome((0, 1))
    cases = [dict(previous=None, owner=None, kept=None, new_lane="café", new_lanes=p.lanes, inherited=None,
                  owner_from=None, reason=None),
             dict(previous="old \u2603", owner="zoë", kept="assigned by bob", new_lane="other",
                  new_lanes='["other", "café"]', inherited=12, owner_from="conversation", reason="upgrade to 9"),
             dict(previous="x", owner="ann", kept=None, new_lane="café", new_lanes=p.lanes, inherited=3,
                  owner_from="conversation", reason=None)]
    for case in cases:
        expected: dict[str, Any] = {"rules": ["r\u00e9", "r2"], "lane": case["new_lane"],
                                    "lanes": json.loads(case["new_lanes"]), "tags": ["t\"1", "t2"], "owner": case["owner"]}
        if case["previous"] is not None:
            expected["previous_lane"] = case["previous"]
        if case["inherited"] is not None:
            expected["lane_from_conversation"] = case["inherited"]
        if case["owner_from"] == "conversation" and not case["kept"]:
            expected["owner_from"] = "conversation"
        if case["kept"]:
            expected["owner_kept"] = case["kept"]
        if case["reason"]:
            expected["reason"] = case["reason"]
        previous = case.pop("previous")
        owner = case.pop("owner")
        kept = case.pop("kept")
        assert tagging._detail(p, previous, owner, kept, **case) == json.dumps(expected, ensure_ascii=False)


def test_tag_runs_with_the_cyclic_collector_off_and_puts_it_back_as_it_was(tmp_path):
    import gc

    config = _config(tmp_path, str(tmp_path / "gc.db"), "gc")
    db = _load(config)
    during: list[bool] = []
    assert gc.isenabled()
    Tagger(config).retag(db, now="2026-11-24T09:00:00Z", all_items=True, batch=BATCH,
                         progress=lambda summary: during.append(gc.isenabled()))
    assert during and not any(during) and gc.isenabled()
    gc.disable()
    try:
        Tagger(config).retag(db, now="2026-11-24T10:00:00Z", all_items=True, batch=BATCH)
        assert not gc.isenabled()  # left off by whoever turned it off
    finally:
        gc.enable()
    db.conn.close()
