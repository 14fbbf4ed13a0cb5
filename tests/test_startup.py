"""Start-up: each command imports only what it needs (issue 14: --version and --help, reports).

Nothing here is timed: each test runs the real program in a fresh interpreter and asserts which
modules it imported, so a heavy import creeping back onto a fast path fails the test whatever the
machine's speed. The figures themselves are in benchmarks/README.md.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from socialscale import __version__
from socialscale.cli import main as cli_main

# What the quick paths must not pay for: the terminal renderer, the HTTP client, the feed parser,
# the PostgreSQL driver, the rule matcher, the YAML parser and the database layer.
HEAVY = ("rich", "httpx", "feedparser", "psycopg", "socialscale.rules.matcher", "yaml", "sqlite_utils")
# A report pays for the renderer, the config and the database, never for pulling or matching.
# Nor, with no sources or regexes in the config, for re2 or a scan of every installed
# package's entry points (importlib.metadata: source kinds; sqlite-utils plugins, never loaded).
PULL_SIDE = ("httpx", "feedparser", "psycopg", "socialscale.rules.matcher", "socialscale.fetch",
             "socialscale.pipeline", "socialscale.cli.pull", "socialscale.cli.rules", "re2", "importlib.metadata",
             "socialscale.insight.sentiment", "socialscale.conversations", "socialscale.threads")
COMMAND_MODULES = sorted({f"socialscale.cli.{entry.module}" for entry in cli_main.COMMANDS})

RUN = """
import json, sys
out, args = sys.argv[1], json.loads(sys.argv[2])
sys.argv = ["socialscale", *args]
from socialscale.cli.entry import run  # what the console script and `python -m socialscale` run
try:
    run()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(out, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def imported(tmp_path: Path, *args: str, code: int = 0) -> set[str]:
    """The modules a whole `socialscale ARGS` process imported (after checking its exit code)."""
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", RUN, str(out), json.dumps(args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["code"] or 0) == code, (args, done.stdout, done.stderr)
    return set(result["modules"])


def python(cwd: Path, code: str) -> str:
    """What `python -c CODE` printed in `cwd` (after checking it succeeded)."""
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def loaded(modules: set[str], names: tuple[str, ...] | list[str]) -> list[str]:
    """Which of `names` (or a module inside one) were imported."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_the_modules_checked_exist():
    """A misspelt name would make the tests below pass whatever is imported."""
    for name in {*HEAVY, *PULL_SIDE, *COMMAND_MODULES}:
        assert importlib.util.find_spec(name) is not None, name


@pytest.mark.parametrize("args, code", [(["--version"], 0), (["--help"], 0), ([], 2)])
def test_version_and_help_import_no_command_and_nothing_heavy(tmp_path, args, code):
    modules = imported(tmp_path, *args, code=code)
    assert loaded(modules, HEAVY) == []
    assert loaded(modules, COMMAND_MODULES) == []
    assert "sqlite3" not in modules  # the error handler looks SQLite's errors up; it does not import them


def test_version_imports_not_even_the_cli(tmp_path):
    """`socialscale --version` answers from the entry point: no typer, no click, no CLI module."""
    modules = imported(tmp_path, "--version")
    assert loaded(modules, ["typer", "click", "socialscale.cli.main", "socialscale.config", "sqlite3"]) == []


def test_the_entry_points_version_is_the_apps(tmp_path):
    """The quick answer and the typer app's own --version option (used when other options come with it)
    print the same line."""
    quick = subprocess.run([sys.executable, "-m", "socialscale", "--version"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    full = subprocess.run([sys.executable, "-m", "socialscale", "--version", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert (quick.returncode, full.returncode) == (0, 0)
    assert quick.stdout == full.stdout == f"socialscale {__version__}\n"
    assert quick.stderr == full.stderr == ""


def test_the_garbage_collector_is_on_when_a_command_runs(tmp_path):
    """The CLI is imported with the collector paused; a command (a pull holds many objects) runs with it on."""
    code = ("import gc, sys; from socialscale.cli import entry, main\n"
            "seen = []\n"
            "main.run = lambda: seen.append(gc.isenabled())\n"
            "sys.argv = ['socialscale', 'items']\n"
            "entry.run(); print(seen)")
    assert python(tmp_path, code) == "[True]"


@pytest.mark.parametrize("report", ["backlog", "latency", "breaches", "conversations"])
def test_a_report_imports_neither_the_pull_nor_the_matcher(tmp_path, write_config, report):
    write_config({"lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}}})
    modules = imported(tmp_path, "report", report, "--now", "2024-06-01T12:00:00Z")
    assert "socialscale.cli.report" in modules and "socialscale.store.reports" in modules
    assert loaded(modules, PULL_SIDE) == []


@pytest.mark.parametrize("report", ["backlog", "latency", "breaches", "conversations"])
def test_a_report_opens_the_database_with_the_standard_library_alone(tmp_path, write_config, report):
    """sqlite-utils (a second click, pluggy, dateutil: ~65 ms) is imported only by the migration that builds
    the search index; a report on a database that exists already opens it with sqlite3 (store.database)."""
    import socialscale

    with socialscale.open(write_config({"lanes": {"listening": {"respond": False},
                                                  "customer_service": {"sla": "2h"}}})) as session:
        assert session.db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0  # created and migrated
    modules = imported(tmp_path, "report", report, "--now", "2024-06-01T12:00:00Z")
    assert "socialscale.store.database" in modules and "sqlite3" in modules
    assert loaded(modules, ["sqlite_utils", "click", "pluggy", "dateutil"]) == []


def test_httpx_is_quieted_wherever_it_is_loaded(tmp_path):
    """httpx logs whole URLs (tokens in query strings) at INFO. The one module that imports it sets its
    loggers to WARNING, even under --verbose's DEBUG root logger; commands that never fetch (a report)
    import neither httpx nor logging for it."""
    code = ("import logging; logging.basicConfig(level=logging.DEBUG); import socialscale.fetch; "
            "print(logging.getLogger('httpx').getEffectiveLevel(), logging.getLogger('httpcore').getEffectiveLevel())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["30", "30"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("report", ["backlog", "latency", "breaches", "conversations"])
def test_a_report_for_a_script_imports_no_renderer_it_does_not_use(tmp_path, write_config, report, fmt):
    """rich draws tables; json and csv are written without it. Nor does a report read HTML (html.parser is
    the pull's), and only latency takes medians (statistics pulls in fractions, decimal and random)."""
    write_config({"lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}}})
    modules = imported(tmp_path, "report", report, "--now", "2024-06-01T12:00:00Z", "--format", fmt)
    assert "socialscale.output.render" in modules and "socialscale.text" in modules
    assert loaded(modules, ["rich", "html.parser", "logging", "socialscale.shapes"]) == []  # shapes: types only
    assert ("statistics" in modules) == (report == "latency")


def test_a_report_as_a_table_draws_with_rich(tmp_path, write_config):
    """The other side of the test above: the terminal table is still drawn by rich, so an import left
    out by mistake cannot pass unseen."""
    write_config({"lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}}})
    assert loaded(imported(tmp_path, "report", "backlog", "--now", "2024-06-01T12:00:00Z"), ["rich"]) == ["rich"]


def test_every_command_is_in_the_table_with_its_own_summary():
    """`socialscale --help` lists the table's summaries without building the commands: each must be
    the first paragraph of the command's own help, and every command a module registers is listed."""
    registered: dict[str, str] = {}
    for module in {entry.module for entry in cli_main.COMMANDS}:
        for name in cli_main._build(module):
            registered[name] = module
    assert registered == {entry.name: entry.module for entry in cli_main.COMMANDS}
    root = typer.main.get_command(cli_main.app)
    for entry in cli_main.COMMANDS:
        command = root.commands[entry.name]  # type: ignore[attr-defined]
        first = " ".join(command.help.split("\n\n", 1)[0].replace("\b", " ").split())
        assert entry.summary == command.short_help == first, f"COMMANDS' summary of {entry.name} in cli/main.py"


def test_help_lists_every_command_as_the_built_commands_would(cli):
    """The listing from the table is the one click would print from the built commands."""
    root = typer.main.get_command(cli_main.app)
    listing = " ".join(cli("--help").stdout.split("Commands:", 1)[1].split())
    expected = " ".join(f"{name} {root.commands[name].short_help}"  # type: ignore[attr-defined]
                        for name in root.list_commands(None))  # type: ignore[arg-type]
    assert listing == " ".join(expected.split())


def test_a_mistyped_command_is_still_suggested(cli):
    result = cli("repot")
    assert result.exit_code == 2
    assert "Did you mean 'report'" in result.stderr


def test_a_report_builds_only_its_own_command(tmp_path, write_config):
    """typer inspects every parameter of a command to build it: the `report` group (a LazyGroup) builds
    the one subcommand that runs, not all nine."""
    write_config({"lanes": {"customer_service": {"sla": "2h"}}})
    code = ("import sys; sys.argv = ['socialscale', 'report', 'breaches', '--now', '2024-06-01T12:00:00Z', '-f', 'json']\n"
            "from socialscale.cli import main\n"
            "try:\n    main.run()\nexcept SystemExit:\n    pass\n"
            "group = main._build('report')['report']\n"
            "print(sorted(n for n in group.commands if group.commands.is_built(n)))")
    assert python(tmp_path, code).splitlines()[-1] == "['breaches']"


def test_the_report_group_lists_every_subcommand_with_its_whole_summary(cli):
    """Built on look-up, the report commands are still listed in their order, each with its first paragraph."""
    group = cli_main._build("report")["report"]
    names = list(group.commands)
    assert names == ["backlog", "latency", "conversations", "breaches", "volume", "summary", "html", "spikes", "voice"]
    listing = " ".join(cli("report", "--help").stdout.split("Commands:", 1)[1].split())
    for name in names:
        command = group.commands[name]
        first = " ".join(command.help.split("\n\n", 1)[0].replace("\b", " ").split())
        assert command.short_help == first and f"{name} {first}" in listing
