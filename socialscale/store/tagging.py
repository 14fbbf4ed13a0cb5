"""The SQL behind tagging: read items to (re)tag in batches, write lanes/tags/owner and `tagged` events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from socialscale.models import Item
from socialscale.store.bulk import insert_rows, update_rows
from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of
from socialscale.store.items import EVENT_COLUMNS, TAGGED_COLUMNS, UNTAGGED

# The columns tagging reads, in this order (rows are plain tuples for speed).
TAG_COLUMNS = ("id", "source", "title", "text", "author", "url", "lane", "lanes", "tags", "rules", "owner",
               "owner_set_by", "status", "rules_version", "parent_id", "conversation_id", "followup", "response_url",
               "lang", "sentiment", "brands", "sentiment_model", "content_hash")
_SELECT = f"SELECT {', '.join(TAG_COLUMNS)} FROM items"
_BATCH_IDS = 900  # below SQLite's historical limit of 999 bound parameters
# SQLite's page cache while re-tagging (its default: 2,000 KiB). A batch rewrites 20,000 rows and their
# entries in `items_backlog` and `items_start`; with 2 MB their pages were read again and again (17% of
# a first tagging's CPU, benchmarks/README.md "tag --all with stored sentiment").
CACHE_KIB = 65_536


def rows_by_id(db: Database, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The tagging columns of these items, in id order."""
    out: list[tuple[Any, ...]] = []
    unique = sorted(set(ids))
    for start in range(0, len(unique), _BATCH_IDS):
        chunk = unique[start:start + _BATCH_IDS]
        marks = ",".join("?" * len(chunk))
        out.extend(db.conn.execute(f"{_SELECT} WHERE id IN ({marks}) ORDER BY id", chunk).fetchall())
    return out


def rows_after(db: Database, after_id: int, limit: int, stale_for: str | None,
               upto: int | None = None) -> list[tuple[Any, ...]]:
    """The next `limit` items after `after_id` (up to id `upto`, when given); only those not tagged by
    `stale_for` when it is given."""
    where, params = "id > ?", list[Any]([after_id])
    if upto is not None:
        where, params = f"{where} AND id <= ?", [*params, upto]
    if stale_for is not None:
        where, params = f"{where} AND {dialect_of(db).is_not('rules_version')}", [*params, stale_for]
    return db.conn.execute(f"{_SELECT} WHERE {where} ORDER BY id LIMIT ?", [*params, limit]).fetchall()


_WRITTEN = TAGGED_COLUMNS
_UNTAG = [TAG_COLUMNS.index(c) for c in TAGGED_COLUMNS]


def new_row(item_id: int, source: str, item: Item, digest: str) -> tuple[Any, ...]:
    """A new item that replies to nothing as rows_by_id would read it once upsert_items inserted it untagged and
    threading made it a conversation of its own (what tagging reads to tag it before it is inserted). In
    TAG_COLUMNS order, written out: a pull makes one per new item."""
    return (item_id, source, item.title, item.text, item.author, item.url, None, "[]", "[]", "[]", None, None, "open",
            None, None, item_id, 0, None, item.lang, None, "[]", None, digest)


def untagged(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of TAG_COLUMNS with what tagging writes as a new item has it before its first tagging."""
    out = list(row)
    for n, value in zip(_UNTAG, UNTAGGED, strict=True):
        out[n] = value
    return tuple(out)


def write_tagging(db: Database, updates: Iterable[tuple[Any, ...]],
                  events: Iterable[tuple[Any, ...]], links: Mapping[int, tuple[Any, Any]] | None = None) -> None:
    """`updates`: (lane, lanes, tags, rules, rules_version, owner, owner_set_by, sentiment, brands,
    sentiment_model, id); `events`: (item_id, at, detail). Call inside `transaction(db)`. `links`:
    id -> (parent_id, conversation_id) written in the same UPDATE for the items among `updates`."""
    if links:
        updates = list(updates)
        update_rows(db, "items", (*_WRITTEN, "parent_id", "conversation_id"),
                    [(*u[:-1], *links[u[-1]], u[-1]) for u in updates if u[-1] in links])
        updates = [u for u in updates if u[-1] not in links]
    update_rows(db, "items", _WRITTEN, updates)
    _tagged_events(db, events)


def _tagged_events(db: Database, events: Iterable[tuple[Any, ...]]) -> None:
    """One `tagged` event per (item_id, at, detail)."""
    insert_rows(db, "events", EVENT_COLUMNS, ((item_id, at, "tagged", None, detail) for item_id, at, detail in events))


# What a write that was not read in its own transaction checks first, in the row as it is then: the columns by
# which a person or a pull may have changed an item since `tag` read it (an assignment, a close or reopen, an
# answer seen, new text, a thread found, a pull's own tagging). Each is among TAG_COLUMNS.
GUARD = ("owner", "owner_set_by", "status", "response_url", "parent_id", "conversation_id", "followup",
         "rules_version", "content_hash", "sentiment_model")


def write_if_unmoved(db: Database, updates: Sequence[tuple[Any, ...]], stamps: Sequence[tuple[Any, ...]],
                     events: Iterable[tuple[Any, ...]]) -> bool:
    """write_tagging and stamp_version for rows read outside this transaction: `updates` are (*write_tagging's
    values, *GUARD as read, id), `stamps` (version, *GUARD as read, id). Each row is written only where the
    GUARD columns still hold what was read; returns False as soon as one does not (then nothing of the batch
    may stand: the caller rolls the transaction back and tags those items again, reading them inside it).
    Call inside `transaction(db)`."""
    if update_rows(db, "items", _WRITTEN, updates, guard=GUARD) != len(updates):
        return False
    if update_rows(db, "items", ("rules_version",), stamps, guard=GUARD) != len(stamps):
        return False
    _tagged_events(db, events)
    return True


def stamp_version(db: Database, ids: Sequence[int], version: str,
                  links: Mapping[int, tuple[Any, Any]] | None = None) -> None:
    """Record that these items were checked against `version` and needed no change (`links` as
    write_tagging's, for the items among `ids`)."""
    if links:
        update_rows(db, "items", ("parent_id", "conversation_id"), [(*links[i], i) for i in ids if i in links])
    db.conn.executemany(f"UPDATE items SET rules_version = ? WHERE id = ? AND {dialect_of(db).is_not('rules_version')}",
                        ((version, i, version) for i in ids))


def stamp_range(db: Database, first_id: int, last_id: int, version: str) -> None:
    """Same as stamp_version for every item with an id in [first_id, last_id] (one statement)."""
    db.conn.execute(f"UPDATE items SET rules_version = ? WHERE id BETWEEN ? AND ? AND "
                    f"{dialect_of(db).is_not('rules_version')}", (version, first_id, last_id, version))


def count_stale(db: Database, version: str) -> int:
    """Items not tagged by the current rules (never tagged, or tagged by an older rule set)."""
    return int(db.conn.execute(f"SELECT COUNT(*) FROM items WHERE {dialect_of(db).is_not('rules_version')}",
                               (version,)).fetchone()[0])


def count_to_score(db: Database, model: str, stale_for: str | None) -> int:
    """Items whose sentiment was not scored by `model` from their current text (of those not tagged by
    `stale_for`, when it is given)."""
    is_not = dialect_of(db).is_not
    sql = f"SELECT COUNT(*) FROM items WHERE {is_not('sentiment_model')}"
    params: tuple[str, ...] = (model,)
    if stale_for is not None:
        sql, params = f"{sql} AND {is_not('rules_version')}", (model, stale_for)
    return int(db.conn.execute(sql, params).fetchone()[0])


def count_items(db: Database) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])


def rule_match_counts(db: Database, since: str) -> dict[str, int]:
    """How many items first seen at or after `since` each rule name matched (as stored)."""
    rows = db.conn.execute(
        f"SELECT r.value, COUNT(*) FROM items i, {dialect_of(db).json_array_text('i.rules', 'r')} "
        "WHERE i.first_seen_at >= ? GROUP BY r.value", (since,)).fetchall()
    return {str(name): int(n) for name, n in rows}


def items_since(db: Database, since: str) -> int:
    return int(db.conn.execute("SELECT COUNT(*) FROM items WHERE first_seen_at >= ?", (since,)).fetchone()[0])
