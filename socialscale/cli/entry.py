"""The console script's entry point: `socialscale --version` answers before the CLI is imported.

Importing the CLI (typer and its click, ~60-80 ms) is most of a quick command's time, and
`--version` needs none of it. Every other command runs the typer app, imported with the cyclic
garbage collector paused: building typer's and click's classes makes garbage-collection passes
that find nothing to free (~8% of the import), and the collector is back on before any command runs.
"""

from __future__ import annotations

import sys


def run() -> None:
    """`socialscale ARGS`, as installed by pip (pyproject.toml) and run by `python -m socialscale`."""
    if sys.argv[1:] == ["--version"]:
        from socialscale import __version__

        try:
            print(f"socialscale {__version__}")  # the same line as the typer app's --version option
            sys.stdout.flush()
        except BrokenPipeError:  # `socialscale --version | true`: nothing to say, and nothing at exit
            sys.stdout = None  # type: ignore[assignment]
        return
    from socialscale import collector

    with collector.paused():
        from socialscale.cli.main import run as run_app
    run_app()
