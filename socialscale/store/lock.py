"""One pull at a time per database: an advisory lock file beside it (cron runs overlap)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from socialscale.errors import SocialscaleError


class Busy(SocialscaleError):
    """Another pull holds the lock on this database."""


@contextmanager
def pull_lock(db_path: Path, wait_s: float = 0.0) -> Iterator[None]:
    """Hold `<db>.pull.lock` for the pull; the kernel drops it if the process dies (kill -9 included)."""
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
