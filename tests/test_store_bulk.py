"""Bulk writes (store.bulk) and the search documents, the same on both backends.

On PostgreSQL the writes of many rows are one `unnest` statement each and the search documents live
in `items_search`, kept by triggers; these tests pin what must not change with that: ids drawn in
the rows' order, the last row of a key winning, search following an item's title and text (and
nothing else), and an older database getting its documents on upgrade.
"""

from __future__ import annotations

from socialscale.models import Item
from socialscale.store import postgres
from socialscale.store.bulk import insert_rows, update_rows
from socialscale.store.db import open_db, transaction
from socialscale.store.items import EVENT_COLUMNS, ItemFilter, query_items, upsert_items
from socialscale.store.schema import MIGRATIONS, schema_version

NOW = "2026-11-24T09:00:00Z"


def _guids(db, words: str) -> set[str]:
    return {row["guid"] for row in query_items(db, ItemFilter(search=words))}


def test_bulk_rows_keep_their_order_and_the_last_row_of_a_key_wins(database):
    db = open_db(database)
    with transaction(db):
        stored = upsert_items(db, "s", [Item("s", f"g{n}", title=f"title {n}") for n in range(3)], NOW)
        a, b, c = stored.new_ids
        insert_rows(db, "events", EVENT_COLUMNS, [(c, NOW, "noted", None, "third item first"),
                                                   (a, NOW, "noted", "ann", None),
                                                   (b, NOW, "noted", None, None)])
        # A key twice: the later row is what stays, as when rows are applied one by one; a column of
        # None only (owner) still has its type.
        update_rows(db, "items", ("lane", "owner"), [("sales", None, a), ("support", None, b), ("press", None, a)])
    events = db.execute("SELECT item_id, actor, detail FROM events WHERE kind = 'noted' ORDER BY id").fetchall()
    assert [tuple(e) for e in events] == [(c, None, "third item first"), (a, "ann", None), (b, None, None)]
    lanes = dict(db.execute("SELECT id, lane FROM items").fetchall())
    assert lanes == {a: "press", b: "support", c: None}
    created = [r[0] for r in db.execute("SELECT item_id FROM events WHERE kind = 'created' ORDER BY id").fetchall()]
    assert created == [a, b, c] and a < b < c
    db.conn.close()


def test_rows_split_over_several_statements_keep_their_order_and_are_all_searchable(database, monkeypatch):
    # SQLite inserts many rows per statement, as many as fit its parameter limit: with room for two
    # rows a statement, seven items take four statements, and every one is stored, in order, indexed.
    monkeypatch.setattr("socialscale.store.bulk.SQLITE_PARAMETERS", 2 * 16)
    db = open_db(database)
    with transaction(db):
        stored = upsert_items(db, "s", [Item("s", f"g{n}", title=f"parcel{n} broken", text=f"word{n}")
                                        for n in range(7)], NOW)
    assert stored.new_ids == sorted(stored.new_ids) and len(set(stored.new_ids)) == 7
    guids = [r[0] for r in db.execute("SELECT guid FROM items ORDER BY id").fetchall()]
    assert guids == [f"g{n}" for n in range(7)]
    assert _guids(db, "broken") == set(guids)
    assert _guids(db, "word6") == {"g6"} and _guids(db, "parcel3") == {"g3"}
    created = [r[0] for r in db.execute("SELECT item_id FROM events WHERE kind = 'created' ORDER BY id").fetchall()]
    assert created == stored.new_ids
    db.conn.close()


def test_search_follows_a_changed_title_and_text_and_survives_other_updates(database):
    db = open_db(database)
    with transaction(db):
        one, two = upsert_items(db, "s", [Item("s", "one", title="Refund please", text="the parcel is broken"),
                                          Item("s", "two", title="Hello", text="nothing to see")], NOW).new_ids
    assert _guids(db, "broken") == {"one"}
    with transaction(db):  # tagging and threading update other columns: the documents stay
        update_rows(db, "items", ("lane", "conversation_id"), [("support", one, one), ("support", two, two)])
    assert _guids(db, "refund broken") == {"one"}
    with transaction(db):  # the same guid with new text: the old words go, the new ones are found
        upsert_items(db, "s", [Item("s", "one", title="Refund please", text="it arrived after all")], NOW)
    assert _guids(db, "broken") == set()
    assert _guids(db, "arrived") == {"one"}
    assert _guids(db, "refund") == {"one"}
    db.conn.close()


def test_an_older_postgres_database_gets_its_search_documents_on_upgrade(pg_server, monkeypatch):
    from pgserver import PASSWORD

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    url = pg_server.empty_database()
    with monkeypatch.context() as m:  # a database written by the version before m003
        m.setattr(postgres, "MIGRATIONS", MIGRATIONS[:2])
        old = open_db(url)
        assert schema_version(old) == 2
        with transaction(old):
            upsert_items(old, "s", [Item("s", "kept", title="Invoice INV-7", text="overdue")], NOW)
        old.conn.close()
    db = open_db(url)
    assert schema_version(db) == len(MIGRATIONS)
    assert _guids(db, "inv-7 overdue") == {"kept"}
    indexes = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'items'").fetchall()}
    assert "items_fts" not in indexes  # the GIN index on items itself is gone
    db.conn.close()


def test_the_oldest_waiting_items_are_read_page_by_page_in_order_across_ties(database, monkeypatch):
    from socialscale.store import reports as report_store

    db = open_db(database)
    days = {n: f"2024-01-0{1 + n % 3}T00:00:00Z" for n in range(25)}  # three start times: ties across pages
    with transaction(db):
        ids = upsert_items(db, "s", [Item("s", f"g{n}", title=f"t{n}", published_at=days[n]) for n in range(25)],
                           NOW).new_ids
        update_rows(db, "items", ("lane", "owner"), [("support", "ann" if n == 24 else None, i)
                                                     for n, i in enumerate(ids)])
    start = dict(zip(ids, days.values(), strict=True))
    monkeypatch.setattr(report_store, "OLDEST_PAGE", 2)  # pages of 2, 20, 200
    read = list(report_store._oldest_pages(db, "i.owner", f"{report_store.WAITING_SQL} AND i.lane = ?", ["support"]))
    assert [item_id for item_id, _ in read] == sorted(ids, key=lambda i: (start[i], i))
    # The backlog's oldest items of a group that only shows up on a later page are still found.
    oldest = report_store.backlog_oldest(db, by="owner", present={"support": {"ann": 1, None: 24}},
                                         filters=report_store.Filters(), per_group=3)
    assert [(row["group"], row["id"]) for row in oldest if row["group"] == "ann"] == [("ann", ids[24])]
    db.conn.close()


def test_bulk_writing_keeps_statement_journals_in_memory_and_restores_the_connection(tmp_path):
    """A pull (and `tag --all`) writes with statement journals in memory and a larger WAL between
    checkpoints; the connection is given back as it was, also when the work fails."""
    from socialscale.store.db import bulk_writing

    db = open_db(tmp_path / "bulk.db")

    def pragmas() -> tuple[int, int, int]:
        return (db.execute("PRAGMA temp_store").fetchone()[0], db.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                db.execute("PRAGMA threads").fetchone()[0])

    assert pragmas() == (0, 1000, 0)
    with bulk_writing(db):
        assert pragmas() == (2, 8000, 2)
        with transaction(db):
            stored = upsert_items(db, "s", [Item("s", f"g{n}", title=f"title {n}") for n in range(300)], NOW)
            update_rows(db, "items", ("lane",), [("sales", i) for i in stored.new_ids])
    assert pragmas() == (0, 1000, 0)
    assert db.execute("SELECT COUNT(*) FROM items WHERE lane = 'sales'").fetchone()[0] == 300
    try:
        with bulk_writing(db):
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    assert pragmas() == (0, 1000, 0)
    db.conn.close()


def test_bulk_writing_changes_nothing_on_postgresql(pg_url):
    from socialscale.store.db import bulk_writing

    db = open_db(pg_url)
    with bulk_writing(db), transaction(db):
        stored = upsert_items(db, "s", [Item("s", "g1", title="one")], NOW)
    assert stored.new_ids
    db.conn.close()
