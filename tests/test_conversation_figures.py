"""`report conversations` from the stored per-conversation figures against its definition, step by step.

The figures are kept per conversation by triggers (store/figures.py): any write to an item or a lane
that they depend on lists the conversation, and the report recomputes the listed ones first (or, where
it may not write, computes them on the fly). These tests draw random threads and random changes, the
way the pull, tagging and the workflow write them (the store's own writers: threading's links and
moves, workflow's owner, answer and status, tagging's lane updates), plus duplicates, deletes, our own
posts, late parents that re-thread a conversation and lanes that stop or start expecting a response,
and after each step compare what the report's query adds up to with docs/reports.md's definition
computed here in Python from every item, on both backends, with and without the stale ones recomputed.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

import socialscale
from socialscale.models import Lane
from socialscale.store import figures, threads
from socialscale.store import reports as sql
from socialscale.store import workflow as flow
from socialscale.store.bulk import update_rows
from socialscale.store.db import transaction
from socialscale.store.filters import ItemFilter
from socialscale.store.lanes import sync_lanes
from socialscale.timeutil import utc_iso

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
SINCE, UNTIL = utc_iso(NOW - timedelta(days=30)), utc_iso(NOW + timedelta(seconds=1))
LANES = ("listening", "customer_service", "sales_prospecting", "publishing")
TEAM = ("alice", "bob")
SOURCES = ("s1", "s2", "s3")
COLUMNS = ("id", "source", "guid", "title", "text", "first_seen_at", "updated_at", "start_at", "lane", "owner",
           "status", "responded_at", "response_via", "duplicate_of", "ours", "parent_id", "conversation_id",
           "followup", "catalyzed", "content_hash")
HANDOFFS = ("dm", "email", "phone", "meeting")


@pytest.fixture
def session(database, tmp_path):
    config = {"database": database, "team": {m: {} for m in TEAM},
              "lanes": {name: ({"respond": False} if name == "listening" else {}) for name in LANES},
              "sources": [{"name": s, "type": "feed", "url": f"https://example.com/{s}"} for s in SOURCES]}
    path = tmp_path / "socialscale.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    opened = socialscale.open(path)
    yield opened
    opened.close()


def _quiet(config: Any) -> list[str]:
    return [lane.name for lane in config.lanes.values() if not lane.respond]


def _expected(rows: list[dict[str, Any]], by: str, quiet: list[str], started_by_us: bool = False,
              **filters: str) -> dict[Any, dict[str, int]]:
    """docs/reports.md, conversation by conversation: roots not duplicates started in the window; their
    messages the items of the conversation not duplicates."""
    out: dict[Any, dict[str, int]] = {}
    for root in rows:
        if (root["conversation_id"] != root["id"] or root["duplicate_of"] is not None
                or not SINCE <= root["start_at"] < UNTIL or any(root[k] != v for k, v in filters.items())
                or (started_by_us and root["ours"] is None)):
            continue
        messages = [m for m in rows if m["conversation_id"] == root["id"] and m["duplicate_of"] is None]
        live = [m for m in messages if m["status"] != "ignored"]
        group = out.setdefault(root[by], dict.fromkeys(
            ("conversations", "joined", "followups", "followups_answered", "catalyzed", "catalyzed_answered",
             "catalyzed_waiting", "handoffs", "waiting"), 0))
        group["conversations"] += 1
        group["joined"] += any(m["ours"] is not None for m in messages)
        group["followups"] += sum(m["followup"] == 1 for m in live)
        group["followups_answered"] += sum(m["followup"] == 1 and m["responded_at"] is not None for m in live)
        group["catalyzed"] += sum(m["catalyzed"] == 1 for m in live)
        group["catalyzed_answered"] += sum(m["catalyzed"] == 1 and m["responded_at"] is not None for m in live)
        group["catalyzed_waiting"] += sum(m["catalyzed"] == 1 and m["status"] == "open" for m in messages)
        group["handoffs"] += any(m["response_via"] in HANDOFFS for m in messages)
        group["waiting"] += any(m["status"] == "open" and m["ours"] is None and m["lane"] not in quiet
                                for m in messages)
    return out


def _got(db: Any, by: str, quiet: list[str], started_by_us: bool = False, **filters: str) -> dict[Any, dict[str, int]]:
    rows = sql.conversation_groups(db, by=by, since=SINCE, until=UNTIL, quiet_lanes=quiet,
                                   filters=ItemFilter(**filters), started_by_us=started_by_us)
    return {row.pop("group"): row for row in rows}


def _all_rows(db: Any) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, r, strict=True))
            for r in db.execute(f"SELECT {', '.join(COLUMNS)} FROM items ORDER BY id").fetchall()]


class World:
    """Random threads and random changes, written by the store's own writers, one transaction a step."""

    def __init__(self, db: Any, rng: random.Random) -> None:
        self.db, self.rng, self.next_id = db, rng, 1
        self.late: list[tuple[int, str]] = []  # (item that arrived before its parent, the parent's guid)

    def _start(self) -> str:
        return utc_iso(NOW - timedelta(seconds=self.rng.randrange(-3600, 40 * 86400)))

    def _insert(self, *, parent: int | None, conversation: int | None, guid: str | None = None) -> int:
        rng, n = self.rng, self.next_id
        self.next_id += 1
        start = self._start()
        status = rng.choice(["open"] * 4 + ["responded", "closed", "ignored"])
        answered = status == "responded" or rng.random() < 0.1
        row = {"id": n, "source": rng.choice(SOURCES), "guid": guid or f"g{n}", "title": f"t{n}", "text": "",
               "first_seen_at": start, "updated_at": start, "start_at": start, "lane": rng.choice([*LANES, None]),
               "owner": rng.choice([*TEAM, None]), "status": status,
               "responded_at": start if answered else None,
               "response_via": rng.choice(["reply", *HANDOFFS]) if answered else None,
               "duplicate_of": None, "ours": rng.choice(TEAM) if rng.random() < 0.15 else None,
               "parent_id": parent, "conversation_id": conversation if conversation is not None else n,
               "followup": int(parent is not None and rng.random() < 0.5), "catalyzed": 0, "content_hash": f"h{n}"}
        row["catalyzed"] = int(row["followup"] == 1 and rng.random() < 0.4)
        self.db.execute(f"INSERT INTO items ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                        [row[c] for c in COLUMNS])
        return n

    def _ids(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute("SELECT id FROM items ORDER BY id").fetchall()]

    def _conversations(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute(
            "SELECT DISTINCT conversation_id FROM items WHERE conversation_id IS NOT NULL ORDER BY 1").fetchall()]

    # --- the steps ---------------------------------------------------------------------------------

    def thread(self) -> None:
        """A new thread, or replies to a stored conversation; some reply to a parent not stored yet."""
        conversations = self._conversations()
        if conversations and self.rng.random() < 0.5:
            conversation = self.rng.choice(conversations)
            parent = conversation
        else:
            parent, conversation = None, None
        for _ in range(self.rng.randrange(1, 5)):
            if self.rng.random() < 0.15:  # its parent has not arrived: it is a root for now
                n = self._insert(parent=None, conversation=None)
                self.late.append((n, f"late{n}"))
                continue
            n = self._insert(parent=parent, conversation=conversation)
            if conversation is None:
                conversation = n
            parent = n

    def parent_arrives(self) -> None:
        """A late parent is stored (as a reply to a conversation, or a root): the early item's conversation
        moves to the parent's, as threading moves it."""
        if not self.late:
            return self.thread()
        child, guid = self.late.pop(self.rng.randrange(len(self.late)))
        conversations = [c for c in self._conversations() if c != threads.conversation_of(self.db, child)]
        if conversations and self.rng.random() < 0.5:
            conversation = self.rng.choice(conversations)
            parent = self._insert(parent=conversation, conversation=conversation, guid=guid)
        else:
            parent = self._insert(parent=None, conversation=None, guid=guid)
            conversation = parent
        old = threads.conversation_of(self.db, child)
        threads.set_links(self.db, [(parent, conversation, child)])
        if old is not None and old != conversation:
            threads.move_conversations(self.db, [(conversation, old)])
        return None

    def answer(self) -> None:
        item = self.rng.choice(self._ids())
        flow.set_first_response(self.db, item, self._start(), "alice", self.rng.choice(["reply", *HANDOFFS]))
        flow.set_status(self.db, item, "responded", None)

    def status(self) -> None:
        item = self.rng.choice(self._ids())
        status = self.rng.choice(["open", "closed", "ignored"])
        flow.set_status(self.db, item, status, None if status == "open" else utc_iso(NOW))

    def owner(self) -> None:
        flow.set_owner(self.db, self.rng.choice(self._ids()), self.rng.choice([*TEAM, None]), "alice")

    def lanes(self) -> None:
        """Tagging: a batch of items gets new lanes (one statement on PostgreSQL, as update_rows writes)."""
        ids = self.rng.sample(self._ids(), min(5, len(self._ids())))
        update_rows(self.db, "items", ("lane",), [(self.rng.choice([*LANES, None]), n) for n in ids])

    def flags(self) -> None:
        ids = self.rng.sample(self._ids(), min(3, len(self._ids())))
        threads.set_flags(self.db, [(f, c, n) for n in ids for f in [self.rng.randrange(2)]
                                    for c in [f * self.rng.randrange(2)]])

    def ours(self) -> None:
        item = self.rng.choice(self._ids())
        self.db.execute("UPDATE items SET ours = ? WHERE id = ?", [self.rng.choice([*TEAM, None]), item])

    def duplicate(self) -> None:
        ids = self._ids()
        if len(ids) < 2:
            return
        a, b = self.rng.sample(ids, 2)
        self.db.execute("UPDATE items SET duplicate_of = ? WHERE id = ?", [None if self.rng.random() < 0.3 else a, b])

    def start(self) -> None:
        item = self.rng.choice(self._ids())
        self.db.execute("UPDATE items SET start_at = ?, source = ? WHERE id = ?",
                        [self._start(), self.rng.choice(SOURCES), item])

    def delete(self) -> None:
        """An item no other item points at (a duplicate's original stays: duplicate_of is a foreign key)."""
        free = [int(r[0]) for r in self.db.execute(
            "SELECT id FROM items i WHERE NOT EXISTS (SELECT 1 FROM items d WHERE d.duplicate_of = i.id)").fetchall()]
        if free:
            self.db.execute("DELETE FROM items WHERE id = ?", [self.rng.choice(free)])

    def unchanged(self) -> None:
        """An update that writes the values already there lists nothing and changes nothing."""
        update_rows(self.db, "items", ("lane", "status"), [(r[1], r[2], r[0]) for r in self.db.execute(
            "SELECT id, lane, status FROM items ORDER BY id LIMIT 5").fetchall()])


STEPS = ("thread", "thread", "thread", "parent_arrives", "answer", "status", "owner", "lanes", "flags", "ours",
         "duplicate", "start", "delete", "unchanged", "respond")


def _check(db: Any, quiet: list[str], rows: list[dict[str, Any]], step: str) -> None:
    for by in ("lane", "owner", "source"):
        assert _got(db, by, quiet) == _expected(rows, by, quiet), (step, by)
    assert _got(db, "lane", quiet, started_by_us=True) == _expected(rows, "lane", quiet, started_by_us=True), step
    assert _got(db, "source", quiet, owner="alice") == _expected(rows, "source", quiet, owner="alice"), step


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_figures_equal_the_definition_after_every_change(session, seed, monkeypatch):
    db, rng = session.db, random.Random(seed)
    world = World(db, rng)
    config = session.config
    for number in range(60):
        step = rng.choice(STEPS) if number > 2 else "thread"
        if step == "respond":  # the config changes which lanes expect a response; every command syncs it
            name = rng.choice(LANES)
            lanes = dict(config.lanes)
            if name not in lanes:  # back, expecting none
                lanes[name] = Lane(name, respond=False)
            elif rng.random() < 0.3:  # gone from the config: expects a response (as an unknown lane does)
                del lanes[name]
            else:
                lanes[name] = replace(lanes[name], respond=not lanes[name].respond)
            config = replace(config, lanes=lanes)
            sync_lanes(db, config)
        else:
            with transaction(db):
                getattr(world, step)()
        rows, quiet = _all_rows(db), _quiet(config)
        if number % 2:  # a reader that may not write: the listed conversations computed on the fly
            with monkeypatch.context() as patch:
                patch.setattr(sql, "_refresh_figures", lambda db: None)
                _check(db, quiet, rows, step)
        _check(db, quiet, rows, step)
        assert not figures.has_stale(db), (step, quiet, figures.stored_quiet_lanes(db))  # the report recomputed them
    stored = db.execute(f"SELECT COUNT(*) FROM {figures.TABLE}").fetchone()[0]
    assert stored == sum(r["conversation_id"] == r["id"] and r["duplicate_of"] is None for r in _all_rows(db)) > 0


def test_a_config_the_database_was_not_synced_with_gets_the_definition(session):
    """Quiet lanes other than the `lanes` table's (a library call with another config): computed from items."""
    db, world = session.db, World(session.db, random.Random(3))
    with transaction(db):
        for _ in range(15):
            world.thread()
    rows = _all_rows(db)
    for quiet in ([], ["customer_service", "listening"], ["publishing"]):
        assert _got(db, "lane", quiet) == _expected(rows, "lane", quiet)


def test_an_unchanged_update_lists_no_conversation(session):
    db, world = session.db, World(session.db, random.Random(4))
    with transaction(db):
        world.thread()
    _got(db, "lane", _quiet(session.config))  # the report recomputes what the insert listed
    assert not figures.has_stale(db)
    with transaction(db):
        world.unchanged()
    assert not figures.has_stale(db)
    with transaction(db):
        world.answer()
    assert figures.has_stale(db)


def test_lanes_that_start_or_stop_expecting_a_response_change_waiting(session):
    """A lane added to the config expecting none, removed from it, or switched: its open messages' conversations
    are listed by the `lanes` table's triggers, and `waiting` follows."""
    db, world = session.db, World(session.db, random.Random(5))
    with transaction(db):
        for _ in range(40):
            world.thread()
        db.execute("UPDATE items SET status = 'open', ours = NULL WHERE id % 3 = 0")
    config = session.config
    changes = [("customer_service", "quiet"), ("listening", "remove"), ("listening", "quiet"),
               ("customer_service", "respond"), ("sales_prospecting", "remove"), ("publishing", "remove"),
               ("publishing", "quiet"), ("sales_prospecting", "respond")]
    for name, change in changes:
        lanes = dict(config.lanes)
        if change == "remove":
            del lanes[name]
        else:
            lanes[name] = Lane(name, respond=change == "respond")
        config = replace(config, lanes=lanes)
        sync_lanes(db, config)
        before = _expected(_all_rows(db), "lane", _quiet(config))
        assert _got(db, "lane", _quiet(config)) == before, (name, change)
        assert sum(g["waiting"] for g in before.values()) > 0


def test_schema_11s_list_of_stale_conversations_is_made_a_rowid_table_keeping_its_rows(tmp_path):
    """Migration 12 (SQLite): the list that schema 11 made WITHOUT ROWID is made again, its rows kept, and
    the triggers list conversations into it."""
    from socialscale.store.db import open_db

    path = tmp_path / "old.db"
    db = open_db(path)
    db.conn.executescript(f"DROP TABLE {figures.STALE}; CREATE TABLE {figures.STALE} (id INTEGER NOT NULL "
                          f"PRIMARY KEY) WITHOUT ROWID; INSERT INTO {figures.STALE} VALUES (42); PRAGMA user_version = 11;")
    db.conn.close()
    db = open_db(path)
    made = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [figures.STALE]).fetchone()[0]
    assert "WITHOUT ROWID" not in made.upper()
    assert [r[0] for r in db.execute(f"SELECT id FROM {figures.STALE}").fetchall()] == [42]
    db.execute("INSERT INTO items (id, source, guid, first_seen_at, updated_at, start_at, content_hash, conversation_id) "
               "VALUES (7, 's', 'g', 'x', 'x', 'x', 'h', 7)")
    assert sorted(r[0] for r in db.execute(f"SELECT id FROM {figures.STALE}").fetchall()) == [7, 42]
    db.conn.close()
