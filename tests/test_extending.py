"""docs/extending.md, run as written: a third-party source kind found through its entry point, and
the library example."""

from __future__ import annotations

import importlib
import re
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doctools import REPO

from socialscale import sources
from socialscale.sources.base import SourceKind

DOC = REPO / "docs" / "extending.md"
_FILE_BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```", re.S | re.M)


def doc_files() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _FILE_BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The documented package, installed as pip would lay it out: its module and a dist-info folder
    with its entry points, on sys.path (importlib.metadata finds distributions there)."""
    files = doc_files()
    site = tmp_path / "site"
    site.mkdir()
    project = _project(files["pyproject.toml"])
    (site / "socialscale_lines.py").write_text(files["socialscale_lines.py"], encoding="utf-8")
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
                                   encoding="utf-8")
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    sources._entry_points.cache_clear()
    try:
        yield site
    finally:
        sources._entry_points.cache_clear()
        sys.modules.pop("socialscale_lines", None)


def test_the_documented_files_are_there():
    assert set(doc_files()) == {"pyproject.toml", "socialscale_lines.py", "test_lines.py", "backlog.py"}


def test_a_kind_from_another_package_is_registered_beside_the_built_in_ones(installed_plugin):
    assert {"feed", "github", "json", "lines"} <= set(sources.KINDS)
    kind: SourceKind = sources.KINDS["lines"]
    assert kind.OPTION_KEYS == () and kind.validate(None, {}) == [("url", "is required (the text file to read)")]


def test_the_documented_kind_passes_its_documented_test(installed_plugin, tmp_path):
    test_module = runpy.run_path(str(_write(tmp_path, "test_lines.py")))
    work = tmp_path / "work"
    work.mkdir()
    test_module["test_every_line_is_an_item"](work)


def test_a_config_naming_the_kind_is_checked_by_it(installed_plugin, cli, write_config):
    write_config({"sources": [{"name": "news", "type": "lines"}, {"name": "x", "type": "lines", "url": "http://a/",
                                                                   "query": "q"}]})
    result = cli("check")
    assert result.exit_code == 2
    assert "sources[0].url: is required (the text file to read)" in result.stderr
    assert "sources[1].query: unknown key" in result.stderr


def test_without_the_package_the_kind_is_unknown(cli, write_config):
    write_config({"sources": [{"name": "news", "type": "lines", "url": "http://a/"}]})
    result = cli("check")
    assert result.exit_code == 2 and "sources[0].type: unknown source type 'lines'" in result.stderr


def test_the_library_example_runs(seeded_config, capsys):
    runpy.run_path(str(_write(seeded_config.parent, "backlog.py")), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == ["customer_service 2"]


@pytest.fixture
def seeded_config(write_config, tmp_path, monkeypatch) -> Path:
    from datetime import datetime, timezone

    from reportdata import Seed, seed_items

    path = write_config({"lanes": {"customer_service": {"sla": "4h"}}, "default_lane": "customer_service",
                         "team": {"alice": {}}})
    seed_items(path, datetime.now(timezone.utc), [Seed("customer_service", None, 1), Seed("customer_service", None, 2),
                                                  Seed("customer_service", "alice", 3, answer_h=1)])
    monkeypatch.chdir(tmp_path)
    return path


def _project(toml: str) -> dict[str, Any]:
    """name, version and entry points of the documented pyproject.toml (tomllib is 3.11+; this is 3.10+)."""
    project: dict[str, Any] = {"entry-points": {}}
    section = ""
    for line in toml.splitlines():
        if m := re.match(r'^\[project\.entry-points\."([^"]+)"\]$', line):
            section = m.group(1)
            project["entry-points"][section] = {}
        elif m := re.match(r'^(\w[\w-]*) = "([^"]*)"$', line):
            if section:
                project["entry-points"][section][m.group(1)] = m.group(2)
            else:
                project[m.group(1)] = m.group(2)
    return project


def _write(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text(doc_files()[name], encoding="utf-8")
    return path
