"""Opening the database: permissions, WAL, busy timeout, migrations, and one-transaction writes.

`open_db` takes an SQLite file path or a `postgresql://` URL (store/postgres.py); `dialect_of(db)` says
which SQL a database speaks, and `transaction(db)` gives both the same meaning: writers take turns.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from socialscale.dburl import is_url, safe_url
from socialscale.errors import DatabaseError, DatabaseUnavailable
from socialscale.store import reindex
from socialscale.store.database import Database
from socialscale.store.dialect import Dialect
from socialscale.store.dialect import dialect_of as _dialect_of
from socialscale.store.postgres import SAVE_FAILED, PgDatabase
from socialscale.store.savepoint import savepoint
from socialscale.store.schema import MIGRATIONS, migrate, schema_version

BUSY_TIMEOUT_MS = 30_000
_DAMAGED = ("malformed", "not a database", "file is encrypted", "disk i/o error", "corrupt")


def dialect_of(db: Database) -> Dialect:
    """The SQL dialect of an open database."""
    return _dialect_of(db)


def open_db(path: Path | str, *, create: bool = True) -> Database:
    """Open (and create or migrate) the database at `path` (a file, or a `postgresql://` URL), or raise
    DatabaseError naming it."""
    if is_url(path):
        from socialscale.store.postgres import open_pg

        pg = open_pg(str(path))
        try:
            _repair(pg)
        except BaseException:
            pg.close()
            raise
        return pg
    path = Path(path)
    _check_place(path, create)
    read_only = path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
    conn: sqlite3.Connection | None = None
    try:
        if not path.exists():
            # Owner-only from the first byte: the database holds what the team said and to whom.
            # SQLite gives the -wal and -shm files the same mode as the database file.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = _connect_read_only(path) if read_only else _connect(str(path), uri=False)
        db = Database(conn)
        if schema_version(db) > len(MIGRATIONS) or read_only:
            migrate(db, str(path))  # refuses, before a single byte (even the journal mode) is changed
        if not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            migrate(db, str(path))
            _repair(db)
    except sqlite3.DatabaseError as exc:
        _close(conn)
        text = str(exc).lower()
        if "not a database" in text or "file is encrypted" in text:  # a junk file, not a damaged database
            raise DatabaseUnavailable(describe(exc, path)) from exc
        raise DatabaseError(describe(exc, path)) from exc
    except OSError as exc:
        _close(conn)
        raise DatabaseError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    except BaseException:
        _close(conn)
        raise
    return db


def _repair(db: Database) -> None:
    """Rebuild the report indexes a `tag` dropped and did not live to rebuild (store/reindex.py)."""
    if reindex.orphaned(db):
        with transaction(db):
            reindex.rebuild(db)  # nothing when another process rebuilt them meanwhile


def _check_place(path: Path, create: bool) -> None:
    """Refuse, before anything is created, a path that cannot hold the database."""
    if not create and not path.exists():
        raise DatabaseError(f"{path}: no database here (run `socialscale init` or `socialscale pull` first)")
    if path.is_dir():
        raise DatabaseUnavailable(f"{path}: is a folder, not a database file (name a file, e.g. {path / 'socialscale.db'})")
    if not path.parent.is_dir():
        # A typo in --db must not leave a tree of folders and an empty database behind.
        raise DatabaseUnavailable(f"{path}: the folder {path.parent} does not exist (create it first, or fix "
                                  "--db / `database:`)")


def _connect(target: str, *, uri: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False,
                           uri=uri)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A database we may not write (a read-only file, folder or mount): reads work, writes fail cleanly.

    `mode=ro` still needs the WAL index beside the file; where that cannot be made either (a read-only
    folder after a clean close), `immutable=1` reads the file as it is, which is all a read-only
    mount allows anyway.
    """
    from urllib.parse import quote

    base = "file:" + quote(str(path.resolve()))
    conn = _connect(base + "?mode=ro", uri=True)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = _connect(base + "?mode=ro&immutable=1", uri=True)
    conn.execute("PRAGMA query_only = 1")
    return conn


def is_read_only(db: Database) -> bool:
    """True for a database opened read-only (see open_db): commands then skip their bookkeeping writes."""
    if dialect_of(db).name != "sqlite":
        return False
    return bool(db.conn.execute("PRAGMA query_only").fetchone()[0])


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        conn.close()


def describe(exc: sqlite3.Error, path: Path | str | None, doing: str = "cannot use this database") -> str:
    """One line for an SQLite failure that names the file and says what to do about it."""
    where = str(path) if path else "database"
    text = " ".join(str(exc).split()) or type(exc).__name__  # SQLite may quote a multi-line schema
    lowered = text.lower()
    if any(word in lowered for word in _DAMAGED):
        return (f"{where}: {doing}: the file is damaged or not a socialscale database ({text}); "
                f"restore a backup, or try `sqlite3 {where} .recover`")
    if "full" in lowered:
        return f"{where}: {doing}: {text} (free some space)"
    if "readonly" in lowered or "read-only" in lowered:
        return f"{where}: {doing}: the file or its directory cannot be written ({text})"
    if "locked" in lowered or "busy" in lowered:
        return (f"{where}: {doing}: still locked by another process after {BUSY_TIMEOUT_MS // 1000}s "
                f"({text})")
    return f"{where}: {doing} ({text})"


def db_path(db: Database) -> str | None:
    """The file behind a connection (the URL of a server), for messages (None for an in-memory database)."""
    if isinstance(db, PgDatabase):
        return safe_url(db.url)
    try:
        row = db.conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return None
    return str(row[2]) if row and row[2] else None


def reader_beside(db: Database) -> Database | None:
    """A second connection to the same database, for reading while a writer thread uses `db` (a WAL file's
    readers do not wait for its writer; a PostgreSQL server's never do); None where there is none to be had (an
    in-memory or read-only SQLite database, a server that refuses another connection): the caller then does
    without. The caller closes it."""
    if isinstance(db, PgDatabase):
        from socialscale.store.postgres import connect

        try:
            return connect(db.url)
        except DatabaseError:
            return None
    path = db_path(db)
    if not path or is_read_only(db):
        return None
    try:
        conn = _connect(path, uri=False)
        conn.execute("PRAGMA query_only = 1")
    except sqlite3.Error:
        return None
    return Database(conn)


# A long run of write transactions (a pull, `tag --all`) on SQLite, per connection and restored after:
# - statement journals in memory: a multi-row INSERT or UPDATE inside a transaction keeps one, to undo
#   that statement alone; past 64 KiB SQLite spills it to a new temporary file, so every source of a
#   pull created, wrote and deleted one (a third of the pull's writes, 1,000 feeds);
# - the WAL checkpointed every 8,000 pages (32 MiB) instead of 1,000: a page that many sources touch (an
#   index leaf) is copied into the database once per checkpoint rather than eight times;
# - a large sort (tag rebuilding the report indexes, store/reindex.py) uses a second thread.
# benchmarks/README.md ("Pull", "tag --all with stored sentiment") has the figures.
BULK_PRAGMAS = (("temp_store", "MEMORY", "DEFAULT"), ("wal_autocheckpoint", "8000", "1000"), ("threads", "2", "0"))


@contextmanager
def bulk_writing(db: Database, cache_kib: int | None = None) -> Iterator[None]:
    """Settings for many write transactions in a row (see BULK_PRAGMAS); nothing changes on PostgreSQL
    or for a read-only database. `cache_kib`: also a page cache of that size (then the connection's
    own again), for a job whose batches rewrite rows and index entries all over a large table."""
    if isinstance(db, PgDatabase) or is_read_only(db):
        yield
        return
    pragmas = list(BULK_PRAGMAS)
    if cache_kib is not None:
        pragmas.append(("cache_size", str(-cache_kib), str(int(db.conn.execute("PRAGMA cache_size").fetchone()[0]))))
    for name, value, _ in pragmas:
        db.conn.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        for name, _, default in pragmas:
            try:
                db.conn.execute(f"PRAGMA {name} = {default}")
            except sqlite3.Error:
                pass  # a closed or broken connection: nothing left to restore


def lacks_planner_statistics(db: Database) -> bool:
    """PostgreSQL: `items` has never been analyzed (a new database's first pull). Without statistics the
    planner takes `canonical_url IN (...)` and `in_reply_to IN (...)` (fifty values a source) to match a
    quarter of the table and reads all of it for each source: measured 7-14 s of a pull of 300 feeds on
    a fresh server, where autovacuum's first ANALYZE comes a minute or more later. Never on SQLite,
    whose planner picks the index for these without statistics."""
    if not isinstance(db, PgDatabase):
        return False
    row = db.execute("SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'items' "
                     "LIMIT 1").fetchone()
    return row is None


def gather_planner_statistics(db: Database) -> None:
    """PostgreSQL: ANALYZE `items` (a sample of its rows: milliseconds at a few thousand items)."""
    if isinstance(db, PgDatabase):
        db.execute("ANALYZE items")


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction, taken with BEGIN IMMEDIATE so concurrent writers wait instead of failing.

    Plain BEGIN upgrades to a write lock late and loses writes to "database is locked" under
    contention; IMMEDIATE takes the lock first and waits for it under the busy timeout. On any
    failure the whole transaction is rolled back: nothing of it is half-written. Inside another
    transaction it is a savepoint: its failure undoes its own writes only (the pull stores a group of
    sources in one transaction, each source in its own savepoint).
    """
    if isinstance(db, PgDatabase):
        from socialscale.store.postgres import pg_transaction

        with pg_transaction(db):
            yield db
        return
    conn = db.conn
    if conn.in_transaction:
        with savepoint(conn, sqlite3.DatabaseError, lambda exc: describe(exc, db_path(db), SAVE_FAILED)):
            yield db
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(describe(exc, db_path(db), "could not start writing")) from exc
    try:
        yield db
    except sqlite3.DatabaseError as exc:
        _rollback(conn)
        raise DatabaseError(describe(exc, db_path(db), SAVE_FAILED)) from exc
    except BaseException:
        _rollback(conn)
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        _rollback(conn)
        raise DatabaseError(describe(exc, db_path(db), SAVE_FAILED)) from exc


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back on its own (SQLITE_FULL, IOERR): then there is nothing to undo.
    if conn.in_transaction:
        conn.execute("ROLLBACK")
