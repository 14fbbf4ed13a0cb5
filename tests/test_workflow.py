"""The workflow commands: assign, respond, close, ignore, reopen, note; events, per-id errors, stdin ids."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from reportdata import add_item

import socialscale
from socialscale import workflow
from socialscale.errors import UsageError
from socialscale.store.db import open_db, transaction
from socialscale.store.items import events_for, get_item

TEAM_CONFIG = {"timezone": "Europe/London", "team": {"alice": {}, "bob": {}},
               "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h"}}}


@pytest.fixture
def items(cli, write_config, tmp_path, monkeypatch, database):
    """Three items started 2024-03-05 09:00/10:00/11:00 UTC; the actor is carol (not a team member).
    On each backend: `database` is an SQLite file, then a PostgreSQL database."""
    monkeypatch.setenv("SOCIALSCALE_USER", "carol")
    monkeypatch.delenv("USER", raising=False)
    write_config({**TEAM_CONFIG, "database": database})
    return [add_item(database, "blog", f"g{n}", seen=f"2024-03-05T{9 + n:02d}:00:00Z", published=None,
                     lane="customer_service") for n in range(3)]


def item(database, item_id):
    db = open_db(database)
    try:
        return get_item(db, item_id), events_for(db, item_id)
    finally:
        db.conn.close()


def test_assign_records_who_chose_and_an_event(cli, items, tmp_path, database):
    a, b, _ = items
    result = cli("assign", str(a), str(b), "--to", "alice", "--at", "2024-03-05T12:00:00Z", "--note", "VIP")
    assert result.exit_code == 0 and result.stdout == f"{a}: assigned to alice\n{b}: assigned to alice\n"
    row, events = item(database, a)
    assert (row["owner"], row["status"]) == ("alice", "open")
    db = open_db(database)
    assert db.execute("SELECT owner_set_by FROM items WHERE id = ?", [a]).fetchone()[0] == "carol"
    assert events[-1] == {"id": events[-1]["id"], "at": "2024-03-05T12:00:00Z", "kind": "assigned", "actor": "carol",
                          "detail": {"owner": "alice", "note": "VIP"}}
    again = cli("assign", str(a), "--to", "bob", "--by", "dave", "--at", "2024-03-05T12:30:00Z")
    assert again.exit_code == 0
    row, events = item(database, a)
    assert row["owner"] == "bob" and events[-1]["detail"] == {"owner": "bob", "previous": "alice"}
    assert events[-1]["actor"] == "dave"


def test_bad_ids_and_unknown_members_fail_alone(cli, items, tmp_path, database):
    a, b, c = items
    result = cli("assign", str(a), "999", "abc", str(b), "--to", "alice")
    assert result.exit_code == 1
    assert result.stdout == f"{a}: assigned to alice\n{b}: assigned to alice\n"
    assert result.stderr.splitlines() == ["error: abc: not an item id (expected a number, see `socialscale items`)",
                                          "error: 999: no item with this id"]
    unknown = cli("assign", str(c), "--to", "zoe")
    assert unknown.exit_code == 1 and unknown.stdout == ""
    assert unknown.stderr.strip() == f"error: {c}: unknown team member 'zoe' (team: alice, bob)"
    row, events = item(database, c)
    assert row["owner"] is None and [e["kind"] for e in events] == ["created"]


def test_respond_first_later_and_earlier(cli, items, tmp_path, database):
    a, _, _ = items
    first = cli("respond", str(a), "--by", "alice", "--at", "2024-03-05T09:30:00Z", "--via", "dm", "--note", "in DM")
    assert first.exit_code == 0 and first.stdout == f"{a}: first response via dm\n"
    row, _ = item(database, a)
    assert (row["status"], row["responded_at"], row["responded_by"], row["response_via"]) == (
        "responded", "2024-03-05T09:30:00Z", "alice", "dm")
    later = cli("respond", str(a), "--by", "bob", "--at", "2024-03-05T10:00:00Z")
    assert "later response (first response unchanged)" in later.stdout
    row, events = item(database, a)
    assert (row["responded_at"], row["responded_by"], row["response_via"]) == ("2024-03-05T09:30:00Z", "alice", "dm")
    assert [e["kind"] for e in events] == ["created", "responded", "responded"]
    assert events[1]["detail"] == {"via": "dm", "first": True, "handoff": True, "note": "in DM"}
    assert events[2]["detail"] == {"via": "reply", "first": False, "handoff": False}
    # Recorded afterwards but earlier in time: that one was the first response.
    earlier = cli("respond", str(a), "--by", "bob", "--at", "2024-03-05T09:15:00Z", "--via", "phone")
    assert "replacing 2024-03-05 09:30 UTC" in earlier.stdout  # the configured timezone (London: GMT in March)
    row, events = item(database, a)
    assert (row["responded_at"], row["responded_by"], row["response_via"]) == ("2024-03-05T09:15:00Z", "bob", "phone")
    replacing = next(e for e in events if e["at"] == "2024-03-05T09:15:00Z")  # the history is in time order
    assert replacing["detail"]["replaces"] == "2024-03-05T09:30:00Z"


def test_respond_before_the_start_or_in_the_future_is_refused(cli, items, tmp_path, database):
    a, b, _ = items  # a started 09:00, b 10:00
    result = cli("respond", str(a), str(b), "--by", "alice", "--at", "2024-03-05T09:30:00Z")
    assert result.exit_code == 1 and result.stdout == f"{a}: first response via reply\n"
    assert result.stderr.strip() == (f"error: {b}: a response at 2024-03-05T09:30:00Z would be before the item "
                                     "started (2024-03-05T10:00:00Z)")
    row, events = item(database, b)
    assert row["responded_at"] is None and row["status"] == "open" and len(events) == 1
    future = cli("respond", str(b), "--by", "alice", "--at", "2999-01-01T00:00:00Z")
    assert future.exit_code == 2 and "in the future" in future.stderr
    unknown = cli("respond", str(b), "--by", "zoe")
    assert unknown.exit_code == 1 and "unknown team member 'zoe'" in unknown.stderr


def test_who_responds_by_default(cli, items, tmp_path, monkeypatch, write_config, database):
    a, b, c = items
    monkeypatch.delenv("SOCIALSCALE_USER")
    result = cli("respond", str(a))
    assert result.exit_code == 2 and "--by is required" in result.stderr and "alice, bob" in result.stderr
    monkeypatch.setenv("USER", "bob")  # $USER counts for respond only when it is a team member
    assert cli("respond", str(a)).exit_code == 0
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    assert cli("respond", str(b)).exit_code == 0
    assert item(database, a)[0]["responded_by"] == "bob" and item(database, b)[0]["responded_by"] == "alice"
    monkeypatch.delenv("SOCIALSCALE_USER")
    monkeypatch.delenv("USER")
    write_config({**TEAM_CONFIG, "team": {"solo": {}}, "database": database})  # a one-person team needs no --by
    assert cli("respond", str(c)).exit_code == 0 and item(database, c)[0]["responded_by"] == "solo"


def test_relative_times_for_at(cli, items, tmp_path, database):
    a, b, _ = items
    before = datetime.now(timezone.utc)
    assert cli("respond", str(a), "--by", "alice", "--at", "30m ago").exit_code == 0
    at = datetime.fromisoformat(item(database, a)[0]["responded_at"].replace("Z", "+00:00"))
    assert abs((before - timedelta(minutes=30) - at).total_seconds()) < 5
    assert cli("note", str(b), "hello", "--at", "yesterday 14:00").exit_code == 0
    noted = item(database, b)[1][-1]["at"]
    assert noted[11:] in ("13:00:00Z", "14:00:00Z")  # 14:00 in London is 13:00Z in summer
    bad = cli("close", str(a), "--at", "last tuesday")
    assert bad.exit_code == 2 and "--at 'last tuesday'" in bad.stderr


def test_close_ignore_reopen(cli, items, tmp_path, database):
    a, b, _ = items
    assert cli("close", str(a), "--at", "2024-03-05T12:00:00Z").stdout == f"{a}: closed (was open)\n"
    row, _ = item(database, a)
    assert (row["status"], row["closed_at"]) == ("closed", "2024-03-05T12:00:00Z")
    assert cli("close", str(a)).stdout == f"{a}: already closed: nothing changed\n"  # no event, no error
    assert cli("ignore", str(b), "--note", "spam").exit_code == 0
    row, events = item(database, b)
    assert row["status"] == "ignored" and events[-1]["detail"] == {"previous": "open", "note": "spam"}
    assert row["closed_at"] is not None  # when it left the queue
    assert cli("reopen", str(a), str(b)).exit_code == 0
    for item_id in (a, b):
        row, events = item(database, item_id)
        assert (row["status"], row["closed_at"], events[-1]["kind"], events[-1]["actor"]) == ("open", None,
                                                                                             "reopened", "carol")
    assert [e["kind"] for e in item(database, a)[1]] == ["created", "closed", "reopened"]


def test_reopen_keeps_the_first_response(cli, items, tmp_path, database):
    a, _, _ = items
    cli("respond", str(a), "--by", "alice", "--at", "2024-03-05T09:30:00Z")
    cli("close", str(a))
    cli("reopen", str(a))
    row, _ = item(database, a)
    assert (row["status"], row["responded_at"]) == ("open", "2024-03-05T09:30:00Z")


def test_ids_from_stdin(cli, items, tmp_path):
    a, b, c = items
    result = cli("assign", "-", str(c), "--to", "bob", input=f"{a}\n\n{b}\n{a}\n")
    assert result.exit_code == 0 and result.stdout.splitlines() == [f"{a}: assigned to bob", f"{b}: assigned to bob",
                                                                    f"{c}: assigned to bob"]
    listed = cli("items", "--owner", "bob", "--format", "ids").stdout
    piped = cli("close", "-", input=listed)
    assert piped.exit_code == 0 and len(piped.stdout.splitlines()) == 3
    bad = cli("ignore", "-", input="12x\n")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: 12x: not an item id")


def test_note_and_show(cli, items, tmp_path):
    a, _, _ = items
    assert cli("note", str(a), "called back; waiting for the order number").stdout == f"{a}: note added\n"
    assert cli("note", str(a), "  ").exit_code == 2
    missing = cli("note", "404", "x")
    assert missing.exit_code == 1 and "404: no item with this id" in missing.stderr
    cli("respond", str(a), "--by", "alice", "--via", "email", "--note", "sent the invoice")
    shown = cli("show", str(a)).stdout
    assert "noted" in shown and "called back; waiting for the order number" in shown
    assert "sent the invoice" in shown and "answered by an email" in shown and "carol" in shown
    assert "via=" not in shown and "{" not in shown  # sentences, not Python or JSON


def test_show_history_is_sentences_in_tables_and_objects_in_json(cli, items, database):
    a, _, _ = items
    cli("assign", str(a), "--to", "alice", "--at", "2024-03-05T09:10:00Z")
    cli("assign", str(a), "--to", "bob", "--at", "2024-03-05T09:20:00Z")
    cli("respond", str(a), "--by", "bob", "--via", "dm", "--at", "2024-03-05T09:30:00Z")
    cli("close", str(a), "--at", "2024-03-05T09:40:00Z", "--note", "refund sent")
    shown = cli("show", str(a), "--format", "table").stdout
    for sentence in ("stored from blog", "assigned to alice", "assigned to bob (was alice)",
                     "answered by a direct message; the conversation moved off the public thread",
                     "closed (was responded). Note: refund sent"):
        assert sentence in shown, sentence
    # Times in the configured timezone (Europe/London: GMT in March, so the same clock here).
    assert "03-05 09:30" in shown or "2024-03-05 09:30" in shown
    data = json.loads(cli("show", str(a), "--format", "json").stdout)
    assert data == json.loads(cli("show", str(a), "--json").stdout)
    assert [e["detail"] for e in data["events"][1:]] == [
        {"owner": "alice"}, {"owner": "bob", "previous": "alice"}, {"via": "dm", "first": True, "handoff": True},
        {"previous": "responded", "note": "refund sent"}]
    assert data["events"][0]["detail"] == {"source": "blog"} and data["first_seen_at"].endswith("Z")


def test_repeating_an_action_says_so_and_writes_no_event(cli, items, database):
    a, b, _ = items
    cli("assign", str(a), "--to", "alice")
    cli("close", str(b))
    count = len(item(database, a)[1]), len(item(database, b)[1])
    again = cli("assign", str(a), "--to", "alice")
    assert again.exit_code == 0 and again.stdout == f"{a}: already owned by alice: nothing changed\n"
    assert cli("close", str(b)).stdout == f"{b}: already closed: nothing changed\n"
    assert cli("reopen", str(a)).stdout == f"{a}: already open: nothing changed\n"
    assert (len(item(database, a)[1]), len(item(database, b)[1])) == count
    data = json.loads(cli("assign", str(a), "--to", "alice", "--json").stdout)
    assert data["done"][0]["changed"] is False
    # The same response twice is recorded once.
    first = cli("respond", str(a), "--by", "alice", "--at", "2024-03-05T11:00:00Z")
    assert first.stdout.startswith(f"{a}: first response")
    repeat = cli("respond", str(a), "--by", "alice", "--at", "2024-03-05T11:00:00Z")
    assert "already recorded: nothing changed" in repeat.stdout
    assert [e["kind"] for e in item(database, a)[1]].count("responded") == 1
    # A note that comes with a no-op is kept on its own.
    noted = cli("close", str(b), "--note", "customer happy")
    assert noted.stdout == f"{b}: already closed: nothing changed; the note was added\n"
    assert item(database, b)[1][-1]["kind"] == "noted"


def test_a_response_on_a_closed_item_says_it_stays_closed(cli, items, database):
    a, _, _ = items
    cli("close", str(a))
    result = cli("respond", str(a), "--by", "alice")
    assert result.exit_code == 0 and "stays closed" in result.stdout
    row, events = item(database, a)
    assert row["status"] == "closed" and row["responded_by"] == "alice"
    assert "the item stays closed" in cli("show", str(a)).stdout


def test_assigning_the_owner_a_rule_chose_pins_it(cli, items, database):
    a, _, _ = items
    db = open_db(database)
    with transaction(db):
        db.execute("UPDATE items SET owner = 'alice', owner_set_by = 'rule' WHERE id = ?", [a])
    db.conn.close()
    result = cli("assign", str(a), "--to", "alice")
    assert "now kept when re-tagging" in result.stdout
    assert item(database, a)[1][-1]["detail"] == {"owner": "alice", "confirmed": "rule"}


def test_json_output(cli, items):
    a, _, _ = items
    data = json.loads(cli("close", str(a), "999", "--json").stdout)
    assert data["done"] == [{"id": a, "action": "closed", "changed": True, "detail": {"previous": "open"}}]
    assert data["failed"] == [{"id": "999", "error": "no item with this id"}]


def test_core_functions_return_data(items, tmp_path, database):
    session = socialscale.open(tmp_path / "socialscale.yaml", db=database)
    config, db = session.config, session.db
    now = datetime(2024, 3, 5, 12, tzinfo=timezone.utc)
    outcome = workflow.respond(db, config, [items[0], "x"], by="bob", now=now, via="meeting")
    assert [c.id for c in outcome.done] == [items[0]] and outcome.done[0].detail["handoff"] is True
    assert outcome.failed[0].id == "x"
    with pytest.raises(UsageError):
        workflow.respond(db, config, [items[1]], by="bob", now=now, via="fax")
    with pytest.raises(UsageError):
        workflow.assign(db, config, [items[1]], to="bob", actor="rule", now=now)  # reserved for the rules engine
    assert db.execute("SELECT COUNT(*) FROM events WHERE kind != 'created'").fetchone()[0] == 1
