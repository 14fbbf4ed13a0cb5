"""A session: one config and the database it names, what every command works on.

`socialscale.open()` is the library entry (sqlite-utils' `Database(path)`, llm's `get_model()`): a
script, a notebook, a test or a benchmark gets the same config and database the CLI uses, with the
configured lanes copied into the database, and builds nothing by hand.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socialscale.models import Config
    from socialscale.store.database import Database


class Session:
    """The config, read and checked at once; the database, opened (created, migrated) on first use."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            # Looked up at call time, not bound at import: tests stand a failing disk in for open_db.
            from socialscale.store.db import is_read_only, open_db
            from socialscale.store.lanes import sync_lanes
            from socialscale.store.schema import UPGRADE_STATE_KEY
            from socialscale.store.threads import get_state

            db = open_db(self.config.database)
            if not is_read_only(db):  # a read-only database still serves reads
                sync_lanes(db, self.config)
                if get_state(db, UPGRADE_STATE_KEY) is not None:  # once, for items stored before conversations
                    # (threading and tagging are imported only then: every command opens the database)
                    from socialscale.conversations import upgrade
                    from socialscale.timeutil import now_utc, utc_iso

                    upgrade(db, self.config, utc_iso(now_utc()))
            self._db = db
        return self._db

    def close(self) -> None:
        """Close the database if it was opened; `db` opens it again."""
        if self._db is not None:
            db, self._db = self._db, None
            db.conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_session(config_path: str | Path | None = None, db: str | Path | None = None) -> Session:
    """The config at `config_path` (else ./socialscale.yaml, else the user config directory; none of them:
    the built-in defaults), its `database:` overridden by `db`. Environment variables are the CLI's
    business (--config and --db read them), so a script gets exactly what it names.
    Raises ConfigError listing every problem."""
    from socialscale.config import find_config, load_config

    return Session(load_config(find_config(config_path), db))
