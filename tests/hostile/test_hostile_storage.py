"""The database under stress: a full disk, a file from a newer version, damaged files, and
owner-only permissions on everything socialscale creates."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from conftest import rss
from hostiletools import FAST_FETCH, rows

import socialscale.store.db as store_db
from socialscale.store.schema import MIGRATIONS


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def test_full_disk_is_a_clear_error_and_nothing_is_half_written(server, cli, write_config, tmp_path, monkeypatch):
    big = rss([{"title": f"item {i}", "guid": f"b{i}", "description": "words " * 50} for i in range(2000)])
    write_config({"fetch": FAST_FETCH, "sources": [{"name": "small", "url": server.add("/small", rss([{"title": "a", "guid": "a"}]))},
                                                   {"name": "big", "url": server.add("/big", rss([]))}]})
    assert cli("pull").exit_code == 0
    db = tmp_path / "test.db"
    before = rows(db, "SELECT COUNT(*) FROM items"), rows(db, "SELECT * FROM sources ORDER BY name"), \
        rows(db, "SELECT COUNT(*) FROM fetches")
    server.add("/big", big)
    real_open = store_db.open_db

    def full_disk(path, **kwargs):  # type: ignore[no-untyped-def]
        opened = real_open(path, **kwargs)
        pages = opened.execute("PRAGMA page_count").fetchone()[0]
        opened.execute(f"PRAGMA max_page_count = {pages + 2}")  # room for a few pages, not 2,000 items
        return opened

    monkeypatch.setattr(store_db, "open_db", full_disk)
    result = cli("pull", "big")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert line == (f"error: {db}: could not save, nothing of this step was written: database or disk is full "
                    "(free some space)")
    after = rows(db, "SELECT COUNT(*) FROM items"), rows(db, "SELECT * FROM sources ORDER BY name"), \
        rows(db, "SELECT COUNT(*) FROM fetches")
    assert after == before  # not one item, event or health record of the failed step
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]

    monkeypatch.setattr(store_db, "open_db", real_open)
    assert cli("pull", "big").exit_code == 0
    assert rows(db, "SELECT COUNT(*) FROM items WHERE source = 'big'") == [(2000,)]


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_newer_schema_is_refused_and_left_untouched(server, cli, write_config, tmp_path, journal):
    write_config({"sources": [{"name": "f", "url": server.add("/f", rss([{"title": "a", "guid": "a"}]))}]})
    assert cli("pull").exit_code == 0
    db = tmp_path / "test.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    before = digest(db)
    for args in (("items",), ("pull",), ("sources",), ("report", "backlog"), ("note", "1", "x", "--by", "me")):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert one_error_line(result) == (
            f"error: {db}: schema version 99 was written by a newer socialscale (this one knows up to "
            f"{len(MIGRATIONS)}); upgrade socialscale, the file was not changed")
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # not even a journal or WAL file appeared
    assert not server.hits("/f")[1:]  # refused before fetching anything


def test_damaged_files_are_named_and_not_altered(server, cli, write_config, tmp_path):
    write_config({"fetch": FAST_FETCH, "sources": [{"name": "f", "url": server.add("/f", rss(
        [{"title": f"item {i}", "guid": str(i), "description": "text " * 80} for i in range(1500)]))}]})
    assert cli("pull").exit_code == 0
    good = (tmp_path / "test.db").read_bytes()
    damaged = {
        "garbage.db": b"this is not a database at all\n" * 200,
        "half.db": good[: len(good) // 2],
        "bad-header.db": good[:16] + b"\x00\x07" + good[18:],
        "scribbled.db": bytes(b if (i // 2000) % 3 or i < 8192 else 0xDE for i, b in enumerate(good)),
    }
    for name, data in damaged.items():
        path = tmp_path / name
        path.write_bytes(data)
        before = digest(path)
        for args in (("items", "--limit", "0"), ("pull",), ("items", "--search", "item")):
            result = cli("--db", str(path), *args)
            # SQLite refuses a file that is no database at all when it opens it: a setup problem (exit 2);
            # damage found while reading a real one is exit 1.
            expected = 2 if name in ("garbage.db", "bad-header.db") else 1
            assert result.exit_code == expected, (name, args, result.stdout[-300:])
            line = one_error_line(result)
            assert line.startswith(f"error: {path}: "), line
            assert "the file is damaged or not a socialscale database" in line, line
            assert f"sqlite3 {path} .recover" in line
        if name in ("garbage.db", "bad-header.db", "half.db"):
            assert digest(path) == before, name


def test_an_empty_file_is_a_fresh_database(cli, write_config, tmp_path):
    write_config({})
    (tmp_path / "test.db").write_bytes(b"")
    assert cli("items").exit_code == 0
    assert rows(tmp_path / "test.db", "PRAGMA integrity_check") == [("ok",)]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_created_owner_only_even_with_a_permissive_umask(server, cli, tmp_path):
    old = os.umask(0)
    try:
        assert cli("init").exit_code == 0
        config, db = tmp_path / "socialscale.yaml", tmp_path / "socialscale.db"
        assert mode(config) == 0o600 and mode(db) == 0o600
        url = server.add("/f", rss([{"title": "a", "guid": "a"}]))
        config.write_text(re.sub(r"(?m)^  - \{name: hn-mentions.*$", f"  - {{name: f, url: '{url}'}}", config.read_text()))
        holder = sqlite3.connect(db)  # keeps -wal and -shm alive after the CLI closes its connection
        holder.execute("SELECT 1 FROM items").fetchall()
        result = cli("--db", str(db), "pull")
        assert result.exit_code == 0, result.stderr
        created = {p.name: mode(p) for p in tmp_path.iterdir() if p.name.startswith("socialscale.db")}
        holder.close()
        assert created == {"socialscale.db": 0o600, "socialscale.db-wal": 0o600, "socialscale.db-shm": 0o600,
                           "socialscale.db.pull.lock": 0o600}, created
        other = tmp_path / "sub" / "other.db"
        other.parent.mkdir()  # a missing folder is refused (exit 2), not created
        write = cli("--db", str(other), "items")
        assert write.exit_code == 0 and mode(other) == 0o600
    finally:
        os.umask(old)
