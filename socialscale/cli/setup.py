"""`init`, `check` and `demo`: getting started."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from socialscale.cli.state import state


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)  # first in --help, which says to start with it
    app.command("init")(init)
    app.command("check")(check)


def init(ctx: typer.Context) -> None:
    """Write a starter socialscale.yaml (never overwrites one) and create the database.

    The file goes to --config if given, else ./socialscale.yaml.

    \b
    Example:
      socialscale init && $EDITOR socialscale.yaml && socialscale check
    """
    from importlib.resources import files

    from socialscale.errors import UsageError
    from socialscale.output.render import err_console

    st = state(ctx)
    path = Path(st.config_path or "socialscale.yaml")
    if path.exists():
        raise UsageError(f"{path} already exists; left as it is (edit it, or remove it to start over)")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = files("socialscale.templates").joinpath("starter.yaml").read_text(encoding="utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # owner-only: it names your accounts
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    st.config_path = str(path)
    config = st.config()
    st.db()
    if not st.quiet:
        err_console().print(f"wrote {path} and created {config.database}\n"
                            "next: edit the sources and rules, then `socialscale check` and `socialscale pull`",
                            markup=False)


def check(ctx: typer.Context) -> None:
    """Validate the config: exit 0 if it is fine, 2 with every problem listed.

    \b
    Example:
      socialscale --config /etc/socialscale.yaml check
    """
    from socialscale.dburl import is_url, safe_url
    from socialscale.fetch import configured_private
    from socialscale.output.render import out_console

    st = state(ctx)
    config = st.config()  # raises ConfigError with every problem; the app prints them and exits 2
    if st.quiet:
        return
    missing = sorted({str(s.options["token_env"]) for s in config.sources
                      if s.options.get("token_env") and str(s.options["token_env"]) not in os.environ}
                     | {t.url_env for t in config.notify if t.url_env not in os.environ})
    lines = [f"{config.path or '(no config file: defaults)'}: ok",
             f"  database: {safe_url(str(config.database)) if is_url(config.database) else config.database}",
             f"  {len(config.sources)} sources, {len(config.rules)} rules, {len(config.lanes)} lanes, "
             f"{len(config.team)} team members, {len(config.notify)} notify targets"]
    if missing:
        lines.append(f"  note: not set in this environment: {', '.join(missing)}")
    private = configured_private(config)
    if private:
        lines.append(f"  note: {len(private)} source(s) point at a private address, fetched because you "
                     f"configured them (fetch.allow_private lists those you mean): {', '.join(private)}")
    out_console().print("\n".join(lines), markup=False)


def demo(
    ctx: typer.Context,
    keep: Annotated[str | None, typer.Option("--db", help="Keep the demo database at this path instead of a temporary one.")] = None,
) -> None:
    """Run the whole job offline on bundled sample feeds served from 127.0.0.1.

    Pulls ten sample sources (RSS, Atom, RSS 1.0, JSON Feed, a Bluesky search, App Store reviews, one
    broken), tags them into lanes, records some responses, and prints the items and the reports.
    Nothing leaves this machine.

    \b
    Example:
      socialscale demo --db demo.db
    """
    import tempfile

    from typer.core import TyperGroup

    from socialscale.demo.run import run_demo

    app = ctx.find_root().command  # the whole command line, handed down: demo/ never imports cli/
    assert isinstance(app, TyperGroup)
    st = state(ctx)
    with tempfile.TemporaryDirectory(prefix="socialscale-demo-") as tmp:
        from socialscale.dburl import is_url

        target = keep or st.db_path
        database: Path | str = target if target and is_url(target) else Path(target or Path(tmp) / "demo.db").resolve()
        code = run_demo(app, Path(tmp), database, quiet=st.quiet)
    if not st.quiet:
        print(f"\nWhat next: `socialscale init` writes a starter config for your own sources"
              f"{f'; the demo database is kept at {database}' if keep or st.db_path else ''}.", file=sys.stderr)
    raise typer.Exit(code)
