"""Global options work before and after the command: cron lines and docs are written both ways."""

from __future__ import annotations

from pathlib import Path

import typer

from socialscale.cli.main import app, hoist_global_options


def test_quiet_after_the_command_is_the_same_as_before(cli, write_config):
    write_config({})
    after = cli("check", "--quiet")
    before = cli("--quiet", "check")
    assert after.exit_code == before.exit_code == 0
    assert after.stdout == before.stdout == ""
    assert "ok" in cli("check").stdout


def test_db_and_config_after_a_subcommand(cli, tmp_path: Path, write_config):
    elsewhere = tmp_path / "conf"
    elsewhere.mkdir()
    config = write_config({})
    moved = config.rename(elsewhere / "other.yaml")
    result = cli("report", "backlog", "--json", "--config", str(moved), f"--db={tmp_path / 'after.db'}")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "after.db").exists()
    assert not (elsewhere / "test.db").exists()


def test_a_commands_own_option_and_option_values_stay_with_it():
    root = typer.main.get_command(app)
    # demo has its own --db: it is not taken as the global one.
    assert hoist_global_options(root, ["demo", "--db", "d.db"]) == ["demo", "--db", "d.db"]
    # `-q` as the value of --note is a note, and nothing after `--` moves.
    assert hoist_global_options(root, ["close", "1", "--note", "-q", "--verbose"]) == [
        "--verbose", "close", "1", "--note", "-q"]
    assert hoist_global_options(root, ["rules", "test", "--quiet", "--", "-v"]) == [
        "--quiet", "rules", "test", "--", "-v"]
    assert hoist_global_options(root, ["--db", "x.db", "report", "backlog", "-c", "c.yaml"]) == [
        "-c", "c.yaml", "--db", "x.db", "report", "backlog"]
    assert hoist_global_options(root, ["pull", "-qv", "--force"]) == ["-qv", "pull", "--force"]
