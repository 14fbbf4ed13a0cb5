"""The SQL behind conversations (socialscale.threads): parent links, conversation ids, follow-up flags.

Every query here is plain SQL that PostgreSQL runs as well (no recursive walks: the threading
code walks chains in Python, iteratively, so a 1,000-level thread or a cycle cannot hang a query).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from socialscale.store.bulk import update_rows
from socialscale.store.database import Database

# What threading and the conversation rules read about an item, in this order.
THREAD_COLUMNS = ("id", "source", "guid", "url", "canonical_url", "in_reply_to", "duplicate_of", "parent_id",
                  "conversation_id")
MEMBER_COLUMNS = ("id", "source", "url", "author", "start_at", "published_at", "ours", "status", "responded_at",
                  "duplicate_of", "parent_id", "conversation_id", "followup", "catalyzed", "lane", "owner")
_CHUNK = 500


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _select(db: Database, columns: Sequence[str], where: str,
            values: Sequence[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(values))):
        sql = f"SELECT {', '.join(columns)} FROM items WHERE {where.format(marks=_marks(chunk))}"
        out += [dict(zip(columns, row, strict=True)) for row in db.conn.execute(sql, list(chunk)).fetchall()]
    return out


def thread_rows(db: Database, ids: Sequence[int]) -> list[dict[str, Any]]:
    return _select(db, THREAD_COLUMNS, "id IN ({marks})", ids)


def all_thread_rows(db: Database) -> list[tuple[Any, ...]]:
    return db.conn.execute(f"SELECT {', '.join(THREAD_COLUMNS)} FROM items ORDER BY id").fetchall()


def by_guid(db: Database, guids: Sequence[str]) -> list[dict[str, Any]]:
    """Items with one of these guids, in any source (by the items_guid index; the caller keeps those of
    the reply's kind)."""
    return _select(db, THREAD_COLUMNS, "guid IN ({marks})", guids)


def by_canonical(db: Database, urls: Sequence[str]) -> list[dict[str, Any]]:
    return _select(db, THREAD_COLUMNS, "canonical_url IN ({marks})", urls)


def unlinked_replies_to(db: Database, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Items whose parent was not stored when they arrived: no parent_id, an in_reply_to among `keys`.

    `parent_id` is checked here, not in SQL: with it in the WHERE clause the planner may walk the
    parent_id index (almost every item is a root) instead of seeking the few in_reply_to values."""
    return [row for row in _select(db, THREAD_COLUMNS, "in_reply_to IN ({marks})", keys) if row["parent_id"] is None]


def parent_and_conversation(db: Database, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    return {row["id"]: (row["parent_id"], row["conversation_id"])
            for row in _select(db, ("id", "parent_id", "conversation_id"), "id IN ({marks})", ids)}


def children(db: Database, ids: Sequence[int]) -> list[tuple[int, int]]:
    """(child, parent) for the items whose parent is one of `ids`."""
    return [(row["id"], row["parent_id"]) for row in _select(db, ("id", "parent_id"), "parent_id IN ({marks})", ids)]


def set_links(db: Database, links: Iterable[tuple[int | None, int, int]]) -> None:
    """(parent_id, conversation_id, id) per item; call inside `transaction(db)`."""
    update_rows(db, "items", ("parent_id", "conversation_id"), links)


def move_conversations(db: Database, moves: Sequence[tuple[int, int]]) -> None:
    """(new, old) per move, applied in order: every item of conversation `old` joins conversation `new`
    (a root got its parent)."""
    if moves:
        db.conn.executemany("UPDATE items SET conversation_id = ? WHERE conversation_id = ?", moves)


def set_conversations(db: Database, moves: Iterable[tuple[int, int]]) -> None:
    """(conversation_id, id) per item."""
    update_rows(db, "items", ("conversation_id",), moves)


def members(db: Database, conversations: Sequence[int],
            pending: Mapping[int, tuple[int | None, int]] | None = None) -> list[dict[str, Any]]:
    """Every item of these conversations, in id order within each. `pending`: the links (id -> (parent_id,
    conversation_id)) of items whose links are not written yet (the pull writes a new item's with its
    tagging): they are members where those links say, whatever their stored ones."""
    found = _select(db, MEMBER_COLUMNS, "conversation_id IN ({marks})", conversations)
    if not pending:
        return found
    wanted = set(conversations)
    found = [m for m in found if m["id"] not in pending]
    for m in _select(db, MEMBER_COLUMNS, "id IN ({marks})", [i for i, (_, c) in pending.items() if c in wanted]):
        m["parent_id"], m["conversation_id"] = pending[m["id"]]
        found.append(m)
    return sorted(found, key=lambda m: (m["conversation_id"], m["id"]))


def set_flags(db: Database, flags: Iterable[tuple[int, int, int]]) -> None:
    """(followup, catalyzed, id) per item."""
    update_rows(db, "items", ("followup", "catalyzed"), flags)


def conversation_of(db: Database, item_id: int) -> int | None:
    row = db.conn.execute("SELECT conversation_id FROM items WHERE id = ?", (item_id,)).fetchone()
    return None if row is None else row[0]


def all_conversations(db: Database) -> list[int]:
    """Conversations with more than one item (the only ones with follow-ups or answers to find)."""
    return [int(r[0]) for r in db.conn.execute(
        "SELECT conversation_id FROM items WHERE conversation_id IS NOT NULL GROUP BY conversation_id "
        "HAVING COUNT(*) > 1 ORDER BY conversation_id").fetchall()]


def get_state(db: Database, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def clear_state(db: Database, key: str) -> None:
    db.conn.execute("DELETE FROM state WHERE key = ?", (key,))


TREE_COLUMNS = ("id", "parent_id", "source", "author", "ours", "status", "start_at", "title", "text", "lane", "owner",
                "duplicate_of", "followup", "catalyzed", "responded_at", "responded_by")


def conversation_items(db: Database, conversation: int) -> list[dict[str, Any]]:
    """Every item of one conversation, oldest first."""
    cur = db.conn.execute(f"SELECT {', '.join(TREE_COLUMNS)} FROM items WHERE conversation_id = ? "
                          "ORDER BY start_at, id", (conversation,))
    return [dict(zip(TREE_COLUMNS, row, strict=True)) for row in cur.fetchall()]
