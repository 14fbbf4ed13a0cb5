"""The top-level --help: an example, `demo` first, and every command's summary whole."""

from __future__ import annotations

from test_docs import all_commands


def test_top_level_help_has_an_example_and_lists_demo_first(cli):
    text = cli("--help").stdout
    assert "Example:" in text and "  socialscale demo\n" in text
    listed = [line.split()[0] for line in text.split("Commands:", 1)[1].splitlines() if line.startswith("  ") and
              not line.startswith("   ")]
    assert listed[0] == "demo"


def test_command_summaries_are_not_cut(cli):
    for path in ([], ["report"], ["rules"]):
        text = cli(*path, "--help").stdout
        summaries = text.split("Commands:", 1)[1]
        assert "..." not in summaries, f"`socialscale {' '.join(path)} --help` cuts a summary:\n{summaries}"
    # Each summary is the whole first paragraph of the command's own help.
    text = " ".join(cli("--help").stdout.split())
    for name, command in all_commands():
        if " " not in name:
            first = " ".join(command.help.split("\n\n", 1)[0].split())  # type: ignore[attr-defined]
            assert first in text, name
