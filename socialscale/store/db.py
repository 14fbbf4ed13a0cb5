"""Opening the database: permissions, WAL, busy timeout, migrations, and one-transaction writes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from socialscale.errors import DatabaseError
from socialscale.store.schema import migrate

BUSY_TIMEOUT_MS = 30_000


def open_db(path: Path | str, *, create: bool = True) -> sqlite_utils.Database:
    """Open (and create or migrate) the database at `path`, or raise DatabaseError naming it."""
    path = Path(path)
    if not create and not path.exists():
        raise DatabaseError(f"{path}: no database here (run `socialscale init` or `socialscale pull` first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Owner-only from the first byte: the database holds what the team said and to whom.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        migrate(db, str(path))
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: cannot use this database ({exc})") from exc
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    return db


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction, taken with BEGIN IMMEDIATE so concurrent writers wait instead of failing.

    Plain BEGIN upgrades to a write lock late and loses writes to "database is locked" under
    contention; IMMEDIATE takes the lock first and waits for it under the busy timeout.
    """
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"database is busy or read-only: {exc}") from exc
    try:
        yield db
    except sqlite3.DatabaseError as exc:
        conn.execute("ROLLBACK")
        raise DatabaseError(f"could not save to the database, nothing of this step was written: {exc}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        conn.execute("ROLLBACK")
        raise DatabaseError(f"could not save to the database: {exc}") from exc
