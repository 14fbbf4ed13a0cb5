"""PostgreSQL: an item added waits in `items_search_pending` until a second connection gives it its search
document (store/search.py, index_pending; socialscale/searchindex.py beside a pull). These tests pin what
must hold meanwhile and after: a pending item is found by search, an edit made while its document is being
computed is never lost, a pull leaves nothing pending, a database from before (schema 9) keeps its
documents, and an indexer that cannot connect says so in one line and loses nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import rss

from socialscale.searchindex import indexing_beside
from socialscale.store.db import open_db
from socialscale.store.dialect import POSTGRES
from socialscale.store.postgres import connect
from socialscale.store.schema import MIGRATIONS, VERSION_TABLE, apply_step
from socialscale.store.search import index_pending, search_clause

AT = "2024-03-06T09:00:00Z"


def _add(db: Any, guid: str, text: str, title: str = "") -> int:
    row = db.execute("INSERT INTO items (source, guid, title, text, first_seen_at, updated_at, start_at, content_hash) "
                     "VALUES ('blog', ?, ?, ?, ?, ?, ?, ?) RETURNING id", [guid, title, text, AT, AT, AT, guid]).fetchone()
    return int(row[0])


def _found(db: Any, words: str) -> set[int]:
    clause, values = search_clause(POSTGRES, words)
    return {int(r[0]) for r in db.execute(f"SELECT id FROM items WHERE {clause}", values).fetchall()}


def pending_count(db: Any) -> int:
    return int(db.execute("SELECT COUNT(*) FROM items_search_pending").fetchone()[0])


def _documented(db: Any) -> set[int]:
    return {int(r[0]) for r in db.execute("SELECT id FROM items_search").fetchall()}


def _until_waiting_for_a_lock(url: str, pid: int) -> None:
    """Until backend `pid` waits for a lock (bounded: a minute, then the test fails). Asked on a connection
    of its own, outside any transaction: pg_stat_activity is read once per transaction."""
    watcher = connect(url)
    try:
        for _ in range(6000):
            row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?", [pid]).fetchone()
            if row and row[0] == "Lock":
                return
            threading.Event().wait(0.01)
        raise AssertionError(f"backend {pid} never waited for a lock")
    finally:
        watcher.close()


def test_an_item_added_is_found_while_pending_and_after_it_is_indexed(pg_url):
    db = open_db(pg_url)
    try:
        grinder = _add(db, "g1", "The grinders arrived broken", title="Refund please")
        beans = _add(db, "g2", "Lovely beans")
        assert pending_count(db) == 2 and _documented(db) == set()
        assert _found(db, "grinder") == {grinder}  # stemmed, read from the pending item's text
        assert _found(db, "refund OR bean") == {grinder, beans}
        assert index_pending(db) == 2
        assert pending_count(db) == 0 and _documented(db) == {grinder, beans}
        assert _found(db, "grinder") == {grinder} and _found(db, "refund OR bean") == {grinder, beans}
        assert index_pending(db) == 0
    finally:
        db.conn.close()


def test_edits_and_deletes_keep_the_documents_right(pg_url):
    db = open_db(pg_url)
    try:
        edited_pending = _add(db, "e1", "old words")
        edited_indexed = _add(db, "e2", "former text")
        deleted = _add(db, "e3", "gone soon")
        assert index_pending(db, limit=None) == 3
        db.execute("UPDATE items SET text = 'fresh espresso' WHERE id = ?", [edited_indexed])  # has a document
        late = _add(db, "e4", "first draft")
        db.execute("UPDATE items SET text = 'final version' WHERE id = ?", [late])  # still pending
        assert _found(db, "espresso") == {edited_indexed} and _found(db, "former") == set()
        assert _found(db, "final") == {late} and _found(db, "draft") == set()
        db.execute("DELETE FROM items WHERE id IN (?, ?)", [deleted, late])
        assert pending_count(db) == 0 and deleted not in _documented(db)
        assert _found(db, "gone OR final") == set()
        assert _found(db, "old") == {edited_pending}
    finally:
        db.conn.close()


def test_an_edit_made_while_its_document_is_computed_is_indexed_again(pg_url):
    """The indexer has taken the item (its statement done, not committed) when a writer changes the text:
    the writer waits for it, then lists the item again, and the next call indexes the new text."""
    indexer, writer = open_db(pg_url), open_db(pg_url)
    try:
        item = _add(writer, "r1", "stale croissant")
        indexer.execute("BEGIN")
        assert index_pending(indexer) == 1  # the document of "stale croissant", not yet committed
        edit = threading.Thread(target=writer.execute, args=("UPDATE items SET text = 'warm brioche' WHERE id = ?",
                                                             [item]))
        writer_pid = writer.execute("SELECT pg_backend_pid()").fetchone()[0]
        edit.start()
        _until_waiting_for_a_lock(pg_url, writer_pid)  # the edit is blocked on the indexer's pending row
        indexer.execute("COMMIT")
        edit.join(timeout=60)
        assert not edit.is_alive()
        assert pending_count(writer) == 1  # listed again by the edit
        assert index_pending(writer) == 1
        assert _found(writer, "brioche") == {item} and _found(writer, "croissant") == set()
    finally:
        indexer.conn.close()
        writer.conn.close()


def test_an_item_being_edited_is_left_for_later_not_waited_for(pg_url):
    indexer, writer = open_db(pg_url), open_db(pg_url)
    try:
        item = _add(writer, "s1", "first text")
        other = _add(writer, "s2", "espresso text")
        writer.execute("BEGIN")
        writer.execute("UPDATE items SET text = 'second text' WHERE id = ?", [item])
        assert index_pending(indexer) == 1  # `other` only: `item`'s pending row is the writer's until it commits
        writer.execute("COMMIT")
        assert index_pending(indexer) == 1
        assert _found(indexer, "second") == {item} and _found(indexer, "first") == set()
        assert _found(indexer, "espresso") == {other} and pending_count(indexer) == 0
    finally:
        indexer.conn.close()
        writer.conn.close()


def test_a_pull_into_postgresql_leaves_nothing_pending(cli, write_config, server, pg_url):
    items = [{"title": f"Broken grinder {n}", "link": f"https://example.com/{n}", "guid": f"p{n}",
              "description": "refund please"} for n in range(120)]
    url = server.add("/feed.xml", rss(items))
    write_config({"database": pg_url, "sources": [{"name": "blog", "type": "feed", "url": url}]})
    result = cli("pull")
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    db = open_db(pg_url)
    try:
        assert pending_count(db) == 0 and len(_documented(db)) == 120
    finally:
        db.conn.close()
    found = cli("items", "--all", "--search", "grinders", "--format", "json")
    assert found.exit_code == 0 and found.stdout.count('"guid"') == 120


def test_an_indexer_that_cannot_connect_says_so_in_one_line_and_loses_nothing(pg_url):
    db = open_db(pg_url)
    try:
        item = _add(db, "u1", "unreachable indexer")
        db.url = pg_url.rsplit(":", 1)[0] + ":1/" + pg_url.rsplit("/", 1)[1]  # a port nothing listens on
        with indexing_beside(db) as problems:
            pass
        assert len(problems) == 1 and "\n" not in problems[0]
        assert problems[0].startswith("search index: ") and "next pull indexes them" in problems[0]
        assert "cannot be reached" in problems[0]
        assert pending_count(db) == 1 and _found(db, "unreachable") == {item}
    finally:
        db.conn.close()


def test_the_indexer_indexes_beside_the_block_and_finishes_when_it_ends(pg_url):
    db = open_db(pg_url)
    try:
        ids = [_add(db, f"b{n}", f"espresso number {n}") for n in range(450)]
        with indexing_beside(db) as problems:
            pass
        assert problems == [] and pending_count(db) == 0 and _documented(db) == set(ids)
    finally:
        db.conn.close()


def test_a_database_from_schema_9_keeps_its_documents_and_lists_new_items(pg_url):
    """Built as socialscale made it before: the insert trigger computed the document itself."""
    raw = connect(pg_url)
    raw.pg.raw.execute("DROP SCHEMA public CASCADE")
    raw.pg.raw.execute("CREATE SCHEMA public")
    raw.pg.raw.execute(f"CREATE TABLE {VERSION_TABLE} (version integer NOT NULL)")
    for number, step in enumerate(MIGRATIONS[:9], start=1):
        apply_step(raw, number, step)
    try:
        raw.pg.raw.execute("DROP TABLE items_search_pending")
        raw.pg.raw.execute(
            "CREATE OR REPLACE FUNCTION items_search_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO items_search (id, document) SELECT id, to_tsvector('english', regexp_replace("
            "coalesce(title, '') || ' ' || coalesce(text, ''), '[[:punct:]]', ' ', 'g')) FROM added; "
            "RETURN NULL; END $$")
        old = _add(raw, "v1", "kept document")
        assert _documented(raw) == {old}
        raw.pg.raw.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (9)")
    finally:
        raw.conn.close()
    db = open_db(pg_url)  # migration 10
    try:
        assert _documented(db) == {old} and pending_count(db) == 0
        new = _add(db, "v2", "listed document")
        assert pending_count(db) == 1 and _found(db, "document") == {old, new}
    finally:
        db.conn.close()


@pytest.mark.parametrize("limit", [1, None])
def test_index_pending_takes_at_most_its_limit(pg_url, limit):
    db = open_db(pg_url)
    try:
        for n in range(3):
            _add(db, f"l{n}", "limit words")
        assert index_pending(db, limit=limit) == (1 if limit == 1 else 3)
        assert pending_count(db) == (2 if limit == 1 else 0)
    finally:
        db.conn.close()


def test_a_first_pull_into_a_new_database_gives_the_planner_statistics(cli, write_config, server, pg_url):
    """Without them PostgreSQL read the whole table for each source's duplicate and reply lookups
    (store.db.lacks_planner_statistics); the pull runs ANALYZE once it has stored 500 new items."""
    from socialscale.store.db import lacks_planner_statistics

    items = [{"title": f"Post {n}", "link": f"https://example.com/s/{n}", "guid": f"s{n}", "description": "hello"}
             for n in range(520)]
    write_config({"database": pg_url, "sources": [{"name": "blog", "type": "feed", "url": server.add("/s.xml", rss(items))}]})
    db = open_db(pg_url)
    try:
        assert lacks_planner_statistics(db)
        assert cli("pull").exit_code == 0
        assert not lacks_planner_statistics(db)
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 520
    finally:
        db.conn.close()
