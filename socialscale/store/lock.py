"""One pull at a time per database (cron runs overlap): an advisory lock file beside an SQLite file, or
a PostgreSQL advisory lock on a shared server, since two machines may both run cron."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from socialscale.dburl import is_url, safe_url
from socialscale.errors import SocialscaleError
from socialscale.store.dialect import LOCK_PULL


class Busy(SocialscaleError):
    """Another pull holds the lock on this database."""


@contextmanager
def pull_lock(db_path: Path | str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold `<db>.pull.lock` for the pull; the kernel drops it if the process dies (kill -9 included).

    On PostgreSQL, a session advisory lock on a connection of its own: the server drops it when that
    connection ends, so a pull that dies (or a machine that loses the network) does not hold it forever.
    """
    if is_url(db_path):
        with _server_lock(str(db_path), wait_s):
            yield
        return
    import fcntl

    lock_path = Path(str(db_path) + ".pull.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    raise Busy(f"another pull is running on {db_path} (pid {holder}); this one was skipped "
                               "(use --wait SECONDS to wait for it)") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def _server_lock(url: str, wait_s: float) -> Iterator[None]:
    from socialscale.store.postgres import connect

    db = connect(url)
    try:
        deadline = time.monotonic() + wait_s
        while not db.execute("SELECT pg_try_advisory_lock(?)", [LOCK_PULL]).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise Busy(f"another pull is running on {safe_url(url)} ({_holder(db)}); this one was skipped "
                           "(use --wait SECONDS to wait for it)")
            time.sleep(0.2)
        yield
    finally:
        db.close()  # ends the session, which releases the lock


def _holder(db: object) -> str:
    """Who holds the pull lock, as the holder's connection named itself (host and pid)."""
    row = db.execute(  # type: ignore[attr-defined]
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ? LIMIT 1",
        [LOCK_PULL >> 32, LOCK_PULL & 0xFFFFFFFF]).fetchone()
    return row[0] if row and row[0] else "held by another connection"
