"""A shared PostgreSQL database behind the same surface as the SQLite one (psycopg 3).

`PgDatabase` is the store's `Database` (store/database.py) over psycopg: `execute()` and `conn` (with
`execute`, `executemany`, `executescript`, `in_transaction`, `close`), and carries the dialect: every
store function takes either backend and asks `dialect_of(db)` for the fragments that differ. psycopg
is imported only when a `postgresql://` URL is opened, so SQLite users never load it.

The password never travels in the URL: libpq reads PGPASSWORD or ~/.pgpass. Every message about a
connection names the server by `safe_url()`, which drops any password that got there anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from socialscale.dburl import has_password, safe_url
from socialscale.errors import DatabaseError, DatabaseUnavailable, UsageError
from socialscale.store.database import Database
from socialscale.store.dialect import LOCK_MIGRATE, LOCK_WRITE, POSTGRES
from socialscale.store.schema import MIGRATIONS, VERSION_TABLE, apply_step, schema_version

CONNECT_TIMEOUT_S = 10


class PgConnection:
    """The subset of sqlite3.Connection the store uses, over a psycopg connection in autocommit mode.

    Transactions are explicit (`BEGIN` ... `COMMIT` in store.db.transaction), as with SQLite's
    isolation_level=None: a statement outside one commits on its own.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cur = self.raw.cursor()
        cur.execute(POSTGRES.sql(sql), tuple(params) if params is not None else ())
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cur = self.raw.cursor()
        batch = [tuple(r) for r in rows]
        if batch:
            cur.executemany(POSTGRES.sql(sql), batch)
        return cur

    def executescript(self, script: str) -> None:
        """Several statements, no parameters: the migrations' DDL, its SQLite types made PostgreSQL's."""
        self.raw.execute(POSTGRES.ddl(script))

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def close(self) -> None:
        self.raw.close()


class PgDatabase(Database):
    """A PostgreSQL database presented as the store's `db`: `execute()` and `conn` as for SQLite."""

    def __init__(self, raw: Any, url: str) -> None:  # no super().__init__(): there is no SQLite file
        self.pg = PgConnection(raw)
        self.conn = self.pg  # type: ignore[assignment]
        self.url = url
        self.dialect = POSTGRES
        self._types: dict[str, dict[str, str]] = {}

    def column_types(self, table: str, fresh: bool = False) -> dict[str, str]:
        """{column: its SQL type} of one table, read once (store.bulk casts its array parameters with them)."""
        if fresh or table not in self._types:
            rows = self.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                                "WHERE attrelid = CAST(? AS regclass) AND attnum > 0 AND NOT attisdropped", [table])
            self._types[table] = dict(rows.fetchall())
        return self._types[table]

    def execute(self, sql: str, parameters: Any = None) -> Any:  # type: ignore[override]
        return self.pg.execute(sql, parameters)

    def close(self) -> None:
        self.pg.close()

    def __repr__(self) -> str:
        return f"<PgDatabase {safe_url(self.url)}>"


def connect(url: str) -> PgDatabase:
    """Connect to the server named by `url`, or raise DatabaseError with one line that says why."""
    if has_password(url):
        raise UsageError(f"{safe_url(url)}: a password in the database URL is refused; "
                         "put it in PGPASSWORD or ~/.pgpass")
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise DatabaseError("PostgreSQL needs psycopg: pip install 'psycopg[binary]'") from None
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                              application_name=_application_name())
    except psycopg.Error as exc:
        raise DatabaseUnavailable(describe(exc, url, "cannot connect")) from None
    return PgDatabase(raw, url)


def _application_name() -> str:
    """How this process shows in pg_stat_activity (and in "another pull is running" messages)."""
    import os
    import socket

    return f"socialscale {socket.gethostname()} pid {os.getpid()}"[:63]


def describe(exc: BaseException, url: str | None, doing: str = "cannot use this database") -> str:
    """One line for a PostgreSQL failure: the server (without password), what failed, what to do."""
    where = safe_url(url) if url else "database"
    text = " ".join(str(exc).split()) or type(exc).__name__
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = "wrong or missing credentials (set PGPASSWORD or ~/.pgpass for this user)"
    elif "does not exist" in lowered and "database" in lowered:
        hint = "no such database on the server (create it: createdb NAME)"
    elif "role" in lowered and "does not exist" in lowered:
        hint = "no such user on the server"
    elif any(words in lowered for words in ("connection refused", "could not translate host name", "timeout",
                                             "timed out", "no route", "could not connect", "resolve host")):
        hint = "the server cannot be reached (is it running, and is the host and port right?)"
    elif "permission denied" in lowered:
        hint = "this user may not do that (GRANT the rights, see docs/team.md)"
    else:
        hint = ""
    # libpq's own words, kept short: its last clause, without the address it repeats or its advice.
    first = text.split("FATAL:")[-1] if "FATAL" in text else text.split(" failed: ")[-1]
    first = first.split(" Is the server running")[0].strip()
    return f"{where}: {doing}: {hint} ({first})" if hint else f"{where}: {doing} ({first})"


def open_pg(url: str) -> PgDatabase:
    """Connect, and create or migrate the schema (under an advisory lock: two first runs do not race)."""
    import psycopg

    db = connect(url)
    try:
        migrate_pg(db)
    except psycopg.Error as exc:
        db.close()
        raise DatabaseError(describe(exc, url, "cannot prepare the database")) from None
    except BaseException:
        db.close()
        raise
    return db


def migrate_pg(db: PgDatabase) -> None:
    """Apply the migrations this database has not seen, each in its own transaction (PostgreSQL's DDL is
    transactional: a step cut short leaves nothing behind)."""
    if schema_version(db) == len(MIGRATIONS):
        return
    raw = db.pg.raw
    raw.execute("SELECT pg_advisory_lock(%s)", (LOCK_MIGRATE,))
    try:
        raw.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version integer NOT NULL)")
        current = schema_version(db)
        if current > len(MIGRATIONS):
            raise DatabaseError(
                f"{safe_url(db.url)}: schema version {current} was written by a newer socialscale "
                f"(this one knows up to {len(MIGRATIONS)}); upgrade socialscale, the database was not changed")
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            with raw.transaction():
                apply_step(db, number, step)
                raw.execute(f"DELETE FROM {VERSION_TABLE}")
                raw.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)", (number,))
    finally:
        raw.execute("SELECT pg_advisory_unlock(%s)", (LOCK_MIGRATE,))


SAVE_FAILED = "could not save, nothing of this step was written"


@contextmanager
def pg_transaction(db: PgDatabase) -> Iterator[PgDatabase]:
    """One write transaction. Every writer first takes the same transaction-scoped advisory lock, so
    writers take turns exactly as under SQLite's BEGIN IMMEDIATE: a workflow command's read-then-write
    (is it answered yet?) cannot interleave with another's. Readers never wait."""
    import psycopg

    conn = db.pg
    if conn.in_transaction:
        from socialscale.store.savepoint import savepoint

        with savepoint(conn, psycopg.Error, lambda exc: describe(exc, db.url, SAVE_FAILED)):
            yield db
        return
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", [LOCK_WRITE])
    except psycopg.Error as exc:
        _rollback(conn)
        raise DatabaseError(describe(exc, db.url, "could not start writing")) from None
    try:
        yield db
    except psycopg.Error as exc:
        _rollback(conn)
        raise DatabaseError(describe(exc, db.url, SAVE_FAILED)) from None
    except BaseException:
        _rollback(conn)
        raise
    try:
        conn.execute("COMMIT")
    except psycopg.Error as exc:
        _rollback(conn)
        raise DatabaseError(describe(exc, db.url, SAVE_FAILED)) from None


def _rollback(conn: PgConnection) -> None:
    import psycopg

    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except psycopg.Error:
        pass  # the connection is gone: the server rolls the transaction back itself
