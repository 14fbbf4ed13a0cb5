"""Which model scored an item's stored sentiment (`items.sentiment_model`, migration 9): `tag --all` scores
only the items without a score of the current model from their current text, on SQLite and PostgreSQL;
a pull that changes an item's text, a model change and `--rescore` score again; a database of schema
version 8 is migrated and its items are scored once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import rss
from test_rules_cli import LANES, RULES, SOURCES, TEAM

from socialscale.insight import sentiment_pool
from socialscale.insight.sentiment import MODEL, Vader
from socialscale.models import Item
from socialscale.rules import tagging
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items
from socialscale.store.schema import MIGRATIONS

V8 = Path(__file__).parent / "fixtures" / "schema" / "v8.sql"
TEXTS = {"a": ("Refund please", "the app is broken and support is awful"), "b": ("", "Love it, great work 😍"),
         "c": ("", ""), "d": ("", "Das ist nicht gut"), "e": ("Update", "not bad at all, really")}


@pytest.fixture(scope="module")
def vader() -> Vader:
    return Vader()


def setup(write_config: Any, database: str, texts: dict[str, tuple[str, str]] = TEXTS) -> None:
    write_config({"database": database, "team": TEAM, "lanes": LANES, "sources": SOURCES, "rules": RULES})
    db = open_db(database)
    try:
        with transaction(db):
            upsert_items(db, "blog", [Item(source="blog", guid=g, title=t, text=x) for g, (t, x) in texts.items()],
                         "2026-01-01T00:00:00Z")
    finally:
        db.conn.close()


def stored(database: str) -> dict[str, tuple[float | None, str | None]]:
    """guid -> (sentiment, sentiment_model)."""
    db = open_db(database)
    try:
        return {g: (s, m) for g, s, m in db.execute("SELECT guid, sentiment, sentiment_model FROM items").fetchall()}
    finally:
        db.conn.close()


def corrupt(database: str, value: float = 0.5) -> None:
    """Overwrite every stored score, leaving the model that made it: a score read back is this value."""
    db = open_db(database)
    try:
        with transaction(db):
            db.execute("UPDATE items SET sentiment = ?", [value])
    finally:
        db.conn.close()


def tag(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("tag", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_tag_all_reads_a_score_of_the_current_model_and_rescore_scores_again(cli, write_config, database, vader):
    setup(write_config, database)
    assert tag(cli)["scored"] == len(TEXTS)
    want = {g: vader.item_score(t, x) for g, (t, x) in TEXTS.items()}
    assert stored(database) == {g: (s, MODEL) for g, s in want.items()}  # a null score is recorded as scored too
    corrupt(database)
    out = tag(cli, "--all")
    assert (out["checked"], out["scored"], out["rescored"], out["changed"]) == (5, 0, 0, 0)
    assert stored(database) == {g: (0.5, MODEL) for g in TEXTS}
    out = tag(cli, "--all", "--rescore", "--dry-run")
    assert (out["scored"], out["rescored"]) == (5, 5)
    assert stored(database) == {g: (0.5, MODEL) for g in TEXTS}  # a dry run writes nothing
    out = tag(cli, "--all", "--rescore")
    assert (out["checked"], out["scored"], out["rescored"], out["changed"]) == (5, 5, 5, 0)
    assert stored(database) == {g: (s, MODEL) for g, s in want.items()}


def test_a_pull_that_changes_an_items_text_scores_it_again(server, cli, write_config, database, vader):
    feed = [{"guid": "a", "title": "Day one", "description": "Love it, great work"},
            {"guid": "b", "title": "Day two", "description": "nothing much to say"}]
    url = server.add("/feed", rss(feed))
    write_config({"database": database, "sources": [{"name": "blog", "url": url}]})
    assert cli("pull").exit_code == 0
    assert stored(database) == {"a": (vader.item_score("Day one", "Love it, great work"), MODEL),
                                "b": (vader.item_score("Day two", "nothing much to say"), MODEL)}
    corrupt(database)
    feed[1]["description"] = "this is awful, truly broken"
    server.add("/feed", rss(feed))
    result = cli("pull", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["updated"] == 1
    new = vader.item_score("Day two", "this is awful, truly broken")
    assert new is not None and new < 0
    assert stored(database) == {"a": (0.5, MODEL), "b": (new, MODEL)}  # only the changed text was scored
    assert tag(cli, "--all")["scored"] == 0
    assert stored(database) == {"a": (0.5, MODEL), "b": (new, MODEL)}


def test_a_new_model_scores_every_item_again(cli, write_config, tmp_path, vader, monkeypatch):
    database = str(tmp_path / "test.db")
    setup(write_config, database)
    tag(cli)
    corrupt(database)
    monkeypatch.setattr(tagging, "MODEL", "vader-next")  # what a release with another model would bring
    out = tag(cli)  # the rules version names the model: every item is stale, not only with --all
    assert (out["checked"], out["scored"]) == (5, 5)
    assert stored(database) == {g: (vader.item_score(t, x), "vader-next") for g, (t, x) in TEXTS.items()}


class CountingWorker(sentiment_pool.SentimentWorker):
    started: list[CountingWorker] = []

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[Any, Any, Any]] = []
        CountingWorker.started.append(self)

    def submit(self, texts: Any) -> Any:
        self.sent += list(texts)
        return super().submit(texts)


def test_the_worker_gets_only_the_items_to_score_and_starts_only_when_some_need_it(write_config, tmp_path, vader,
                                                                                  monkeypatch):
    from socialscale.config import load_config

    database = str(tmp_path / "test.db")
    texts = {f"g{n}": ("", f"post {n}: " + ["great work", "this is awful", "meh", "not bad at all"][n % 4])
             for n in range(230)}
    setup(write_config, database, texts)
    monkeypatch.setattr(tagging, "SentimentWorker", CountingWorker)
    monkeypatch.setattr(tagging, "worth_it", lambda n: n > 0)  # any item to score starts it (the default: 50,000)
    CountingWorker.started = []
    cfg = load_config(tmp_path / "socialscale.yaml")
    db = open_db(database)
    try:
        first = tagging.Tagger(cfg).retag(db, now="2026-01-01T00:00:00Z", all_items=True, batch=50)
        assert first.scored == 230 and len(CountingWorker.started) == 1 and len(CountingWorker.started[0].sent) == 230
        again = tagging.Tagger(cfg).retag(db, now="2026-01-01T00:00:00Z", all_items=True, batch=50)
        assert (again.checked, again.scored) == (230, 0) and len(CountingWorker.started) == 1  # not started
        with transaction(db):  # three items need a score (as after a pull changed them)
            db.execute("UPDATE items SET sentiment_model = NULL, sentiment = 0.5 WHERE guid IN ('g7', 'g120', 'g229')")
        third = tagging.Tagger(cfg).retag(db, now="2026-01-01T00:00:00Z", all_items=True, batch=50)
        assert third.scored == 3 and len(CountingWorker.started) == 2
        assert sorted(x for _, x, _ in CountingWorker.started[1].sent) == sorted(
            texts[g][1] for g in ("g7", "g120", "g229"))
    finally:
        db.conn.close()
    assert stored(database) == {g: (vader.item_score(t, x), MODEL) for g, (t, x) in texts.items()}


def build_v8(path: Path) -> None:
    """A database as schema version 8 left it: scored (sentiment) and tagged, without sentiment_model."""
    conn = sqlite3.connect(path)
    conn.executescript(V8.read_text())
    conn.execute("INSERT INTO sources (name, kind, url) VALUES ('blog', 'feed', 'https://example.com/feed')")
    for n, (guid, (title, text)) in enumerate(TEXTS.items(), start=1):
        conn.execute("INSERT INTO items (id, source, guid, title, text, first_seen_at, updated_at, start_at, lane, "
                     "rules_version, sentiment, content_hash) VALUES (?, 'blog', ?, ?, ?, ?, ?, ?, 'listening', "
                     "'v8rules', 0.25, ?)", (n, guid, title, text, *["2026-01-01T00:00:00Z"] * 3, f"hash{n}"))
    conn.commit()
    conn.close()


def test_a_version_8_database_gets_the_column_keeps_its_scores_and_tag_all_scores_once(cli, write_config, tmp_path,
                                                                                       vader):
    build_v8(tmp_path / "old.db")
    write_config({"database": "old.db", "team": TEAM, "lanes": LANES, "sources": SOURCES, "rules": RULES})
    result = cli("items", "--all", "--json")
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT guid, sentiment, sentiment_model FROM items").fetchall() == [
            (g, 0.25, None) for g in TEXTS]  # nothing says which model made them: scored at the next tag --all
    assert {i["sentiment"] for i in json.loads(result.stdout)} == {0.25}
    out = tag(cli, "--all")
    assert (out["checked"], out["scored"]) == (5, 5)
    assert stored(str(tmp_path / "old.db")) == {g: (vader.item_score(t, x), MODEL) for g, (t, x) in TEXTS.items()}
    assert tag(cli, "--all")["scored"] == 0


def test_retagging_gives_the_connection_its_own_page_cache_back(write_config, tmp_path):
    """`tag` runs with a larger SQLite page cache (store.db.bulk_writing with store.tagging.CACHE_KIB),
    which a longer-lived connection (a library user's) gets back as it was."""
    from socialscale.config import load_config
    from socialscale.store import tagging as store

    database = str(tmp_path / "test.db")
    setup(write_config, database)
    db = open_db(database)
    try:
        db.conn.execute("PRAGMA cache_size = -1234")
        seen: list[int] = []
        real = store.rows_after

        def spy(db_: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(int(db_.conn.execute("PRAGMA cache_size").fetchone()[0]))
            return real(db_, *args, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(store, "rows_after", spy)
            tagging.Tagger(load_config(tmp_path / "socialscale.yaml")).retag(db, now="2026-01-01T00:00:00Z",
                                                                           all_items=True)
        assert seen == [-store.CACHE_KIB]
        assert db.conn.execute("PRAGMA cache_size").fetchone()[0] == -1234
    finally:
        db.conn.close()
