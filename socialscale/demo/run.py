"""`socialscale demo`: the real commands, run one after another against the bundled feeds."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from socialscale.demo import BSKY_ENV, config_yaml, serve
from socialscale.timeutil import frozen_clock


class Cli(Protocol):
    """The command line the demo runs (the CLI passes its root command group): a layer below cli/ never imports it."""

    @property
    def commands(self) -> Mapping[str, Any]: ...

    def main(self, args: Sequence[str] | None = ..., prog_name: str | None = ..., *,
             standalone_mode: bool = ...) -> Any: ...


def _step(app: Cli, args: list[str], config: Path, quiet: bool) -> int:
    """Run one socialscale command in this process, showing it as a user would type it."""
    if not quiet:
        sys.stdout.write(f"\n$ socialscale {' '.join(args)}\n")
        sys.stdout.flush()
    base = ["--config", str(config)] + (["--quiet"] if quiet else [])
    try:
        code = app.main(base + args, prog_name="socialscale", standalone_mode=False)
    except SystemExit as exc:  # typer may still exit on --help-like paths
        code = exc.code if isinstance(exc.code, int) else 1
    return int(code or 0)


def _has(app: Cli, command: str) -> bool:
    return command in app.commands


@contextmanager
def _demo_secrets() -> Iterator[None]:
    """The demo Bluesky account's handle and app password, in the environment for the pull only."""
    saved = {name: os.environ.get(name) for name in BSKY_ENV}
    os.environ.update(BSKY_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# The demo's clock: a Wednesday afternoon. With the same clock and the same seeded data, every run
# shows the same items, ids, ages and figures.
DEMO_NOW = datetime(2026, 3, 4, 15, 0, tzinfo=timezone.utc)


def run_demo(app: Cli, workdir: Path, database: Path | str, quiet: bool = False) -> int:
    """Serve the sample feeds, pull them, play the team's part, and show the results. Returns an exit code."""
    with frozen_clock(DEMO_NOW):
        return _run(app, workdir, database, quiet, DEMO_NOW)


def _run(app: Cli, workdir: Path, database: Path | str, quiet: bool, now: datetime) -> int:
    config = workdir / "socialscale.yaml"
    with serve(now) as base_url, _demo_secrets():
        config.write_text(config_yaml(base_url, str(database)), encoding="utf-8")
        if not quiet:
            sys.stdout.write(f"Demo: Acme Roasters, a small coffee roaster, on {now:%A %d %B %Y, %H:%M} UTC. Ten "
                             "sample sources (feeds, a Bluesky search, App Store reviews) are served from "
                             "127.0.0.1; one of them is broken on purpose.\n")
        code = _step(app, ["pull", "--force"], config, quiet)
        if code not in (0, 1):
            return code
    from socialscale.demo.team import play_team

    played = play_team(config, now)
    if not quiet and played:
        sys.stdout.write(f"\n(The demo team answered {played} items, as `socialscale respond` would record.)\n")
    _step(app, ["items", "--lane", "customer_service", "--status", "open", "--limit", "8"], config, quiet)
    if _has(app, "report"):
        _step(app, ["report", "backlog", "--by", "lane"], config, quiet)
        _step(app, ["report", "latency", "--by", "lane", "--since", "14d"], config, quiet)
        if not quiet:
            # The lag column is the detection lag: a first pull meets days of history at once.
            sys.stdout.write("(`lag` is large here because this first pull found two weeks of talk at once; "
                             "pulled from cron every 15 minutes, it stays within the interval.)\n")
    followup = _followup_id(config)
    if followup is not None:
        if not quiet:
            sys.stdout.write("\n(A conversation: Maria wrote back after Bob's answer, and Tom joined in. Both wait.)\n")
        _step(app, ["show", str(followup)], config, quiet)
        _step(app, ["report", "conversations", "--since", "14d"], config, quiet)
        _step(app, ["why", str(followup)], config, quiet)
    elif _has(app, "why"):
        _step(app, ["why", "1"], config, quiet)
    return 0


def _followup_id(config: Path) -> int | None:
    """The id of Maria's follow-up in the sample conversation."""
    from socialscale.config import load_config
    from socialscale.demo import THREAD_SOURCE
    from socialscale.store.db import open_db
    from socialscale.store.items import id_of

    db = open_db(load_config(config).database)
    try:
        return id_of(db, THREAD_SOURCE, f"urn:demo:{THREAD_SOURCE}-t3")
    finally:
        db.conn.close()
