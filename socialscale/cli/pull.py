"""`pull` and `sources`: bring sources into the store, and show their health."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from socialscale.cli import complete
from socialscale.cli.state import Format, FormatOption, JsonOption, output_format, state
from socialscale.output.pull import PULL_COLUMNS, print_errors, print_table
from socialscale.output.render import Column

if TYPE_CHECKING:
    from socialscale.pipeline import Progress, SourceResult

SOURCE_COLUMNS = (
    Column("name", "source", "plain"),
    Column("type", "type", "plain", fold=2),
    Column("last_ok_at", "last success", "time"),
    Column("consecutive_failures", "failures", "number", fold=1),
    Column("items", "items", "number"),
    Column("last_error", "last error"),
)


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("sources")(sources)


def pull(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(metavar="SOURCE", help="Only these sources (always fetched, even if not due).",
                                                      autocompletion=complete.sources)] = None,
    force: Annotated[bool, typer.Option("--force", help="Fetch every source, even those not due yet (`every:`).")] = False,
    wait: Annotated[float, typer.Option("--wait", help="If another pull is running, wait up to this many seconds.")] = 0.0,
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Fetch all (or the named) sources concurrently, store new and changed items, tag them.

    Exit 0 when every source worked, 1 when some failed (the rest are stored), 2 on a config error.

    \b
    Example:
      socialscale pull --quiet          (from cron)
      socialscale pull blog-comments --format json
    """
    from socialscale import pipeline
    from socialscale.errors import ExitCode
    from socialscale.store.lock import pull_lock
    from socialscale.timeutil import now_utc

    st = state(ctx)
    config = st.config()
    if config.path is None:
        from socialscale.config import CONFIG_NAME, user_config_path
        from socialscale.errors import UsageError

        raise UsageError(f"no config file: neither ./{CONFIG_NAME} nor {user_config_path()} exists (run "
                         "`socialscale init` to write one, or give --config)")
    pipeline.require_sources(config, names or ())  # before the database and the lock file are created
    db = st.db()
    out = output_format(fmt, as_json)
    with pull_lock(config.database, wait), _progress(st.quiet or out != "table") as progress:
        summary = pipeline.pull(db, config, names=names or (), force=force, now=now_utc(), progress=progress)
    if out == "table":
        if not st.quiet:
            print_table(summary, st.verbose)
        print_errors(summary, st.verbose)
    else:
        from socialscale.output.render import emit

        data = summary.to_json()
        emit(out, rows=data["sources"], columns=PULL_COLUMNS, data=data,
             csv_keys=("name", "status", "http_status", "seen", "new", "updated", "duration_ms", "error"))
        print_errors(summary, st.verbose)
    if summary.failed:
        raise typer.Exit(int(ExitCode.PARTIAL))


@contextmanager
def _progress(disabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr while sources complete; nothing when not on a terminal."""
    if disabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    from socialscale.output.render import err_console

    with Bar(TextColumn("pulling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             TextColumn("{task.description}"), console=err_console(), transient=True) as bar:
        task = bar.add_task("", total=None)

        def advance(result: SourceResult, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=result.name[:40])

        yield advance


def sources(
    ctx: typer.Context,
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Each source's health: last success, last error, consecutive failures, items stored.

    \b
    Example:
      socialscale sources --format json |
        jq '.[] | select(.consecutive_failures > 3)'
    """
    from socialscale.output.render import emit
    from socialscale.store.sources import source_health
    from socialscale.text import redact_url

    st = state(ctx)
    config = st.config()
    health = {row["name"]: row for row in source_health(st.db())}
    rows = []
    for source in config.sources:
        h = health.get(source.name, {})
        url = source.url or source.options.get("instance")
        rows.append({"name": source.name, "type": source.type, "url": redact_url(str(url)) if url else None,
                     "last_ok_at": h.get("last_ok_at"), "last_error": h.get("last_error"),
                     "consecutive_failures": h.get("consecutive_failures", 0), "items": h.get("items", 0)})
    out = output_format(fmt, as_json)
    if out == "table" and not st.verbose:  # a person reads the words; the parser's own text with --verbose
        from socialscale.problems import brief

        rows = [{**r, "last_error": brief(r["last_error"]) if r["last_error"] else None} for r in rows]
    emit(out, rows=rows, columns=SOURCE_COLUMNS, tz=config.timezone)
