"""`notify`: breach alerts, held and failed new-item alerts, the daily digest, and `--test`."""

from __future__ import annotations

from typing import Annotated

import typer

from socialscale.cli.state import (
    Format,
    FormatOption,
    JsonOption,
    NowOption,
    output_format,
    resolve_now,
    state,
)
from socialscale.output.render import Column

COLUMNS = (
    Column("target", "target"),
    Column("kind", "alert", "plain"),
    Column("status", "status", "plain"),
    Column("items", "items", "number"),
    Column("message", "note / error"),
)


def register(app: typer.Typer) -> None:
    app.command("notify")(notify)


def notify(
    ctx: typer.Context,
    digest: Annotated[bool, typer.Option("--digest", help="Also send today's summary to `digest` targets (once a day).")] = False,
    test: Annotated[bool, typer.Option("--test", help="Send a test message to every target and say which worked.")] = False,
    now: NowOption = None,
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Send breach alerts (and with --digest the daily summary) to the configured notify targets.

    Also sends new-item alerts that quiet hours held back or that failed before. Each alert goes to each
    target once; a failed send is reported (exit 1) and retried by the next run. Meant for cron.

    \b
    Example:
      socialscale notify --quiet        (from cron, every 10 minutes)
      socialscale notify --digest       (from cron, 08:30 daily)
    """
    from socialscale import notify as core
    from socialscale.errors import ExitCode, UsageError
    from socialscale.output.render import clean, emit, err_console
    from socialscale.timeutil import utc_iso

    st = state(ctx)
    config = st.config()
    if not config.notify:
        raise UsageError(f"{config.path or 'socialscale.yaml'}: no notify targets configured "
                         "(add some under `notify:`; see docs/notify.md)")
    when = resolve_now(st, now)
    db = st.db()
    if test:
        outcomes = core.send_test(db, config, when)
    else:
        outcomes = core.run(db, config, now=when, digest=digest)
    out = output_format(fmt, as_json)
    rows = [{**o.to_json(), "message": o.error or o.note or ""} for o in outcomes]
    if out == "json":
        emit(out, rows=rows, columns=COLUMNS, data={"now": utc_iso(when), "results": [o.to_json() for o in outcomes]})
    elif out != "table" or not st.quiet:
        emit(out, rows=rows, columns=COLUMNS, csv_keys=("target", "kind", "status", "items", "error", "note"))
    console = err_console()
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        retry = "" if o.kind == "test" else "; recorded, will retry on the next run"
        console.print(f"error: notify target {clean(o.target)}: {o.kind} failed: {clean(o.error)}{retry}",
                      markup=False, highlight=False)
    if failed:
        raise typer.Exit(int(ExitCode.PARTIAL))

