"""Docs are part of the feature: every command has help with an example and is documented."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import typer

from socialscale.cli.main import app

REPO = Path(__file__).resolve().parent.parent


def all_commands() -> list[tuple[str, object]]:
    """(full name, click command) for every leaf command, sub-groups included."""
    root = typer.main.get_command(app)
    out = []

    def walk(prefix: str, group: object) -> None:
        for name, cmd in sorted(getattr(group, "commands", {}).items()):
            full = f"{prefix} {name}".strip()
            if getattr(cmd, "commands", None):
                walk(full, cmd)
            else:
                out.append((full, cmd))

    walk("", root)
    return out


def test_every_command_has_a_one_line_description_and_an_example(cli):
    commands = all_commands()
    assert len(commands) >= 6
    for name, _ in commands:
        result = cli(*name.split(), "--help")
        assert result.exit_code == 0, name
        assert "Example:" in result.stdout, f"`socialscale {name} --help` has no example"
    listing = cli("--help").stdout
    for name, _ in commands:
        assert name.split()[0] in listing


def test_every_command_is_documented():
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "docs").glob("*.md"))
    docs += (REPO / "README.md").read_text(encoding="utf-8")
    missing = [name for name, _ in all_commands() if f"socialscale {name}" not in docs]
    assert not missing, f"commands not mentioned in docs/ or README: {missing}"


def test_readme_starts_with_the_two_commands_and_ci_runs_them():
    head = (REPO / "README.md").read_text(encoding="utf-8").split("## A five-minute tour")[0]
    blocks = [b.split("```", 1)[0].strip() for b in head.split("```sh")[1:]]
    assert blocks[0].endswith("socialscale demo")
    assert blocks[1].endswith("python -m pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1] in ci  # CI runs README's exact install-and-test command


def test_version_and_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "socialscale", "--version"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"socialscale {importlib.metadata.version('socialscale')}"
