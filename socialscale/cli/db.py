"""`db copy`: move the whole database, e.g. from a one-person SQLite file to a team's PostgreSQL server."""

from __future__ import annotations

from typing import Annotated

import typer

from socialscale.cli.state import Format, FormatOption, JsonOption, output_format, state

db_app = typer.Typer(help="Move the database: copy it into another one, SQLite or PostgreSQL.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    db_app.command("copy")(copy)
    app.add_typer(db_app, name="db")


def copy(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="The empty database to fill: an SQLite file, or "
                                                 "postgresql://user@host/name (password from PGPASSWORD or ~/.pgpass).")],
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Copy the current database into an empty one, SQLite or PostgreSQL either way: every item, event,
    source state and alert record, in one transaction, with the row counts of every table verified.

    \b
    Example:
      socialscale db copy --to postgresql://alice@db.example.com/social
      socialscale --db postgresql://alice@db.example.com/social db copy --to backup.db
    """
    from pathlib import Path

    from socialscale.dburl import has_password, is_url
    from socialscale.errors import UsageError
    from socialscale.output.render import Column, emit, err_console
    from socialscale.store.copy import copy_database
    from socialscale.store.db import open_db

    st = state(ctx)
    config = st.config()
    if is_url(to) and has_password(to):
        raise UsageError("--to: a password in the database URL is refused; give it in PGPASSWORD or ~/.pgpass instead")
    if to == str(config.database) or (not is_url(to) and not is_url(config.database)
                                      and Path(to).resolve() == Path(config.database).resolve()):
        raise UsageError(f"--to {to}: that is the database being copied")
    source = st.db()
    target = open_db(to)
    try:
        result = copy_database(source, target)
    finally:
        target.conn.close()
    rows = [{"table": name, "rows": n} for name, n in result.tables.items()]
    data = {"source": result.source, "target": result.target, "schema_version": result.schema_version,
            "tables": result.tables, "verified": True}
    out = output_format(fmt, as_json)
    emit(out, rows=rows, columns=[Column("table", "table", "plain"), Column("rows", "rows", "number", justify="right")],
         data=data)
    if out == "table" and not st.quiet:
        err_console().print(f"copied {result.source} into {result.target} (schema version {result.schema_version}); "
                            "every table's row count verified", markup=False)
