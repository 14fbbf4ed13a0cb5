"""socialscale: social listening from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from socialscale.session import Session

__version__ = "0.1.0"
USER_AGENT = f"socialscale/{__version__} (+https://github.com/socialscale/socialscale)"


def open(config_path: str | Path | None = None, db: str | Path | None = None) -> Session:
    """The config and database the CLI would use, for a script or a notebook::

        import socialscale
        from socialscale import reports, timeutil

        with socialscale.open("socialscale.yaml") as session:
            data = reports.backlog(session.db, session.config, now=timeutil.now_utc())

    `config_path` is found as the CLI finds it without --config (./socialscale.yaml, then the user
    config directory), `db` overrides `database:` as --db does; the database is opened (created,
    migrated, its lanes synced) on first use of `session.db`.
    """
    from socialscale.session import open_session

    return open_session(config_path, db)
