"""`socialscale db copy`: every row of one database into an empty one, SQLite or PostgreSQL either way.

The source is read in one snapshot (a read transaction), the target written in one transaction, and the
row counts of every table compared at the end: a copy either arrives whole and verified or not at all.
Tables are found in the source rather than listed here, so a table a later migration adds is copied too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from socialscale.errors import DatabaseError, UsageError
from socialscale.store import figures
from socialscale.store.database import Database
from socialscale.store.db import db_path, transaction
from socialscale.store.dialect import PG_SEARCH_PENDING, PG_SEARCH_TABLE, dialect_of
from socialscale.store.postgres import PgDatabase
from socialscale.store.schema import VERSION_TABLE, schema_version
from socialscale.store.search import index_pending

BATCH = 5_000
FIRST = ("sources", "items")  # referenced by the others (events.item_id, items.duplicate_of)


@dataclass
class CopyResult:
    source: str
    target: str
    schema_version: int
    tables: dict[str, int] = field(default_factory=dict)  # rows copied (and found in the target) per table


def tables(db: Database) -> list[str]:
    """The database's own tables, parents first (no views, no full-text index, no bookkeeping)."""
    if dialect_of(db).postgres:
        rows = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                          "AND table_type = 'BASE TABLE'").fetchall()
        # The search documents: made by the target's own triggers and index_pending.
        names = {r[0] for r in rows} - {VERSION_TABLE, PG_SEARCH_TABLE, PG_SEARCH_PENDING}
    else:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                          "AND name NOT LIKE 'items_fts%'").fetchall()
        names = {r[0] for r in rows}
    # The conversation figures: the target's triggers list every conversation copied, and the copy computes them.
    names -= {figures.TABLE, figures.STALE}
    return [n for n in FIRST if n in names] + sorted(names - set(FIRST))


def columns(db: Database, table: str) -> list[str]:
    if dialect_of(db).postgres:
        rows = db.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                          "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
        return [r[0] for r in rows]
    return [r[1] for r in db.execute(f'PRAGMA table_info("{table}")').fetchall()]


def count(db: Database, table: str) -> int:
    return int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


@contextmanager
def _snapshot(db: Database) -> Iterator[None]:
    """Every read inside sees the database as of its start, while others keep writing."""
    statement = ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if dialect_of(db).postgres else "BEGIN")
    db.conn.execute(statement)
    try:
        yield
    finally:
        db.conn.execute("ROLLBACK")


def _stream(db: Database, sql: str) -> Any:
    """A cursor over a whole table that holds a batch at a time (PostgreSQL: a server-side cursor)."""
    if isinstance(db, PgDatabase):
        cursor = db.pg.raw.cursor(name="socialscale_copy")
        cursor.itersize = BATCH
        cursor.execute(sql)
        return cursor
    return db.execute(sql)


@contextmanager
def _writer(db: Database, table: str, quoted: str, insert: str) -> Iterator[Any]:
    """A function that writes batches of rows into `table`: PostgreSQL's COPY (a million items in seconds
    rather than minutes of one statement per row, and each value read by its column's type as an INSERT
    reads it), executemany on SQLite."""
    if not isinstance(db, PgDatabase):
        yield lambda rows: db.conn.executemany(insert, rows)
        return
    with db.pg.raw.cursor() as cur, cur.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        def write(rows: list[Any]) -> None:
            for row in rows:
                copy.write_row(row)

        yield write


def _copy_table(source: Database, target: Database, table: str) -> None:
    """Every row of one table, in batches, ids kept."""
    cols = [c for c in columns(source, table) if c in set(columns(target, table))]
    quoted = ", ".join(f'"{c}"' for c in cols)
    if table == "lanes":
        target.execute('DELETE FROM "lanes"')
    insert = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(cols))})'
    order = " ORDER BY id" if "id" in cols else ""
    cursor = _stream(source, f'SELECT {quoted} FROM "{table}"{order}')
    with _writer(target, table, quoted, insert) as write:
        while True:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                break
            write(rows)
    cursor.close()
    if dialect_of(target).postgres and "id" in cols:
        # Rows came with their ids: move the identity past them, so the next new row gets a fresh one.
        target.execute(f"SELECT setval(pg_get_serial_sequence(?, 'id'), "
                       f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)', [table])


def copy_database(source: Database, target: Database) -> CopyResult:
    """Copy every row of `source` into `target`, which must be empty and at the same schema version."""
    version = schema_version(source)
    if schema_version(target) != version:
        raise DatabaseError(f"{db_path(target)}: schema version {schema_version(target)} differs from the source's "
                            f"{version}; run the same socialscale on both")
    result = CopyResult(source=db_path(source) or "database", target=db_path(target) or "database",
                        schema_version=version)
    names = tables(source)
    missing = [n for n in names if n not in set(tables(target))]
    if missing:
        raise DatabaseError(f"{result.target}: has no table {', '.join(missing)}; nothing was copied")
    busy = [n for n in names if n not in ("lanes",) and count(target, n)]  # lanes: the config's copy, rewritten
    if busy:
        raise UsageError(f"{result.target}: not empty (rows in {', '.join(busy)}); copy into a new, empty database "
                         "(nothing was copied)")
    target_dialect = dialect_of(target)
    with _snapshot(source), transaction(target):
        for table in names:
            _copy_table(source, target, table)
        figures.refresh(target)
        if target_dialect.postgres:
            index_pending(target, limit=None)  # the items just copied are searchable from their documents
        for table in names:
            expected = count(source, table)
            found = count(target, table)
            if found != expected:
                raise DatabaseError(f"{result.target}: {table} has {found} rows after the copy, the source "
                                    f"{expected}; nothing was kept")
            result.tables[table] = found
    if target_dialect.postgres:
        # Statistics for the planner and the visibility map for index-only reads: the reports read a
        # million fresh rows slowly (seconds) until autovacuum comes by, a minute or so later.
        target.execute("VACUUM ANALYZE")
    return result
