"""`Database`: an open database as the store uses it, its connection (`conn`) and `execute()`.

Every store and core function takes one: `store.db.open_db` makes it for an SQLite file, and
`store.postgres.PgDatabase` is the same thing over a PostgreSQL server. It is the standard library's
sqlite3 and nothing more, so a command that opens the database pays for no other import: sqlite-utils
(with a second click, pluggy and dateutil) cost each report about 65 ms of a 0.3 s start
(benchmarks/README.md, "Reports, third round"). sqlite-utils itself is used only by the migration that
builds the full-text index (store/search.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any


class Database:
    """An SQLite connection (autocommit: transactions are explicit, store.db.transaction) and `execute`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> sqlite3.Cursor:
        """Run one statement and return its cursor (`fetchone`, `fetchall`, iteration)."""
        if parameters is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, parameters)

    def close(self) -> None:
        self.conn.close()

    def __repr__(self) -> str:
        return f"<Database {self.conn!r}>"
