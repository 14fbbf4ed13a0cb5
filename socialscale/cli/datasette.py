"""`datasette`: a metadata.json that turns the database into a ready Datasette dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from socialscale.cli.state import state


def register(app: typer.Typer) -> None:
    app.command("datasette")(datasette)


def datasette(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print a Datasette metadata.json for the database: table and column descriptions, canned queries.

    The canned queries (backlog, breaches, latency, volume) follow the same definitions as `report`.
    Datasette reads SQLite files: on a PostgreSQL database, copy a snapshot first
    (`socialscale db copy --to snapshot.db`) and open that (docs/team.md).

    \b
    Example:
      socialscale datasette -o metadata.json
      datasette socialscale.db -m metadata.json
    """
    import json
    import sys

    from socialscale.dburl import is_url
    from socialscale.errors import UsageError
    from socialscale.output.render import err_console
    from socialscale.store.datasette import metadata

    st = state(ctx)
    config = st.config()
    if is_url(config.database):
        # The metadata names the database as Datasette will: after the snapshot the docs suggest.
        name, run = "snapshot", "socialscale db copy --to snapshot.db && datasette snapshot.db"
    else:
        name, run = Path(config.database).stem, f"datasette {config.database}"
    text = json.dumps(metadata(name), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc})") from None
    if not st.quiet:
        err_console().print(f"wrote {output}; run: {run} -m {output}", markup=False)
