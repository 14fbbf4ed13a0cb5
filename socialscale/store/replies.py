"""SQL for automatic response tracking (socialscale.replies): ours, and the responses our messages make."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of
from socialscale.store.items import add_event

LINK_COLUMNS = ("id", "source", "guid", "url", "canonical_url", "author", "in_reply_to", "published_at",
                "start_at", "extra", "ours", "status", "responded_at", "responded_by", "response_via",
                "response_url")
_SELECT = f"SELECT {', '.join(LINK_COLUMNS)} FROM items"
_CHUNK = 500


def _rows(db: Database, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for row in db.execute(sql, list(params)).fetchall():
        item = dict(zip(LINK_COLUMNS, row, strict=True))
        try:
            extra = json.loads(item["extra"] or "{}")
        except ValueError:
            extra = {}
        item["extra"] = extra if isinstance(extra, dict) else {}
        out.append(item)
    return out


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def items_by_id(db: Database, ids: Sequence[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        out += _rows(db, f"{_SELECT} WHERE id IN ({_marks(chunk)}) ORDER BY id", chunk)
    return out


def all_item_ids(db: Database) -> list[int]:
    return [int(r[0]) for r in db.execute("SELECT id FROM items ORDER BY id").fetchall()]


def stored_kinds(db: Database) -> dict[str, str]:
    """Source name -> kind for sources pulled before (the config may no longer list them)."""
    return {str(name): str(kind) for name, kind in db.execute("SELECT name, kind FROM sources").fetchall()}


def clear_ours(db: Database, ids: Sequence[int]) -> int:
    """Clear `ours` on these items; returns how many had it."""
    cleared = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        cleared += max(0, db.execute(f"UPDATE items SET ours = NULL WHERE id IN ({_marks(chunk)}) "
                                     "AND ours IS NOT NULL", chunk).rowcount)
    return cleared


def set_ours(db: Database, item_id: int, member: str | None) -> None:
    db.execute(f"UPDATE items SET ours = ? WHERE id = ? AND {dialect_of(db).is_not('ours')}", [member, item_id, member])


def record_reply(db: Database, parent: Mapping[str, Any], *, at: str, member: str,
                 reply: Mapping[str, Any], now: str, reason: str | None = None) -> None:
    """Set the parent's first response to our reply, with a `responded` event; call inside `transaction(db)`.

    Like `respond` (socialscale.workflow), an open or ignored item becomes `responded`.
    """
    db.execute(
        "UPDATE items SET responded_at = ?, responded_by = ?, response_via = 'reply', response_url = ?, "
        "status = CASE WHEN status IN ('open', 'ignored') THEN 'responded' ELSE status END WHERE id = ?",
        [at, member, reply["url"], parent["id"]])
    detail: dict[str, Any] = {"via": "reply", "first": True, "handoff": False, "url": reply["url"],
                              "reply_id": reply["id"], "automatic": True, "detected_at": now}
    if parent.get("responded_at"):
        detail["replaces"] = parent["responded_at"]
    if reason:
        detail["reason"] = reason
    add_event(db, int(parent["id"]), at, "responded", member, detail)
