"""Per-source state (ETag, cursor, health), the fetch log, and per-host politeness."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from socialscale.models import Source
from socialscale.store.database import Database
from socialscale.store.dialect import dialect_of
from socialscale.text import redact_url
from socialscale.timeutil import parse_iso, utc_iso

STATE_COLUMNS = ("name", "kind", "url", "redirected_to", "etag", "last_modified", "cursor", "last_fetch_at",
                 "last_ok_at", "last_status", "last_http_status", "last_error", "consecutive_failures")


def source_states(db: Database) -> dict[str, dict[str, Any]]:
    rows = db.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM sources").fetchall()
    return {r[0]: dict(zip(STATE_COLUMNS, r, strict=True)) for r in rows}


def record_fetch(db: Database, source: Source, *, now: str, status: str, http_status: int | None,
                 error: str | None, duration_ms: int, seen: int, new: int, updated: int,
                 etag: str | None = None, last_modified: str | None = None, cursor: Any = None,
                 redirected_to: str | None = None, asked: bool = True) -> None:
    """Update the source's health row and append to `fetches`; call inside `transaction(db)`.

    `asked=False` (the source waited for its host and was never requested) leaves `last_fetch_at`
    alone, so the source stays due and asks first in the next pull.

    A changed URL in the config resets the validators and the redirect, since they belonged to the old URL.
    """
    conn = db.conn
    if dialect_of(db).postgres:
        # A pull's transaction does not wait for the server's disk (docs/team.md, "Durability of a pull"):
        # a server crash loses at most its last moments of pulling, whole transactions, items and the
        # ETags/cursors that fetched them together, so the next pull fetches them again.
        conn.execute("SET LOCAL synchronous_commit = off")
    url = redact_url(source.url) if source.url else None  # a token in the URL's query never reaches the file
    row = conn.execute("SELECT url FROM sources WHERE name = ?", (source.name,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO sources (name, kind, url) VALUES (?, ?, ?)", (source.name, source.type, url))
    elif row[0] != url:
        conn.execute("UPDATE sources SET url = ?, kind = ?, etag = NULL, last_modified = NULL, redirected_to = NULL, "
                     "cursor = NULL WHERE name = ?", (url, source.type, source.name))
    ok = status in ("ok", "not_modified")
    sets = ["kind = ?", "last_status = ?", "last_http_status = ?", "last_error = ?"]
    params: list[Any] = [source.type, status, http_status, error]
    if asked:
        sets.append("last_fetch_at = ?")
        params.append(now)
    if ok:
        sets += ["last_ok_at = ?", "consecutive_failures = 0", "etag = ?", "last_modified = ?"]
        params += [now, etag, last_modified]
        if cursor is not None:
            sets.append("cursor = ?")
            params.append(json.dumps(cursor))
        if redirected_to:
            sets.append("redirected_to = ?")
            params.append(redirected_to)
    elif status == "error":
        sets.append("consecutive_failures = consecutive_failures + 1")
    conn.execute(f"UPDATE sources SET {', '.join(sets)} WHERE name = ?", [*params, source.name])
    conn.execute("INSERT INTO fetches (source, started_at, duration_ms, http_status, items_seen, items_new, "
                 "items_updated, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (source.name, now, duration_ms, http_status, seen, new, updated, error))


def host_waits(db: Database, now: datetime) -> dict[str, datetime]:
    rows = db.execute("SELECT host, not_before FROM hosts WHERE not_before > ?", [utc_iso(now)]).fetchall()
    return {host: parse_iso(until) for host, until in rows}


def save_host_waits(db: Database, waits: dict[str, datetime], reason: str = "Retry-After") -> None:
    later = dialect_of(db).greatest("hosts.not_before", "excluded.not_before")
    for host, until in waits.items():
        db.execute("INSERT INTO hosts (host, not_before, reason) VALUES (?, ?, ?) "
                   f"ON CONFLICT(host) DO UPDATE SET not_before = {later}, "
                   "reason = excluded.reason", [host, utc_iso(until), reason])


def source_health(db: Database) -> list[dict[str, Any]]:
    """Rows for `socialscale sources`, with item counts."""
    counts = dict(db.execute("SELECT source, COUNT(*) FROM items GROUP BY source").fetchall())
    states = source_states(db)
    return [{**state, "items": counts.get(name, 0)} for name, state in states.items()]
