"""The `alerts` table: an outbox and a ledger, so each item/target/kind is alerted once.

Row states: `queued` (waiting: quiet hours, or stored by a pull before sending), `sending` (claimed
by a run that is sending it now), `sent`, `failed` (retried by the next run). A claim is taken
inside BEGIN IMMEDIATE, so two overlapping runs can never claim the same row; a `sending` row
older than the lease belongs to a run that died mid-send and may be claimed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from socialscale.store.database import Database
from socialscale.store.db import transaction
from socialscale.timeutil import utc_iso

CLAIM_LEASE_S = 15 * 60  # longer than any send can take (Apprise's timeouts are seconds)
CLAIMABLE = ("queued", "failed")
_QUEUE_SQL = ("INSERT INTO alerts (target, kind, key, status, at) VALUES (?, ?, ?, 'queued', ?) "
              "ON CONFLICT (target, kind, key) DO NOTHING")
_CHUNK = 500  # keys per IN (...): below SQLite's limit on bound parameters


def queue(db: Database, target: str, kind: str, keys: Iterable[str], now: datetime) -> int:
    """Record alerts to send later; keys already known (queued, sent, ...) are left alone. Returns the count added."""
    stamp = utc_iso(now)
    with transaction(db):
        cur = db.conn.executemany(_QUEUE_SQL, [(target, kind, str(key), stamp) for key in keys])
    return max(0, cur.rowcount)


def claim(db: Database, target: str, kind: str, now: datetime,
          keys: Sequence[str] | None = None) -> list[str]:
    """Take the alerts this run will send, atomically.

    With `keys`, those keys are claimed (created when new) unless already sent or being sent;
    without, every queued or failed row of the target and kind is claimed.
    """
    stamp = utc_iso(now)
    stale = utc_iso(now - timedelta(seconds=CLAIM_LEASE_S))
    marks = ",".join("?" * len(CLAIMABLE))
    claimable = f"(status IN ({marks}) OR (status = 'sending' AND at < ?))"
    with transaction(db):
        conn = db.conn
        if keys is None:
            rows = conn.execute(f"SELECT key FROM alerts WHERE target = ? AND kind = ? AND {claimable} ORDER BY id",
                                (target, kind, *CLAIMABLE, stale)).fetchall()
            claimed = [r[0] for r in rows]
        else:
            wanted = [str(key) for key in keys]
            conn.executemany(_QUEUE_SQL, [(target, kind, key, stamp) for key in wanted])
            free: set[str] = set()
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                rows = conn.execute(f"SELECT key FROM alerts WHERE target = ? AND kind = ? AND key IN "
                                    f"({','.join('?' * len(chunk))}) AND {claimable}",
                                    (target, kind, *chunk, *CLAIMABLE, stale)).fetchall()
                free.update(r[0] for r in rows)
            claimed = [key for key in wanted if key in free]
        conn.executemany("UPDATE alerts SET status = 'sending', at = ? WHERE target = ? AND kind = ? AND key = ?",
                         [(stamp, target, kind, key) for key in claimed])
    return claimed


def finish(db: Database, target: str, kind: str, keys: Iterable[str], now: datetime,
           error: str | None) -> None:
    """Mark claimed alerts sent (error None) or failed with the (already redacted) reason."""
    status = "sent" if error is None else "failed"
    with transaction(db):
        db.conn.executemany(
            "UPDATE alerts SET status = ?, at = ?, error = ? WHERE target = ? AND kind = ? AND key = ?",
            [(status, utc_iso(now), error, target, kind, str(k)) for k in keys])


def record(db: Database, target: str, kind: str, key: str, now: datetime, error: str | None) -> None:
    """Log a one-off message (a `--test`) with its outcome."""
    with transaction(db):
        db.conn.execute(
            "INSERT INTO alerts (target, kind, key, status, at, error) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (target, kind, key) DO UPDATE SET status = excluded.status, at = excluded.at, "
            "error = excluded.error",
            (target, kind, key, "sent" if error is None else "failed", utc_iso(now), error))


def unsent(db: Database, target: str, kind: str, keys: Sequence[str]) -> list[str]:
    """The keys with no `sent` alert yet."""
    sent = {r[0] for r in db.execute("SELECT key FROM alerts WHERE target = ? AND kind = ? AND status = 'sent'",
                                     (target, kind)).fetchall()}
    return [k for k in keys if k not in sent]


def count_claimable(db: Database, target: str, kind: str) -> int:
    marks = ",".join("?" * len(CLAIMABLE))
    row = db.execute(f"SELECT count(*) FROM alerts WHERE target = ? AND kind = ? AND status IN ({marks})",
                     (target, kind, *CLAIMABLE)).fetchone()
    return int(row[0])


def alerts(db: Database, target: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """The ledger, for tests and `socialscale items`-style inspection."""
    where, params = [], []
    if target:
        where.append("target = ?")
        params.append(target)
    if kind:
        where.append("kind = ?")
        params.append(kind)
    sql = "SELECT target, kind, key, status, at, error FROM alerts"
    if where:
        sql += " WHERE " + " AND ".join(where)
    cur = db.execute(sql + " ORDER BY id", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

