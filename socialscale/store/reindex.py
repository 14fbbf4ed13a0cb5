"""The report indexes set aside while `tag` rewrites most items, and put back (docs/design.md, "Re-tagging
most items: the report indexes are rebuilt, not updated").

`items_backlog` and `items_start` carry `lane` and `owner` (and `sentiment`), which a first tagging changes
for every item: updating them costs each row two index deletions and two insertions, about half of the
write's time on SQLite. Dropped before the batches and created again after, they are built by one sort
each instead.

Each step is its own transaction. The drop records, in the same transaction, the indexes' definitions as
the database had them and who dropped them (`state` key REBUILD_KEY); the rebuild creates them again and
removes the record in one transaction. So the database is never without both the indexes and the record of
them: a tag that dies in between (kill -9, power loss) leaves the record, and the next process to open the
database (store.db.open_db) rebuilds them once the one that dropped them is gone (`orphaned`). Meanwhile reports read the table without these indexes: the same figures, slower.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of

REPORT_INDEXES = ("items_backlog", "items_start")
REBUILD_KEY = "tag.rebuild_indexes"
_IF_NOT_EXISTS = re.compile(r"^\s*(CREATE (?:UNIQUE )?INDEX) ", re.IGNORECASE)


def drop(db: Database, names: Sequence[str] = REPORT_INDEXES) -> bool:
    """Drop these indexes, recording their definitions; call inside `transaction(db)`. False (nothing done)
    when a record is already there (a rebuild is pending) or none of them exists."""
    if _record(db) is not None:
        return False
    d = dialect_of(db)
    definitions = []
    for name in names:
        row = db.conn.execute(d.index_definition(), (name,)).fetchone()
        if row is not None and row[0]:
            definitions.append(str(row[0]))
    if not definitions:
        return False
    value = json.dumps({"by": _holder(db), "indexes": definitions})
    db.conn.execute("INSERT INTO state (key, value) VALUES (?, ?)", (REBUILD_KEY, value))
    for name in names:
        db.conn.execute(f"DROP INDEX IF EXISTS {name}")
    return True


def rebuild(db: Database) -> bool:
    """Create the recorded indexes again and remove the record; call inside `transaction(db)`. False when
    there is no record (another process rebuilt them)."""
    record = _record(db)
    if record is None:
        return False
    for definition in record["indexes"]:
        db.conn.execute(_IF_NOT_EXISTS.sub(r"\1 IF NOT EXISTS ", definition, count=1))
    db.conn.execute("DELETE FROM state WHERE key = ?", (REBUILD_KEY,))
    return True


def orphaned(db: Database) -> bool:
    """True when a `tag` dropped the indexes and is gone without rebuilding them (killed, or its machine
    lost): the record names its process, or its PostgreSQL session. False while that tag still runs."""
    record = _record(db)
    return record is not None and not _alive(db, record.get("by") or {})


def pending(db: Database) -> bool:
    """True while a rebuild is recorded (the indexes are dropped)."""
    return _record(db) is not None


def _record(db: Database) -> dict[str, Any] | None:
    row = db.conn.execute("SELECT value FROM state WHERE key = ?", (REBUILD_KEY,)).fetchone()
    return None if row is None else json.loads(row[0])  # type: ignore[no-any-return]


def _holder(db: Database) -> dict[str, object]:
    """Who drops the indexes: this process (SQLite, a local file), or this server session (PostgreSQL)."""
    import socket

    if dialect_of(db).postgres:
        return {"session": int(db.conn.execute("SELECT pg_backend_pid()").fetchone()[0])}
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(db: Database, holder: dict[str, object]) -> bool:
    if "session" in holder:
        if not dialect_of(db).postgres:
            return False
        return db.conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ?", (holder["session"],)).fetchone() is not None
    import socket

    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False  # an SQLite file is used from one machine (docs/design.md): that process is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
