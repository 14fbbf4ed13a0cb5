"""Bad paths, ids and pipes: one clear line, the documented exit code, nothing created by mistake."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import rss


def socialscale(*args: str, cwd: Path, stdout: int | None = subprocess.PIPE,
                env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "socialscale", *args], cwd=cwd, stdout=stdout,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args", [
    ("report", "latency", "--format", "ndjson"),
    ("items", "--format", "json"),
    ("report", "backlog"),
])
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, write_config, args):
    write_config({})
    proc = socialscale(*args, cwd=tmp_path)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before a byte is written, as after `| head -2`
    assert proc.wait(timeout=60) == 0
    assert proc.stderr is not None and proc.stderr.read() == b""


def test_db_in_a_missing_folder_is_exit_2_and_creates_nothing(cli, tmp_path: Path):
    result = cli("--db", str(tmp_path / "no" / "such" / "x.db"), "items")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {tmp_path / 'no/such/x.db'}: the folder {tmp_path / 'no/such'} does "
                                     "not exist (create it first, or fix --db / `database:`)")
    assert not (tmp_path / "no").exists()


def test_db_that_is_a_folder_or_a_junk_file_is_exit_2(cli, tmp_path: Path):
    (tmp_path / "folder.db").mkdir()
    folder = cli("--db", str(tmp_path / "folder.db"), "items")
    assert folder.exit_code == 2 and "is a folder, not a database file" in folder.stderr
    (tmp_path / "junk.db").write_bytes(b"this is not a database, just some words\n" * 50)
    junk = cli("--db", str(tmp_path / "junk.db"), "report", "backlog")
    assert junk.exit_code == 2 and "not a socialscale database" in junk.stderr
    assert len(junk.stderr.strip().splitlines()) == 1
    assert (tmp_path / "junk.db").read_bytes() == b"this is not a database, just some words\n" * 50


def test_pull_without_a_config_file_says_so_and_leaves_nothing(cli, tmp_path: Path):
    result = cli("pull")
    assert result.exit_code == 2
    assert "no config file: neither ./socialscale.yaml nor" in result.stderr
    assert "run `socialscale init`" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no database, no lock file


def test_pull_with_no_sources_leaves_no_database_or_lock(cli, tmp_path: Path, write_config):
    write_config({})
    result = cli("pull")
    assert result.exit_code == 2 and "no sources configured" in result.stderr
    assert not (tmp_path / "test.db").exists() and not (tmp_path / "test.db.pull.lock").exists()


def _read_only_runner(folder: Path) -> list[str] | None:
    """A command prefix that runs socialscale with `folder` read-only, or None where that cannot be done.

    As an ordinary user, file modes do it; root ignores modes, so there the folder is bind-mounted
    read-only in a private mount namespace (the machine's mounts are untouched).
    """
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-m", "true"], capture_output=True).returncode != 0:
        return None
    return [unshare, "-m", "sh", "-c", f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" '
            f'"{folder}" && exec "$@"', "sh"]


def test_a_read_only_database_still_serves_reads(cli, tmp_path: Path, write_config, server):
    folder = tmp_path / "data"
    folder.mkdir()
    url = server.add("/feed", rss([{"title": "Refund please", "guid": "a", "link": "https://example.com/a"}]))
    write_config({"database": str(folder / "ro.db"), "sources": [{"name": "blog", "url": url}]})
    assert cli("pull").exit_code == 0
    prefix = _read_only_runner(folder)
    if prefix is None:
        pytest.skip("cannot make a folder read-only here (root without mount namespaces)")
    if not prefix:
        (folder / "ro.db").chmod(0o444)
        folder.chmod(0o555)
    try:
        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*prefix, sys.executable, "-m", "socialscale", *args], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60,
                                  env={**os.environ, "SOCIALSCALE_USER": "alice"})

        items = run("items", "--format", "json")
        assert items.returncode == 0, items.stderr
        assert '"title": "Refund please"' in items.stdout
        assert run("report", "backlog", "--json").returncode == 0
        write = run("close", "1", "--by", "alice")
        assert write.returncode == 1
        assert "cannot be written" in write.stderr and "Traceback" not in write.stderr
    finally:
        folder.chmod(0o755)
        (folder / "ro.db").chmod(0o644)


@pytest.mark.parametrize("args", [
    ("show", "99999999999999999999999"),
    ("why", "99999999999999999999999"),
    ("show", "0"),
    ("close", "99999999999999999999999"),
    ("note", "9223372036854775808", "hello"),
])
def test_ids_out_of_range_are_usage_errors(cli, write_config, args):
    write_config({"team": {"alice": {}}})
    result = cli(*args, "--by", "alice") if args[0] in ("close", "note") else cli(*args)
    assert result.exit_code == 2, result.stderr
    assert "not an item id" in result.stderr
    assert "OverflowError" not in result.stderr and "unexpected" not in result.stderr


def test_a_handle_naming_no_source_fails_check_with_its_key_path(cli, tmp_path: Path, write_config):
    write_config({"team": {"sam": {"handles": ["reddit-millbrok:sam", "reddit:sam_b", "Blog:sam", "@sam@x.social"]}},
                  "sources": [{"name": "blog", "url": "https://example.com/feed"},
                              {"name": "reddit-millbrook", "type": "reddit", "subreddit": "millbrook"}]})
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {tmp_path / 'socialscale.yaml'}: team.sam.handles[0]: unknown source "
                                     "or source type 'reddit-millbrok' (did you mean 'reddit-millbrook'?)")


def test_a_failed_source_reports_the_http_status_the_server_sent(cli, write_config, server):
    write_config({"sources": [{"name": "gone", "url": server.url("/gone")},
                              {"name": "html", "url": server.add("/page", "<html><body>hi</body></html>",
                                                                 content_type="text/html")}]})
    result = cli("pull", "--format", "json")
    assert result.exit_code == 1
    by_name = {s["name"]: s for s in json.loads(result.stdout)["sources"]}
    assert (by_name["gone"]["status"], by_name["gone"]["http_status"]) == ("error", 404)
    assert (by_name["html"]["status"], by_name["html"]["http_status"]) == ("error", 200)  # a 200 that is no feed
    table = cli("pull", "--force").stdout
    gone_row = next(line for line in table.splitlines() if line.strip().startswith("gone"))
    assert "404" in gone_row.split()


def test_entries_carrying_nothing_are_not_stored(cli, write_config, server):
    # A feed cut off mid-entry: feedparser still returns the last, empty <item>; and one with only an id.
    body = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
            "<item><title>Where is my order?</title><guid>a</guid></item><item><guid isPermaLink='false'>b</guid></item>"
            "<item><title>b</title><link>https://example.com/b</link><guid>c</guid></item><item><title>")
    write_config({"sources": [{"name": "cut", "url": server.add("/cut", body)}]})
    result = cli("pull", "--format", "json")
    data = json.loads(result.stdout)["sources"][0]
    assert data["new"] == 2
    assert any("with no title, link, text or date skipped" in w for w in data["warnings"])
    items = json.loads(cli("items", "--format", "json").stdout)
    assert sorted(i["title"] for i in items) == ["Where is my order?", "b"]


def test_parser_messages_are_said_in_words_with_the_raw_detail_under_verbose(cli, write_config, server):
    body = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
            "<item><title>fine</title><guid>a</guid></item><item><title>Fish & chips</title><guid>b</guid></item>"
            "</channel></rss>")
    write_config({"sources": [{"name": "amp", "url": server.add("/amp", body)},
                              {"name": "json", "url": server.add("/j", '{"version": "https://jsonfeed.org/version/1", '
                                                                        '"items": [}', content_type="application/json")}]})
    plain = cli("pull")
    assert "amp: feed is malformed but readable: broken at line 1, column" in plain.stdout
    assert "(a character, `&` or `<` that XML does not allow)" in plain.stdout
    assert "not well-formed (invalid token)" not in plain.stdout + plain.stderr
    assert ("error: json: invalid JSON: broken at line 1, column 57 (a value is missing or is not JSON)"
            in plain.stderr)
    assert "Expecting value" not in plain.stderr
    verbose = cli("pull", "--force", "--verbose")
    assert "not well-formed (invalid token)" in verbose.stdout
    assert "Expecting value: line 1 column 57" in verbose.stderr
