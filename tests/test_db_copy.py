"""`socialscale db copy --to`: SQLite to PostgreSQL and back, every row kept, counts verified."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from pgserver import PASSWORD
from reportdata import CONFIG, NOW, build

from socialscale.insight.sentiment import MODEL
from socialscale.reports import remember_digest
from socialscale.store import alerts
from socialscale.store.copy import count, tables
from socialscale.store.db import open_db

TABLES = ["sources", "items", "alerts", "events", "fetches", "hosts", "lanes", "state"]


def _outputs(cli, database: str) -> dict[str, str]:
    """What a user sees of a database: every item, each one's history, and the reports."""
    runs = {"items": ("items", "--all", "--json"), "backlog": ("report", "backlog", "--now", NOW, "--json"),
            "latency": ("report", "latency", "--now", NOW, "--json"),
            "summary": ("report", "summary", "--now", NOW, "--no-remember", "--json")}
    out = {}
    for name, args in runs.items():
        result = cli("--db", database, *args)
        assert result.exit_code == 0, result.stderr
        out[name] = result.stdout
    for item in json.loads(out["items"])[:4]:
        out[f"show {item['id']}"] = cli("--db", database, "show", str(item["id"]), "--json").stdout
    return out


def _scored_by(database: str) -> dict[str, str | None]:
    db = open_db(database)
    try:
        return dict(db.execute("SELECT guid, sentiment_model FROM items").fetchall())
    finally:
        db.conn.close()


def _counts(database: str) -> dict[str, int]:
    db = open_db(database)
    try:
        return {name: count(db, name) for name in tables(db)}
    finally:
        db.conn.close()


def test_copy_sqlite_to_postgresql_and_back_keeps_every_row(cli, write_config, tmp_path, monkeypatch, pg_server):
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    write_config(CONFIG)
    build(cli, tmp_path)
    original = str(tmp_path / "test.db")
    db = open_db(original)
    now = datetime(2024, 3, 6, 12, tzinfo=timezone.utc)
    alerts.queue(db, "team-chat", "new", ["1", "2", "3"], now)
    alerts.finish(db, "team-chat", "new", alerts.claim(db, "team-chat", "new", now, ["1"]), now, None)
    remember_digest(db, now)  # what a sent digest leaves in `state` (a summary only looks)
    db.execute("UPDATE items SET sentiment_model = ? WHERE id % 2 = 0", [MODEL])  # as tagging leaves it
    db.conn.commit()
    db.conn.close()
    before = _counts(original)
    assert set(TABLES) <= set(before) and before["items"] == 19 and before["alerts"] == 3 and before["state"] >= 1

    server = pg_server.empty_database()
    result = cli("db", "copy", "--to", server, "--json")
    assert result.exit_code == 0, result.stderr
    copied = json.loads(result.stdout)
    assert copied["verified"] is True and copied["target"] == server
    assert copied["tables"] == {name: before[name] for name in tables(open_db(original))}
    assert _counts(server) == before
    seen = _outputs(cli, original)
    assert _outputs(cli, server) == seen

    back = str(tmp_path / "back.db")
    result = cli("--db", server, "db", "copy", "--to", back)
    assert result.exit_code == 0, result.stderr
    assert "every table's row count verified" in result.stderr
    assert _counts(back) == before
    assert _outputs(cli, back) == seen
    # Which model scored each item is copied too (no item JSON shows it): tag --all does not score them again.
    scored_by = [_scored_by(d) for d in (original, server, back)]
    assert scored_by[0] == scored_by[1] == scored_by[2] and set(scored_by[0].values()) == {MODEL, None}
    # Search reads the full-text index the copy filled on each side.
    searched = [cli("--db", d, "items", "--all", "--search", "item", "--json").stdout for d in (original, server, back)]
    assert searched[0] == searched[1] == searched[2] and len(json.loads(searched[0])) == 18  # all but F

    # New rows after a copy get fresh ids (the identity moved past the copied ones).
    assert cli("--db", server, "note", "1", "after the move").exit_code == 0
    assert cli("--db", server, "note", "2", "and another").exit_code == 0
    events = json.loads(cli("--db", server, "show", "2", "--json").stdout)["events"]
    assert events[-1]["kind"] == "noted" and events[-1]["id"] == before["events"] + 2


def test_copy_refuses_a_database_that_is_not_empty_and_changes_nothing(cli, write_config, tmp_path, monkeypatch,
                                                                         pg_url):
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    write_config(CONFIG)
    build(cli, tmp_path)
    assert cli("db", "copy", "--to", pg_url).exit_code == 0
    before = _counts(pg_url)
    again = cli("db", "copy", "--to", pg_url)
    assert again.exit_code == 2
    assert again.stderr.startswith(f"error: {pg_url}: not empty (rows in items, events); copy into a new, empty")
    assert _counts(pg_url) == before
    itself = cli("db", "copy", "--to", "test.db")
    assert itself.exit_code == 2 and "that is the database being copied" in itself.stderr


def test_copy_refuses_a_password_in_the_target_url(cli, write_config):
    write_config(CONFIG)
    result = cli("db", "copy", "--to", "postgresql://bob:hunter2@db.example.com/social")
    assert result.exit_code == 2
    assert "--to: a password in the database URL is refused" in result.stderr and "hunter2" not in result.stderr
