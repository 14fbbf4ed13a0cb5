"""Every documented form works as written: YAML blocks pass `check`, command lines parse and run.

The examples are read from the files at test time (tests/doctools.py), so new ones are covered.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from socialscale.cli.main import app
from socialscale.config import ConfigLoader
from socialscale.demo import PLAN, serve
from socialscale.sources import KINDS
from tests.doctools import (
    REPO,
    code_blocks,
    help_examples,
    is_synopsis,
    shell_lines,
    socialscale_commands,
    uncomment_examples,
)
from tests.pgserver import PASSWORD as PG_PASSWORD
from tests.test_docs import all_commands

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


# Command lines ---------------------------------------------------------------------------------

def documented_lines() -> list[tuple[str, str]]:
    """(where, shell line) for every command line in docs/, README and the --help examples."""
    out: list[tuple[str, str]] = []
    for block in code_blocks():
        for line in shell_lines(block):
            if socialscale_commands(line) or is_synopsis(line):
                out.append((block.where, line))
    runner = CliRunner()
    for name in [""] + [name for name, _ in all_commands()]:
        help_text = runner.invoke(app, [*name.split(), "--help"]).stdout
        for line in help_examples(help_text):
            if socialscale_commands(line):
                out.append((f"socialscale {name} --help".replace("  ", " "), line))
    return out


LINES = documented_lines()


@pytest.fixture
def documented_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """config.example.yaml (examples on) with every source pointed at the demo's feeds on 127.0.0.1."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with serve(now) as base:
        feeds = [f"{base}/{name}.xml" for name, (fmt, _) in PLAN.items() if fmt in ("rss", "atom", "rdf")]
        config = yaml.load(uncomment_examples((REPO / "config.example.yaml").read_text(encoding="utf-8")),
                           Loader=ConfigLoader)
        for i, source in enumerate(config["sources"]):
            kind = KINDS[source.get("type", "feed")]
            for key, value in list(source.items()):
                if isinstance(value, str) and value.startswith(("http://", "https://")):
                    source[key] = base + "/" + value.split("/", 3)[-1] if value.count("/") >= 3 else base
            if source.get("type", "feed") == "feed":
                source["url"] = feeds[i % len(feeds)]
            elif "api_url" in kind.OPTION_KEYS:
                source["api_url"] = base
        config["database"] = "documented.db"
        (tmp_path / "socialscale.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        monkeypatch.setenv("SOCIALSCALE_USER", "alice")  # as docs/guide.md asks before the workflow examples
        monkeypatch.setenv("SOCIALSCALE_SLACK_URL", "json://127.0.0.1:9/")  # refused at once: a failed alert
        yield tmp_path


def _flags_of(command: list[str]) -> set[str]:
    result = CliRunner().invoke(app, [*command, "--help"])
    return set(re.findall(r"--[a-z][a-z-]*", result.stdout)) | {"--help", "--config", "--db", "--quiet", "--verbose"}


def test_there_are_command_lines_to_run():
    wheres = {where.split(":")[0] for where, _ in LINES}
    assert {"README.md", "docs/guide.md", "docs/notify.md", "socialscale pull --help"} <= wheres
    assert any("pull --quiet" in line for _, line in LINES)


@pytest.mark.timeout(600)  # hundreds of commands, one PostgreSQL database; minutes on a loaded machine
def test_every_documented_command_line_runs_without_a_usage_error(documented_setup: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  request: pytest.FixtureRequest):
    runner = CliRunner()
    server: list[str] = []  # a documented postgresql:// URL stands for one fresh database on the test server

    def on_test_server(argv: list[str]) -> list[str] | None:
        if not any(word.startswith("postgresql://") for word in argv):
            return argv
        if not server:
            try:
                pg = request.getfixturevalue("pg_server")
            except pytest.skip.Exception:
                return None  # no PostgreSQL here: those lines are checked where it is installed
            monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
            server.append(pg.new_database())
        return [server[0] if word.startswith("postgresql://") else word for word in argv]

    assert runner.invoke(app, ["pull"]).exit_code in (0, 1)  # the API sources 404 on the feed server
    failures: list[str] = []
    done: set[tuple[str, ...]] = set()
    for where, line in LINES:
        if is_synopsis(line):
            # A usage summary: every option it names must exist on that command.
            words = line.split()
            path = []
            for word in words[words.index("socialscale") + 1:]:
                if not re.match(r"^[a-z][a-z-]*$", word):
                    break
                path.append(word)
            unknown = set(re.findall(r"--[a-z][a-z-]*", line)) - _flags_of(path)
            if unknown:
                failures.append(f"{where}: {line}\n  unknown options {sorted(unknown)}")
            continue
        previous_output: str | None = None
        for documented in socialscale_commands(line.replace("/tmp/", f"{tmp_path}/")):
            argv = on_test_server(documented)
            if argv is None:
                continue
            if tuple(argv) in done and "-" not in argv:
                continue
            done.add(tuple(argv))
            workdir = documented_setup
            if argv[:1] == ["init"]:  # init writes a new config: it runs in an empty folder
                workdir = tmp_path / f"fresh-{len(done)}"
                workdir.mkdir()
            monkeypatch.chdir(workdir)
            for i, word in enumerate(argv[:-1]):  # the documented config path stands for this config
                if word in ("--config", "-c"):
                    argv[i + 1] = str(documented_setup / "socialscale.yaml")
            stdin = previous_output if "-" in argv else None
            result = runner.invoke(app, argv, input=stdin)
            previous_output = result.stdout
            if result.exit_code == 2 or "Traceback" in (result.stderr or ""):
                failures.append(f"{where}: socialscale {shlex.join(argv)}\n  exit {result.exit_code}: "
                                f"{(result.stderr or result.stdout).strip()[:300]}")
        monkeypatch.chdir(documented_setup)
    assert not failures, "documented command lines that fail as written:\n" + "\n".join(failures)
