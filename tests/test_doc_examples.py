"""Every documented form works as written: YAML blocks pass `check`, command lines parse and run.

The examples are read from the files at test time (tests/doctools.py), so new ones are covered.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.doctools import REPO, code_blocks, uncomment_examples

# What a partial YAML block in the docs leans on: a team for `owner:` and `owners:`. Added only for
# top-level keys the block does not set itself.
CONTEXT = {
    "team": "team:\n  alice: {}\n  bob: {}\n  carol: {}\n",
}

YAML_BLOCKS = [b for b in code_blocks() if b.lang in ("yaml", "yml")]


def as_config(text: str) -> str:
    """A doc's YAML block as a whole config: a bare list of rules goes under `rules:`."""
    if re.match(r"^\s+- ", text):
        text = "rules:\n" + text
    keys = set(re.findall(r"^([A-Za-z_]+):", text, re.M))
    return text + "".join(v for k, v in CONTEXT.items() if k not in keys)


def test_there_are_yaml_blocks_to_check():
    assert len(YAML_BLOCKS) >= 10
    assert any("on: [new, breach]" in b.text for b in YAML_BLOCKS)


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.where)
def test_every_yaml_block_in_the_docs_passes_check(block, cli, tmp_path: Path):
    (tmp_path / "socialscale.yaml").write_text(as_config(block.text), encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 0, f"{block.where}:\n{result.stderr}"


def test_config_example_with_its_examples_uncommented_passes_check(cli, tmp_path: Path):
    text = uncomment_examples((REPO / "config.example.yaml").read_text(encoding="utf-8"))
    assert "\n  - name: support-chat\n    url_env:" in text
    assert "\n  - {name: hn-acme, type: hackernews" in text
    (tmp_path / "socialscale.yaml").write_text(text, encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "1 notify targets" in result.stdout


def test_config_example_as_shipped_passes_check(cli, tmp_path: Path):
    (tmp_path / "socialscale.yaml").write_bytes((REPO / "config.example.yaml").read_bytes())
    result = cli("check")
    assert result.exit_code == 0, result.stderr


def test_yes_no_on_off_keys_stay_text_and_values_stay_booleans(cli, tmp_path: Path):
    (tmp_path / "socialscale.yaml").write_text(
        "lanes:\n  listening: {respond: no}\n  support: {respond: yes}\n"
        "notify:\n  - {url_env: X, on: [breach]}\n  - url_env: Y\n    on: [digest]\n", encoding="utf-8")
    from socialscale.config import load_config

    config = load_config(tmp_path / "socialscale.yaml")
    assert [t.on for t in config.notify] == [("breach",), ("digest",)]
    assert config.lanes["listening"].respond is False and config.lanes["support"].respond is True
