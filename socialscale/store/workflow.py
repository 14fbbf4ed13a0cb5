"""The SQL of workflow changes: read an item's workflow fields, write them. Call writes inside `transaction(db)`;
every write here is paired with an event by socialscale.workflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialscale.store.database import Database

WORKFLOW_FIELDS = ("id", "status", "start_at", "owner", "owner_set_by", "responded_at", "responded_by",
                   "response_via", "closed_at", "title")


def workflow_rows(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The workflow fields of these items, by id (unknown ids are absent)."""
    out: dict[int, dict[str, Any]] = {}
    # Chunked: SQLite limits the number of bound parameters in one statement.
    for k in range(0, len(ids), 500):
        chunk = list(ids[k:k + 500])
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT {', '.join(WORKFLOW_FIELDS)} FROM items WHERE id IN ({marks})", chunk)
        for row in rows.fetchall():
            out[row[0]] = dict(zip(WORKFLOW_FIELDS, row, strict=True))
    return out


def set_owner(db: Database, item_id: int, owner: str | None, set_by: str) -> None:
    db.execute("UPDATE items SET owner = ?, owner_set_by = ? WHERE id = ?", [owner, set_by, item_id])


def set_first_response(db: Database, item_id: int, at: str, by: str, via: str) -> None:
    # response_url names the reply that answered automatically; a person's earlier response replaces it.
    db.execute("UPDATE items SET responded_at = ?, responded_by = ?, response_via = ?, response_url = NULL "
               "WHERE id = ?", [at, by, via, item_id])


def set_status(db: Database, item_id: int, status: str, closed_at: str | None) -> None:
    db.execute("UPDATE items SET status = ?, closed_at = ? WHERE id = ?", [status, closed_at, item_id])
