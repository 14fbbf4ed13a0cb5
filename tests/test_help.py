"""The top-level --help: an example, `demo` first, and every command's summary whole."""

from __future__ import annotations

import typer

from socialscale.cli.main import app


def test_top_level_help_has_an_example_and_lists_demo_first(cli):
    text = cli("--help").stdout
    assert "Example:" in text and "  socialscale demo\n" in text
    listed = [line.split()[0] for line in text.split("Commands:", 1)[1].splitlines() if line.startswith("  ") and
              not line.startswith("   ")]
    assert listed[0] == "demo"


def test_command_summaries_are_not_cut(cli):
    """Each command list shows the whole first paragraph of each command's own help (click cut them
    at 45 characters, mid-sentence)."""
    root = typer.main.get_command(app)
    groups = [([], root)] + [([name], cmd) for name, cmd in root.commands.items()  # type: ignore[attr-defined]
                             if getattr(cmd, "commands", None)]
    for path, group in groups:
        listing = " ".join(cli(*path, "--help").stdout.split("Commands:", 1)[1].split())
        for name, command in group.commands.items():
            first = " ".join(command.help.split("\n\n", 1)[0].replace("\b", " ").split())
            assert first in listing, f"`socialscale {' '.join(path)} --help` cuts the summary of {name}"
