"""Shell completion completes commands and the values a user would otherwise look up: lanes, sources,
owners and statuses, from the config in use (docs/guide.md, "Shell completion")."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialscale.cli.main import app


def complete(words: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What bash completion offers after `words` (a trailing space completes a new word), as the
    shell hook asks for it: the program run with the completion variables set."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    monkeypatch.chdir(cwd)
    env = {"_SOCIALSCALE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = CliRunner().invoke(app, [], env=env, prog_name="socialscale")
    assert result.exit_code == 0, result.output
    return result.stdout.split()


@pytest.fixture
def configured(write_config, tmp_path: Path) -> Path:
    write_config({"team": {"alice": {}, "bob": {}},
                  "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}, "sales": {}},
                  "sources": [{"name": "blog", "url": "https://example.com/f"},
                              {"name": "board", "url": "https://example.com/g"}]})
    return tmp_path


@pytest.mark.parametrize("words, expected", [
    ("socialscale items --lane cu", ["customer_service"]),
    ("socialscale report backlog --lane ", ["listening", "customer_service", "sales"]),
    ("socialscale items --status ", ["open", "responded", "closed", "ignored"]),
    ("socialscale items --status re", ["responded"]),
    ("socialscale report breaches --owner ", ["alice", "bob"]),
    ("socialscale assign 4 --to a", ["alice"]),
    ("socialscale respond 4 --by b", ["bob"]),
    ("socialscale pull b", ["blog", "board"]),
    ("socialscale items --source bl", ["blog"]),
    ("socialscale rules test x --source bo", ["board"]),
    ("socialscale rep", ["report"]),
])
def test_completion_offers_configured_values(configured: Path, words: str, expected: list[str], monkeypatch):
    assert complete(words, configured, monkeypatch) == expected


def test_completion_reads_the_config_named_on_the_line(configured: Path, tmp_path: Path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert complete(f"socialscale --config {configured / 'socialscale.yaml'} items --source ", elsewhere,
                    monkeypatch) == ["blog", "board"]
    # No config here: the built-in lanes, no sources, and never an error printed into the prompt.
    assert complete("socialscale items --lane ", elsewhere, monkeypatch) == [
        "listening", "customer_service", "client_relations", "social_marketing", "sales_prospecting", "publishing"]
    assert complete("socialscale items --source ", elsewhere, monkeypatch) == []
    (elsewhere / "socialscale.yaml").write_text("lanes: [unclosed\n", encoding="utf-8")
    assert complete("socialscale items --lane ", elsewhere, monkeypatch) == []
