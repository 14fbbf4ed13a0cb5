"""The pull's threading step skips work it can prove changes nothing (issue 12: conversations must not
slow the pull), and still threads, flags and answers everything a full pass would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from apitools import items, pull_json
from conversation_data import CONFIG, THREADS
from conversation_data import atom as thread_atom
from test_threads import atom, conversations

from socialscale import threads
from socialscale.models import Item
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items

NOW = "2025-01-20T09:00:00Z"
KINDS = {"blog": "feed"}


def store(db, batch: list[Item]) -> tuple[set[int], dict[str, int]]:
    """Upsert one source's batch and thread it as the pull does; (changed conversations, guid -> id)."""
    with transaction(db):
        stored = upsert_items(db, "blog", batch, NOW)
        changed = threads.link(db, KINDS, stored.new_ids + stored.updated_ids)
    ids = {g: i for g, i in db.conn.execute("SELECT guid, id FROM items").fetchall()}
    return changed, ids


def test_a_new_item_alone_is_no_changed_conversation_but_one_with_replies_is(tmp_path: Path):
    db = open_db(str(tmp_path / "t.db"))
    changed, ids = store(db, [Item("blog", "post"), Item("blog", "lone"),
                              Item("blog", "c1", in_reply_to="post")])
    assert changed == {ids["post"]}  # `lone` is a conversation of one: nothing to flag or answer
    # A reply whose parent is not stored yet is alone too; its parent arriving later changes its conversation.
    changed, ids = store(db, [Item("blog", "early", in_reply_to="late")])
    assert changed == set()
    changed, ids = store(db, [Item("blog", "late")])
    assert changed == {ids["late"]}
    assert db.conn.execute("SELECT conversation_id FROM items WHERE guid = 'early'").fetchone()[0] == ids["late"]
    # An item stored before is never skipped: its conversation may hold stored replies or stale flags.
    changed, ids = store(db, [Item("blog", "lone", title="edited")])
    assert changed == {ids["lone"]}


def test_an_edited_reply_that_loses_its_parent_loses_its_follow_up_flag(server, cli, write_config):
    url = server.add("/comments", thread_atom(THREADS[:3]))  # Dana, Sam's answer, Dana's follow-up d2
    write_config({**CONFIG, "sources": [{"name": "comments", "url": url}]})
    pull_json(cli)
    assert items()["d2"]["followup"] == 1
    alone = (*THREADS[2][:3], None, THREADS[2][4])
    server.routes["/comments"].body = thread_atom([*THREADS[:2], alone]).encode()
    pull_json(cli)
    assert (items()["d2"]["followup"], items()["d2"]["conversation_id"]) == (0, items()["d2"]["id"])


def test_our_reply_stored_before_the_post_answers_it_when_the_post_arrives(server, cli, write_config):
    """Sam's answer comes in one pull, Dana's complaint in a later one: the complaint, new and a root,
    is answered (its conversation is not a lone new item)."""
    url = server.add("/comments", thread_atom([THREADS[1]]))  # s1, Sam's reply to d1
    write_config({**CONFIG, "sources": [{"name": "comments", "url": url}]})
    pull_json(cli)
    server.routes["/comments"].body = thread_atom(THREADS[:2]).encode()
    pull_json(cli)
    got = items()
    assert got["s1"]["conversation_id"] == got["d1"]["id"]
    assert (got["d1"]["status"], got["d1"]["responded_by"], got["d1"]["response_via"]) == ("responded", "sam", "reply")


def test_a_pull_knows_the_kind_of_a_source_no_longer_configured_in_every_batch(server, cli, write_config):
    """Source kinds are read once per pull: a source dropped from the config still gives its items' kind
    (a reply names its parent by guid within the same kind) to every source stored later in that pull."""
    old = server.add("/old", atom([{"id": "post"}]))
    write_config({"sources": [{"name": "old", "url": old}]})
    pull_json(cli)
    first = server.add("/first", atom([{"id": "x"}]))
    second = server.add("/second", atom([{"id": "c1", "reply_to": "post"}]))
    write_config({"sources": [{"name": "first", "url": first}, {"name": "second", "url": second}],
                  "fetch": {"concurrency": 1}})
    pull_json(cli)
    assert conversations()["c1"] == ("post", "post")


def test_members_retagged_for_their_conversation_keep_their_stored_sentiment(server, cli, write_config):
    """Their text did not change: the score stored when they were tagged stands; one with none stored (an
    item from before sentiment) is scored then."""
    url = server.add("/comments", thread_atom([THREADS[0], THREADS[6]]))  # d1 and p1, two roots
    write_config({**CONFIG, "sources": [{"name": "comments", "url": url}]})
    pull_json(cli)
    scored = items()["d1"]["sentiment"]
    assert scored is not None and scored < 0  # "arrived broken, I want a refund"
    with sqlite3.connect("test.db") as conn:  # d1 as scored, say, by an earlier lexicon; p1 from before sentiment
        conn.execute("UPDATE items SET sentiment = 0.5 WHERE guid = 'd1'")
        conn.execute("UPDATE items SET sentiment = NULL, sentiment_model = NULL WHERE guid = 'p1'")
    conn.close()
    server.routes["/comments"].body = thread_atom([THREADS[0], THREADS[6], THREADS[1], THREADS[8]]).encode()
    pull_json(cli)  # Sam answers d1, Bob answers p1: both re-tagged as members of their conversations
    got = items()
    assert (got["d1"]["status"], got["p1"]["status"]) == ("responded", "responded")
    assert got["d1"]["sentiment"] == 0.5
    assert got["p1"]["sentiment"] is not None
