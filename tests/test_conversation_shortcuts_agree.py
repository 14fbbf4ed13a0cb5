"""The pull's conversation step takes shortcuts (issue 12: it may not slow a pull by more than 10%): it
tags again only the members of a changed conversation whose tagging can change, writes a new lone
root's conversation with its tagging, takes the new items' thread columns from the upsert. Whatever
the order and grouping in which items arrive, what it leaves must be what threading everything from
scratch (`tag --relink`, conversations.rebuild) makes of the same items."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conversation_data import CONFIG, THREADS

from socialscale import conversations, pipeline
from socialscale.config import load_config
from socialscale.models import Config, Item
from socialscale.rules.tagging import Tagger
from socialscale.sources.base import Collected
from socialscale.store.db import open_db, transaction
from socialscale.timeutil import parse_iso

NOW = "2025-01-20T09:00:00Z"
COLUMNS = ("lane", "lanes", "owner", "owner_set_by", "followup", "catalyzed", "ours", "status", "responded_at",
           "responded_by", "response_via")


def setup(tmp_path: Path, sources: tuple[str, ...] = ("a",)) -> Config:
    data = {**CONFIG, "database": str(tmp_path / "t.db"),
            "sources": [{"name": name, "url": f"http://127.0.0.1:9/{name}"} for name in sources]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_config(tmp_path / "c.yaml")


def item(source: str, guid: str, author: str, at: str, reply_to: str | None, text: str) -> Item:
    url = f"https://shop.example/c/{guid}"
    return Item(source, guid, text=text, url=url, canonical_url=url, author=author, published_at=at,
                in_reply_to=reply_to)


def pull(config: Config, groups: list[list[tuple[str, list[Item]]]]) -> None:
    """Store the items as the pull's writer does: each inner list one group of sources (one transaction,
    a savepoint per source), each (source, items) one source's batch."""
    db = open_db(config.database)
    tagger = pipeline._tagger(config)
    kinds: dict[str, str] = {}
    for group in groups:
        jobs = [(config.source(name), Collected(items=list(batch)), None, 1) for name, batch in group]
        results = pipeline._store_group(db, config, tagger, kinds, jobs, parse_iso(NOW))  # type: ignore[arg-type]
        assert all(r.status == "ok" for r in results), [r.error for r in results]
    db.conn.close()


def state(path: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every item's conversation (its parent's and root's guid) and what the rules and answers made of it."""
    db = open_db(path)
    rows = db.conn.execute(
        f"SELECT i.source, i.guid, p.guid, r.guid, {', '.join('i.' + c for c in COLUMNS)} FROM items i "
        "LEFT JOIN items p ON p.id = i.parent_id LEFT JOIN items r ON r.id = i.conversation_id").fetchall()
    db.conn.close()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def from_scratch(config: Config, tmp_path: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The same items threaded, flagged, tagged and answered from scratch, in a copy of the database."""
    copy = str(tmp_path / "scratch.db")
    shutil.copy(config.database, copy)
    db = open_db(copy)
    with transaction(db):
        db.conn.execute("UPDATE items SET parent_id = NULL, conversation_id = NULL, followup = 0, catalyzed = 0")
        conversations.rebuild(db, config, Tagger(config), NOW, reason="check")
    db.conn.close()
    return state(copy)


def agree(config: Config, tmp_path: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    got = state(config.database)
    assert got == from_scratch(config, tmp_path)
    return got


def threads_items(source: str = "a") -> list[Item]:
    return [item(source, *t) for t in THREADS]


def test_one_item_a_pull_in_reverse_order_replies_stored_before_their_parents(tmp_path):
    config = setup(tmp_path)
    for one in reversed(threads_items()):
        pull(config, [[("a", [one])]])
    got = agree(config, tmp_path)
    # d2 was stored before s1 and d1: it joined d1's conversation and took its lane and Sam as owner.
    assert got[("a", "d2")][:2] == ("s1", "d1")
    assert got[("a", "d2")][2] == "customer_service" and got[("a", "d2")][4] == "sam"


def test_a_parent_in_the_same_group_as_its_reply(tmp_path):
    """The reply's source is stored first in the group, its parent's later in the same transaction."""
    config = setup(tmp_path, ("a", "b"))
    items = {t[0]: t for t in THREADS}
    replies = [item("a", *items[g]) for g in ("s1", "d2", "l1")]
    parents = [item("b", *items["d1"])]
    pull(config, [[("a", replies), ("b", parents)]])
    got = agree(config, tmp_path)
    assert got[("a", "l1")][:2] == ("s1", "d1")
    assert got[("b", "d1")][9] == "responded"  # Sam's s1 answers it


@pytest.mark.parametrize("seed", range(6))
def test_any_order_and_grouping(tmp_path, seed):
    rng = random.Random(seed)
    config = setup(tmp_path, ("a", "b", "c"))
    items = [item(rng.choice("abc"), *t) for t in THREADS]
    rng.shuffle(items)
    groups: list[list[tuple[str, list[Item]]]] = []
    while items:
        group = []
        for _ in range(rng.randint(1, 3)):  # sources stored together
            batch = items[:rng.randint(1, 4)]
            items = items[len(batch):]
            by_source: dict[str, list[Item]] = {}
            for i in batch:
                by_source.setdefault(i.source, []).append(i)
            group += [(name, found) for name, found in by_source.items() if found]
        if group:
            groups.append(group)
    for group in groups:
        pull(config, [group])
        agree(config, tmp_path)


def test_two_sources_carrying_the_same_thread(tmp_path):
    config = setup(tmp_path, ("a", "b"))
    a, b = threads_items("a"), threads_items("b")
    pull(config, [[("b", b[5:])], [("a", a[:5])]])
    pull(config, [[("a", a[5:]), ("b", b[:5])]])
    got = agree(config, tmp_path)
    assert got[("b", "d3")][1] == "d1"  # one conversation, whichever copy came first


def test_edits_changing_a_roots_lane_moving_a_reply_and_making_a_root_a_reply(tmp_path):
    """An edit of a root's text moves its lane, and its replies' inherited lane with it; an edit changing
    in_reply_to carries the reply's own stored replies to its new conversation (each in its own pull)."""
    config = setup(tmp_path)
    pull(config, [[("a", threads_items())]])
    before = agree(config, tmp_path)
    assert before[("a", "q1")][2] == "sales_prospecting"
    edited = {t[0]: list(t) for t in THREADS}
    edited["d2"][3] = "p1"  # Dana's d2 now replies to Pat: s2 and d3 below it move with it
    pull(config, [[("a", [item("a", *edited["d2"])])]])
    got = agree(config, tmp_path)
    assert got[("a", "d3")][1:3] == ("p1", "sales_prospecting")
    edited["p1"][4] = "Anyone else's order arrive broken?"  # Pat's post now a complaint
    pull(config, [[("a", [item("a", *edited["p1"])])]])
    assert agree(config, tmp_path)[("a", "q1")][2] == "customer_service"
    edited["d1"][3] = "q1"  # a root becomes a reply
    pull(config, [[("a", [item("a", *edited["d1"])])]])
    agree(config, tmp_path)


def test_our_message_arriving_between_two_of_ours_hands_later_follow_ups_to_its_author(tmp_path):
    """d3 is a follow-up owned by Sam (our latest message before it); Bob's answer, dated between Sam's
    and d3, arrives later: d3's flag does not change, its owner does."""
    config = setup(tmp_path)
    d3 = ("d3", "dana", "2025-01-15T09:00:00Z", "d2", "It arrived, but the lid is missing")
    pull(config, [[("a", [item("a", *t) for t in (*THREADS[:3], d3)])]])
    assert agree(config, tmp_path)[("a", "d3")][4:7] == ("sam", "conversation", 1)
    pull(config, [[("a", [item("a", "b9", "bob", "2025-01-14T08:00:00Z", "d1", "We are on it")])]])
    assert agree(config, tmp_path)[("a", "d3")][4:7] == ("bob", "conversation", 1)


def test_a_bug_in_a_groups_conversation_step_fails_only_the_source_whose_items_meet_it(tmp_path, monkeypatch):
    """The group's sources are threaded together, after all of them are stored; when that step fails
    (not the database), the group is rolled back and stored again source by source, each threaded
    alone: only the source whose items meet the bug fails."""
    config = setup(tmp_path, ("a", "b", "c"))
    real = pipeline._conversations
    calls: list[int] = []

    def step(db, config, tagger, kinds, ids, now, rows=None, tagged=None):  # type: ignore[no-untyped-def]
        calls.append(len(ids))
        marks = ",".join("?" * len(ids))
        if "b" in {r[0] for r in db.execute(f"SELECT source FROM items WHERE id IN ({marks})", list(ids))}:
            raise ValueError("a bug met by b's items")
        real(db, config, tagger, kinds, ids, now, rows, tagged)

    monkeypatch.setattr(pipeline, "_conversations", step)
    found = {t[0]: t for t in THREADS}
    db = open_db(config.database)
    jobs = [(config.source(name), Collected(items=[item(name, *found[g]) for g in guids]), None, 1)
            for name, guids in (("a", ("d1", "s1")), ("b", ("d2",)), ("c", ("l1",)))]
    results = pipeline._store_group(db, config, pipeline._tagger(config), {}, jobs, parse_iso(NOW))
    db.conn.close()
    assert [(r.name, r.status, r.new) for r in results] == [("a", "ok", 2), ("b", "error", 0), ("c", "ok", 1)]
    assert "could not store this source's items, nothing of them was written" in (results[1].error or "")
    assert calls == [4, 2, 1, 1]  # the group's step, then each source's own
    got = state(config.database)
    assert set(got) == {("a", "d1"), ("a", "s1"), ("c", "l1")}
    assert got[("c", "l1")][:2] == ("s1", "d1") and got[("a", "d1")][9] == "responded"


@pytest.mark.parametrize("stored_by", ["these rules", "other rules"])
def test_a_member_tagged_again_keeps_the_deciding_rules_stored_by_these_rules(tmp_path, monkeypatch, stored_by):
    """A reply stored before its parent is tagged again when the parent adopts it (its lane may follow the
    conversation's). Its text did not change: where these rules tagged it, its stored deciding rules stand
    and it is not matched again; where other rules did, it is matched. Either way, what is left is what
    threading from scratch makes."""
    from socialscale.rules.matcher import Matcher

    config = setup(tmp_path, ("a", "b"))
    reply = item("b", "r1", "lee", "2025-01-18T10:00:00Z", "p1", "mine arrived broken too, refund please")
    post = item("a", "p1", "dana", "2025-01-18T09:00:00Z", None, "My order arrived broken")
    pull(config, [[("b", [reply])]])
    if stored_by == "other rules":
        db = open_db(config.database)
        with transaction(db):
            db.conn.execute("UPDATE items SET rules_version = 'older' WHERE guid = 'r1'")
        db.conn.close()
    asked: list[str] = []
    decide_many = Matcher.decide_many

    def recording(self: Matcher, fields: Any) -> Any:
        asked.extend(str(f[2]) for f in fields)
        return decide_many(self, fields)

    monkeypatch.setattr(Matcher, "decide_many", recording)
    pull(config, [[("a", [post])]])
    assert (reply.text in asked) == (stored_by == "other rules")
    assert post.text in asked
    got = agree(config, tmp_path)
    assert got[("b", "r1")][:2] == ("p1", "p1")  # adopted
    assert got[("b", "r1")][2] == "customer_service"


def everything(path: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every column of every item, and every event in the order written."""
    db = open_db(path)
    items = db.conn.execute("SELECT * FROM items ORDER BY id").fetchall()
    events = db.conn.execute("SELECT id, item_id, at, kind, actor, detail FROM events ORDER BY id").fetchall()
    db.conn.close()
    return items, events


@pytest.mark.parametrize("seed", range(4))
def test_new_items_inserted_tagged_are_what_inserting_them_untagged_and_tagging_them_makes(tmp_path, seed, monkeypatch):
    """New items that reply to nothing are inserted tagged (Tagger.tag_new) and, while they stay alone, not
    written again: the rows and events are those of inserting every item untagged and tagging it in the
    conversation step, whatever the order and grouping (roots that replies then join included)."""
    rng = random.Random(seed)
    items = [item(rng.choice("abc"), *t) for t in THREADS]
    rng.shuffle(items)
    groups = [[(i.source, [i]) for i in items[n:n + 3]] for n in range(0, len(items), 3)]
    results = []
    for name, untagged in (("tagged", False), ("untagged", True)):
        if untagged:
            monkeypatch.setattr(Tagger, "tag_new", lambda self, source, fresh, now: [None] * len(fresh))
        (tmp_path / name).mkdir()
        config = setup(tmp_path / name, ("a", "b", "c"))
        for group in groups:
            pull(config, [group])
        results.append(everything(config.database))
    assert results[0] == results[1]


def test_new_items_that_stay_alone_are_written_once(tmp_path):
    """The tagging of a new root nothing replies to is in its insert: no UPDATE touches its row (an UPDATE
    of every new item was ~21% of the pull's writer, benchmarks/README.md "First pull, sixth session")."""
    config = setup(tmp_path, ("a",))
    db = open_db(config.database)
    db.conn.executescript("CREATE TABLE updated (id INTEGER); CREATE TRIGGER count_updates AFTER UPDATE ON items "
                          "BEGIN INSERT INTO updated VALUES (NEW.id); END;")
    db.conn.close()
    roots = [item("a", *t) for t in THREADS if t[3] is None]
    pull(config, [[("a", roots)]])
    db = open_db(config.database)
    assert db.execute("SELECT COUNT(*) FROM updated").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM items WHERE lane IS NOT NULL AND conversation_id = id").fetchone()[0] == 3
    assert [r[0] for r in db.execute("SELECT kind FROM events ORDER BY id").fetchall()] == ["created"] * 3 + ["tagged"] * 3
    db.conn.close()
    # Quinn's reply joining Pat's post later: the reply is written (threaded), the root not again.
    pull(config, [[("a", [item("a", *THREADS[7])])]])
    db = open_db(config.database)
    assert {r[0] for r in db.execute("SELECT i.guid FROM updated u JOIN items i ON i.id = u.id").fetchall()} == {"q1"}
    db.conn.close()
