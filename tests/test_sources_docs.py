"""docs/sources.md and config.example.yaml: every source example is a config `check` accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
KINDS_2026 = ("bluesky", "appstore", "discourse", "youtube", "lemmy", "lobsters")


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


def test_every_sources_md_example_passes_check(cli, write_config):
    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    sources, team = [], {}
    for block in yaml_blocks(text):
        doc = yaml.safe_load(block)
        for i, source in enumerate(doc.get("sources") or []):
            sources.append({**source, "name": f"{source['name']}-{len(sources)}-{i}"})
        team.update(doc.get("team") or {})
    kinds = {s.get("type", "feed") for s in sources}
    assert set(KINDS_2026) <= kinds  # a copy-paste config for each kind
    write_config({"team": team, "sources": sources})
    result = cli("check")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_each_new_kind_has_a_section_saying_what_it_needs_and_its_limits():
    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    for kind in KINDS_2026:
        section = text.split(f"\n## {kind}\n", 1)[1].split("\n## ", 1)[0]
        assert "Needs:" in section and "Limits" in section, kind


def test_config_example_shows_each_new_kind_and_the_examples_pass_check(cli, write_config):
    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    lines = re.findall(r"^  # (- \{name: .*?type: (\w+).*)$", text, re.MULTILINE)
    assert set(KINDS_2026) <= {kind for _, kind in lines}
    # Uncommented, the one-line examples (with their continuation lines) are valid sources.
    block, sources = [], []
    for line in text.splitlines():
        if line.startswith("  # - {") or (block and line.startswith("  #    ")):
            block.append(line.replace("  # ", "  ", 1).split("   # ")[0] if "}" in line else line.replace("  # ", "  ", 1))
            if "}" in line:
                sources += yaml.safe_load("\n".join(block))
                block = []
    assert {s["type"] for s in sources} >= set(KINDS_2026)
    write_config({"sources": sources})
    result = cli("check")
    assert result.exit_code == 0, result.stdout + result.stderr
