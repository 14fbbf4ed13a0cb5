"""The PostgreSQL backend: connecting, migrating, refusing passwords, and the errors a member can act on."""

from __future__ import annotations

import pytest

from socialscale.store.db import open_db, transaction
from socialscale.store.schema import MIGRATIONS, schema_version


def test_a_fresh_database_is_migrated_to_the_same_schema_version_as_sqlite(pg_server, monkeypatch, tmp_path):
    from pgserver import PASSWORD

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    pg = open_db(pg_server.empty_database())
    lite = open_db(tmp_path / "x.db")
    try:
        assert schema_version(pg) == schema_version(lite) == len(MIGRATIONS)
        tables = {r[0] for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()}
        assert {"items", "events", "sources", "fetches", "hosts", "lanes", "alerts", "state", "backlog",
                "first_responses"} <= tables
    finally:
        pg.conn.close()
        lite.conn.close()


def test_a_write_transaction_is_all_or_nothing(pg_url):
    db = open_db(pg_url)
    with pytest.raises(RuntimeError), transaction(db):
        db.execute("INSERT INTO state (key, value) VALUES (?, ?)", ["a", "1"])
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM state").fetchone()[0] == 0
    with transaction(db):
        db.execute("INSERT INTO state (key, value) VALUES (?, ?)", ["a", "100%"])
    assert db.execute("SELECT value FROM state WHERE key = ?", ["a"]).fetchone()[0] == "100%"
    db.conn.close()


def test_check_refuses_a_password_in_the_url_and_names_the_key(cli, write_config):
    write_config({"database": "postgresql://alice:s3cret-pw@db.example.com/social"})
    result = cli("check")
    assert result.exit_code == 2
    assert "socialscale.yaml: database: a password in the database URL is refused" in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_a_password_given_by_db_or_the_environment_is_refused_too(cli, write_config, monkeypatch):
    write_config({})
    monkeypatch.setenv("SOCIALSCALE_DB", "postgresql://alice@db.example.com/social?password=s3cret-pw")
    result = cli("items")
    assert result.exit_code == 2
    assert "--db / SOCIALSCALE_DB: a password in the database URL is refused" in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_check_accepts_a_url_with_libpq_parameters_and_shows_it(cli, write_config):
    write_config({"database": "postgresql://alice@db.example.com:6432/social?sslmode=verify-full&connect_timeout=5"})
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "database: postgresql://alice@db.example.com:6432/social?sslmode=verify-full&connect_timeout=5" in result.stdout


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unreachable_server_is_one_line_and_exit_2(cli, write_config, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PGPASSWORD", "not-shown-anywhere")
    write_config({"database": f"postgresql://alice@127.0.0.1:{port}/social"})
    result = cli("items")
    assert result.exit_code == 2
    line = _one_line(result)
    assert line.startswith(f"error: postgresql://alice@127.0.0.1:{port}/social: cannot connect: the server cannot be "
                           "reached")
    assert "not-shown-anywhere" not in result.stdout + result.stderr


def test_a_missing_database_is_one_line_and_exit_2(cli, write_config, pg_server, pg_url):
    url = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    write_config({"database": url})
    result = cli("report", "backlog")
    assert result.exit_code == 2
    assert "no such database on the server" in _one_line(result)


def test_wrong_credentials_are_one_line_and_exit_2_without_the_password(cli, write_config, pg_url, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "wrong-pw-123")
    write_config({"database": pg_url})
    result = cli("items")
    assert result.exit_code == 2
    assert "wrong or missing credentials (set PGPASSWORD or ~/.pgpass for this user)" in _one_line(result)
    assert "wrong-pw-123" not in result.stdout + result.stderr


def test_the_password_comes_from_pgpass(cli, write_config, pg_url, monkeypatch, tmp_path):
    from pgserver import PASSWORD

    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "home" / ".pgpass"
    pgpass.write_text(f"127.0.0.1:*:*:*:{PASSWORD}\n")
    pgpass.chmod(0o600)
    write_config({"database": pg_url})
    result = cli("items", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_datasette_on_a_server_writes_metadata_for_a_snapshot_and_says_how(cli, write_config, tmp_path):
    write_config({"database": "postgresql://alice@db.example.com/social"})
    result = cli("datasette", "-o", "metadata.json")  # needs no connection: it only describes the schema
    assert result.exit_code == 0, result.stderr
    assert "run: socialscale db copy --to snapshot.db && datasette snapshot.db -m metadata.json" in result.stderr
    assert '"snapshot"' in (tmp_path / "metadata.json").read_text(encoding="utf-8")


def test_host_waits_keep_the_later_time_on_both_backends(database):
    from datetime import datetime, timedelta, timezone

    from socialscale.store.sources import host_waits, save_host_waits

    db = open_db(database)
    now = datetime(2024, 3, 6, 12, tzinfo=timezone.utc)
    try:
        save_host_waits(db, {"a.example": now + timedelta(hours=2), "b.example": now + timedelta(minutes=5)})
        save_host_waits(db, {"a.example": now + timedelta(hours=1), "b.example": now + timedelta(minutes=30)})
        assert host_waits(db, now) == {"a.example": now + timedelta(hours=2), "b.example": now + timedelta(minutes=30)}
    finally:
        db.conn.close()


def test_only_a_pull_step_commits_without_waiting_for_the_disk(pg_url):
    from socialscale.models import Source
    from socialscale.store.sources import record_fetch

    db = open_db(pg_url)
    db.execute("SET synchronous_commit = on")  # as on a real server (the test server runs without it)

    def setting() -> str:
        return str(db.execute("SHOW synchronous_commit").fetchone()[0])

    with transaction(db):  # any other write: the server's default
        db.execute("INSERT INTO state (key, value) VALUES ('k', 'v')")
        assert setting() == "on"
    with transaction(db):  # a source's step of a pull (docs/team.md, "Durability of a pull")
        record_fetch(db, Source("feed", url="https://example.com/feed.xml"), now="2026-12-01T00:00:00Z",
                     status="ok", http_status=200, error=None, duration_ms=5, seen=0, new=0, updated=0)
        assert setting() == "off"
    assert setting() == "on"  # for that transaction only
    assert db.execute("SELECT last_status FROM sources WHERE name = 'feed'").fetchone()[0] == "ok"
    db.conn.close()
