"""Item upserts and reads. Keyed on (source, guid): pulling twice changes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from socialscale.models import Item
from socialscale.store.bulk import insert_rows, new_ids, update_rows
from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of
from socialscale.store.filters import ItemFilter

ITEM_COLUMNS = (
    "id", "source", "guid", "url", "canonical_url", "title", "author", "text", "published_at",
    "first_seen_at", "updated_at", "start_at", "lane", "lanes", "tags", "owner", "status", "responded_at",
    "responded_by", "response_via", "response_url", "closed_at", "duplicate_of", "in_reply_to", "extra",
    "ours", "parent_id", "conversation_id", "followup", "catalyzed", "sentiment", "reach", "lang", "brands",
)
EVENT_COLUMNS = ("item_id", "at", "kind", "actor", "detail")
JSON_COLUMNS = ("lanes", "tags", "extra", "rules", "brands")
# What tagging writes of an item (store.tagging), and what a new item is inserted with before it is tagged.
TAGGED_COLUMNS = ("lane", "lanes", "tags", "rules", "rules_version", "owner", "owner_set_by", "sentiment", "brands",
                  "sentiment_model")
UNTAGGED = (None, "[]", "[]", "[]", None, None, None, None, "[]", None)
_INSERTED = ("id", "source", "guid", "url", "canonical_url", "title", "author", "text", "published_at", "first_seen_at",
             "updated_at", "start_at", "status", "duplicate_of", "in_reply_to", "content_hash", "extra", "lang", "reach",
             *TAGGED_COLUMNS, "conversation_id")
# upsert_items' `tag`: given (id, item, content hash) of new items that reply to nothing, each one's TAGGED_COLUMNS
# values and something of the caller's own (both kept in UpsertResult.tagged), or None to insert it untagged.
TagNew = Callable[[list[tuple[int, Item, str]]], Sequence["tuple[tuple[Any, ...], Any] | None"]]


@dataclass
class UpsertResult:
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    # The new items' thread columns as they were before threading (store.threads.THREAD_COLUMNS: parent and
    # conversation None, also for those inserted tagged), so the pull's threading step need not read them back.
    new_threads: list[dict[str, Any]] = field(default_factory=list)
    # The new items inserted tagged (upsert_items' `tag`): id -> what `tag` gave it (the values, and its own).
    tagged: dict[int, tuple[tuple[Any, ...], Any]] = field(default_factory=dict)


def content_hash(item: Item) -> str:
    parts = [item.title, item.text, item.url or "", item.author or "", item.published_at or "", item.in_reply_to or ""]
    if item.extra:
        parts.append(json.dumps(item.extra, sort_keys=True, ensure_ascii=False, default=str))
    if item.lang is not None or item.reach is not None:
        parts.append(f"{item.lang}\x1f{item.reach}")
    return hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def start_of(published_at: str | None, first_seen_at: str) -> str:
    """docs/reports.md: published_at when present and not later than first_seen_at, else first_seen_at."""
    if published_at and published_at <= first_seen_at:
        return published_at
    return first_seen_at


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def upsert_items(db: Database, source: str, items: Iterable[Item], now: str, tag: TagNew | None = None) -> UpsertResult:
    """Insert new items and update changed ones; call inside `transaction(db)`.

    first_seen_at never moves; updated_at moves only when the content changed. Reads and writes
    are batched per source: a pull of a thousand feeds spends its time parsing, not here.

    With `tag`, the new items that reply to nothing are inserted tagged as `tag` says, each a
    conversation of its own (conversation_id its id): one write of the row instead of an insert and
    an update (docs/design.md, "New items inserted tagged"). The `tagged` events stay the caller's.
    """
    result = UpsertResult()
    conn = db.conn
    items = list(items)
    existing: dict[str, tuple[int, str, str]] = {}
    for chunk in _chunks([i.guid for i in items]):
        marks = ",".join("?" * len(chunk))
        for guid, item_id, digest, first_seen in conn.execute(
                f"SELECT guid, id, content_hash, first_seen_at FROM items WHERE source = ? AND guid IN ({marks})",
                [source, *chunk]):
            existing[guid] = (item_id, digest, first_seen)
    fresh: list[tuple[Item, str]] = []
    updates = []
    for item in items:
        digest = content_hash(item)
        found = existing.get(item.guid)
        if found is None:
            fresh.append((item, digest))
        elif found[1] != digest:
            updates.append((item.url, item.canonical_url, item.title, item.author, item.text, item.published_at,
                            start_of(item.published_at, found[2]), item.in_reply_to, digest, _extra(item), now,
                            item.lang, item.reach, None, found[0]))
            result.updated_ids.append(found[0])
        else:
            result.unchanged += 1
    if updates:
        update_rows(db, "items", ("url", "canonical_url", "title", "author", "text", "published_at", "start_at",
                                  "in_reply_to", "content_hash", "extra", "updated_at", "lang", "reach",
                                  "sentiment_model"), updates)  # changed: its sentiment is scored again
    if fresh:
        duplicates = _earlier_copies(conn, source, [i.canonical_url for i, _ in fresh if i.canonical_url])
        ids = new_ids(db, "items", len(fresh))
        given: list[tuple[tuple[Any, ...], Any] | None] = [None] * len(fresh)
        if tag is not None:
            roots = [n for n, (i, _) in enumerate(fresh) if not i.in_reply_to]
            for n, tagging in zip(roots, tag([(ids[n], *fresh[n]) for n in roots]), strict=True):
                given[n] = tagging
        insert_rows(db, "items", _INSERTED,
                    [(item_id, source, i.guid, i.url, i.canonical_url, i.title, i.author, i.text, i.published_at, now,
                      now, start_of(i.published_at, now), "open", duplicates.get(i.canonical_url or ""), i.in_reply_to,
                      digest, _extra(i), i.lang, i.reach, *(UNTAGGED if g is None else g[0]),
                      None if g is None else item_id)
                     for item_id, (i, digest), g in zip(ids, fresh, given, strict=True)])
        result.new_ids = ids
        result.tagged = {item_id: g for item_id, g in zip(ids, given, strict=True) if g is not None}
        result.new_threads = [{"id": item_id, "source": source, "guid": i.guid, "url": i.url,
                               "canonical_url": i.canonical_url, "in_reply_to": i.in_reply_to,
                               "duplicate_of": duplicates.get(i.canonical_url or ""), "parent_id": None,
                               "conversation_id": None} for item_id, (i, _) in zip(ids, fresh, strict=True)]
        plain = json.dumps({"source": source})
        insert_rows(db, "events", EVENT_COLUMNS,
                    [(item_id, now, "created", None, plain if not i.canonical_url or i.canonical_url not in duplicates
                      else json.dumps({"source": source, "duplicate_of": duplicates[i.canonical_url]}))
                     for item_id, (i, _) in zip(ids, fresh, strict=True)])
    return result


def stored_refs(db: Database, source: str, refs: Iterable[str]) -> set[str]:
    """Which of `refs` are the guid or URL of an item of `source` already stored."""
    wanted = sorted(set(refs))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        for guid, url in db.execute(f"SELECT guid, url FROM items WHERE source = ? AND (guid IN ({marks}) "
                                    f"OR url IN ({marks}))", [source, *chunk, *chunk]).fetchall():
            found.update(x for x in (guid, url) if x in wanted)
    return found


def _extra(item: Item) -> str:
    return json.dumps(item.extra, ensure_ascii=False, default=str) if item.extra else "{}"


def _earlier_copies(conn: Any, source: str, urls: list[str]) -> dict[str, int]:
    """canonical URL -> the id of the first item another source stored with it (docs/reports.md: duplicates)."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(urls))):
        marks = ",".join("?" * len(chunk))
        found.update(conn.execute(
            f"SELECT canonical_url, MIN(id) FROM items WHERE canonical_url IN ({marks}) AND source != ? "
            "AND duplicate_of IS NULL GROUP BY canonical_url", [*chunk, source]).fetchall())
    return found


def add_event(db: Database, item_id: int, at: str, kind: str, actor: str | None,
              detail: Any = None) -> None:
    """Append to the event log; `detail` is stored as JSON text when it is not already a string."""
    text = detail if isinstance(detail, str) or detail is None else json.dumps(detail, ensure_ascii=False)
    db.conn.execute("INSERT INTO events (item_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
                    (item_id, at, kind, actor, text))


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A database row as the JSON shape of docs/json.md (lists and objects decoded)."""
    out = dict(row)
    for key in ("followup", "catalyzed"):
        if key in out and out[key] is not None:
            out[key] = bool(out[key])
    for key in JSON_COLUMNS:
        if key in out and isinstance(out[key], str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                out[key] = [] if key != "extra" else {}
    return out


def get_items(db: Database, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The items with these ids, in id order (chunked: a first pull may bring more ids than SQLite's
    limit on query parameters)."""
    out: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(ids))):
        rows = db.execute(f"SELECT * FROM items WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id", list(chunk))
        names = [d[0] for d in rows.description]
        out += [decode_row(dict(zip(names, r, strict=True))) for r in rows.fetchall()]
    return out


def get_item(db: Database, item_id: int) -> dict[str, Any] | None:
    found = get_items(db, [item_id])
    return found[0] if found else None


def id_of(db: Database, source: str, guid: str) -> int | None:
    """The id of the item with this guid in this source, if stored."""
    row = db.execute("SELECT id FROM items WHERE source = ? AND guid = ?", [source, guid]).fetchone()
    return None if row is None else int(row[0])


def events_for(db: Database, item_id: int) -> list[dict[str, Any]]:
    """An item's history, oldest first; each event's `detail` decoded to an object."""
    rows = db.execute("SELECT id, at, kind, actor, detail FROM events WHERE item_id = ? ORDER BY at, id", [item_id])
    return [{**dict(zip(("id", "at", "kind", "actor"), r[:4], strict=True)), "detail": _detail_object(r[4])}
            for r in rows.fetchall()]


def _detail_object(text: str | None) -> dict[str, Any]:
    """Details are JSON objects; anything else (none, or plain text from elsewhere) as an object too."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"text": value}


def query_items(db: Database, f: ItemFilter, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Items matching the filter, newest first (at most `limit`), in the JSON shape of docs/json.md."""
    params: list[Any] = []
    sql = (f"SELECT {', '.join('i.' + c for c in ITEM_COLUMNS)} FROM items i WHERE {f.where(params, dialect_of(db))} "
           "ORDER BY i.start_at DESC, i.id DESC")
    if limit:
        sql += f" LIMIT {int(limit)}"
    cur = db.execute(sql, params)
    return [decode_row(dict(zip(ITEM_COLUMNS, r, strict=True))) for r in cur.fetchall()]


def count_items(db: Database, f: ItemFilter) -> int:
    params: list[Any] = []
    return int(db.execute(f"SELECT COUNT(*) FROM items i WHERE {f.where(params, dialect_of(db))}", params).fetchone()[0])
