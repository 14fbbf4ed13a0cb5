"""Many rows in one go: `insert_rows` and `update_rows`, the same meaning on both backends.

SQLite gets one multi-row `INSERT ... VALUES (...), (...)` per batch of rows, and for updates
`UPDATE ... FROM (VALUES ...)` built the same way (`executemany` before SQLite 3.33). One statement
rather than one per row matters for the items table: its full-text index is
kept by a trigger, and with a statement per row FTS5 wrote its pending index out per row, a tiny
segment per item (and the merging of them): twice the CPU of the whole insert (benchmarks/README.md,
"First pull, second round").
PostgreSQL gets one statement per batch, its rows passed as one array parameter per column and
turned back into rows with `unnest`: psycopg's `executemany` sends one statement per row, and for
the pull (three writes of every new item) that cost the client about 50 µs a row and the server a
statement each (benchmarks/README.md, "Pull into PostgreSQL").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of

BATCH = 20_000  # rows per statement on PostgreSQL (each column is one array parameter)
SQLITE_PARAMETERS = 30_000  # values per statement on SQLite (its limit is 32,766 since 3.32; older ones: 999)


def insert_rows(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """INSERT every row (values in `columns` order); ids, where the table makes them, follow the rows' order."""
    names = ", ".join(columns)
    if not dialect_of(db).postgres:
        _values_sqlite(db, len(columns), rows, lambda values: f"INSERT INTO {table} ({names}) VALUES {values}")
        return
    arrays = _arrays(db, table, columns)
    # WITH ORDINALITY ... ORDER BY: identity values are drawn in the rows' order, as executemany draws them.
    sql = (f"INSERT INTO {table} ({names}) SELECT {names} FROM unnest({arrays}) WITH ORDINALITY "
           f"AS v({names}, n_) ORDER BY n_")
    for batch in _batches(rows):
        _execute(db, sql, batch)


def new_ids(db: Database, table: str, count: int) -> list[int]:
    """`count` ids for new rows of `table` (an integer primary key `id`), in increasing order, to insert with
    the rows: a row may then carry its own id in another column (a new item is its own conversation) and
    nobody reads the ids back. Call inside the transaction that inserts them: on SQLite the next ids after
    the largest (what SQLite itself would give; the write lock keeps them ours), on PostgreSQL drawn from
    the column's sequence."""
    if count <= 0:
        return []
    if not dialect_of(db).postgres:
        last = int(db.conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
        return list(range(last + 1, last + 1 + count))
    return sorted(int(r[0]) for r in db.execute("SELECT nextval(pg_get_serial_sequence(?, 'id')) "
                                                "FROM generate_series(1, ?)", [table, count]).fetchall())


def update_rows(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                key: str = "id", guard: Sequence[str] = ()) -> int:
    """UPDATE `table` SET each of `columns` WHERE `key` matches; each row is (*values, key value), or with
    `guard`, (*values, *guard values, key value): then a row is written only where each `guard` column
    still holds its value (NULL matching NULL). Returns how many rows were written.

    A key given twice ends with its last row's values, as when the rows are applied one by one.
    """
    if not dialect_of(db).postgres and sqlite3.sqlite_version_info < (3, 33):  # no UPDATE ... FROM
        sets = ", ".join(f"{c} = ?" for c in columns)
        checks = "".join(f"{c} IS ? AND " for c in guard)  # the key last, as in the rows: still a rowid lookup
        return int(db.conn.executemany(f"UPDATE {table} SET {sets} WHERE {checks}{key} = ?", rows).rowcount)
    last = {row[-1]: row for row in rows}  # one row per key (an UPDATE ... FROM would apply just one of them)
    if not dialect_of(db).postgres:
        return _update_sqlite_values(db, table, columns, guard, key, last.values())
    aliases = [*columns, *(f"g_{c}" for c in guard), key]
    arrays = _arrays(db, table, [*columns, *guard, key])
    checks = "".join(f" AND {table}.{c} IS NOT DISTINCT FROM v.g_{c}" for c in guard)
    # The keys' range too: without it the planner joins the batch against the whole table, a scan of every
    # row per batch (a re-tag's batches are ranges of ids; benchmarks/README.md, "tag --all with stored
    # sentiment"). With it, an index range scan of the primary key.
    sql = (f"UPDATE {table} SET {', '.join(f'{c} = v.{c}' for c in columns)} FROM unnest({arrays}) "
           f"AS v({', '.join(aliases)}) WHERE {table}.{key} = v.{key} AND {table}.{key} BETWEEN %s AND %s{checks}")
    written = 0
    for batch in _batches(last.values()):
        keys = [row[-1] for row in batch if row[-1] is not None]
        if keys:
            written += _execute(db, sql, batch, (min(keys), max(keys))).rowcount
    return written


def _update_sqlite_values(db: Database, table: str, columns: Sequence[str], guard: Sequence[str], key: str,
                          rows: Iterable[Sequence[Any]]) -> int:
    """SQLite: `UPDATE ... FROM (VALUES (...), ...)`, a thousand rows or so a statement rather than one. A
    statement runs with the GIL released throughout, where `executemany` takes it back after every row: a
    writer thread beside Python work (`tag --all`, the pull's writer beside its event loop) waited for it at
    each row. Keys must be distinct (a key given twice is updated from one of its rows)."""
    width = len(columns) + len(guard) + 1
    sets = ", ".join(f"{c} = v.column{n}" for n, c in enumerate(columns, start=1))
    checks = "".join(f" AND {table}.{c} IS v.column{n}" for n, c in enumerate(guard, start=len(columns) + 1))
    return _values_sqlite(db, width, rows, lambda values: f"UPDATE {table} SET {sets} FROM (VALUES {values}) AS v "
                                                         f"WHERE {table}.{key} = v.column{width}{checks}")


def _values_sqlite(db: Database, width: int, rows: Iterable[Sequence[Any]], statement: Callable[[str], str]) -> int:
    """SQLite: the rows as multi-row `VALUES (...), (...)` lists of as many rows as the parameter limit allows,
    each run in `statement(values)`, in order; returns the rows the statements changed."""
    one = f"({', '.join('?' * width)})"
    limit = db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(db.conn, "getlimit") else 999
    per = max(1, min(SQLITE_PARAMETERS, limit) // width)
    changed = 0
    batch: list[Any] = []
    count = 0
    for row in rows:
        batch += row
        count += 1
        if count == per:
            changed += db.conn.execute(statement(", ".join([one] * count)), batch).rowcount
            batch, count = [], 0
    if count:
        changed += db.conn.execute(statement(", ".join([one] * count)), batch).rowcount
    return changed


def _batches(rows: Iterable[Sequence[Any]]) -> Iterable[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _execute(db: Database, sql: str, rows: list[Sequence[Any]], extra: Sequence[Any] = ()) -> Any:
    """One statement, a column of the rows in each parameter (then `extra`); in psycopg's binary format (its
    text format escapes every element of an array in Python: 60% of the client's time in a pull)."""
    return db.pg.raw.execute(sql, [*(list(column) for column in zip(*rows, strict=True)),  # type: ignore[attr-defined]
                                   *extra])


def _arrays(db: Database, table: str, columns: Sequence[str]) -> str:
    """`%b::type[], ...`: one typed array parameter per column (a list of None alone has no type)."""
    types = db.column_types(table)  # type: ignore[attr-defined]
    if not set(columns) <= types.keys():  # a migration added columns since they were read
        types = db.column_types(table, fresh=True)  # type: ignore[attr-defined]
    return ", ".join(f"CAST(%b AS {types[c]}[])" for c in columns)
