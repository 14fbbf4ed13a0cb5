"""The response workflow: assign, respond, close, ignore, reopen, note. Every change writes an event.

Each function takes many ids and returns what it did per id. An id that cannot be changed (unknown id,
unknown team member, a response before the item started) is reported in `failed` and left as it was;
the other ids are still done. Nothing is printed here.

One rule for repeated actions: a change to the state an item is already in (assign to its owner, close
a closed item, the same response again) is a no-op: it writes no event and comes back with
`changed=False`, so the CLI can say so. A note given with a no-op is still kept, as a `noted` event.

A first response sets `responded_at`, `responded_by` and `response_via`; a later one is recorded as an
event only. A response recorded afterwards but dated *earlier* than the stored one is the real first
response, so it takes its place (the replaced time is kept in the event).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from socialscale.errors import UsageError, unknown
from socialscale.models import HANDOFF_VIAS, RESPONSE_VIAS, Config
from socialscale.rules.tagging import SYSTEM_OWNERS
from socialscale.store import workflow as store
from socialscale.store.database import Database
from socialscale.store.db import transaction
from socialscale.store.items import add_event
from socialscale.timeutil import utc_iso


@dataclass
class Change:
    """What happened to one item: `changed` is False when it already was in the asked state."""

    id: int
    action: str
    changed: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    """One id that was left unchanged, and why."""

    id: str
    error: str


@dataclass
class Outcome:
    done: list[Change] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"done": [asdict(c) for c in self.done], "failed": [asdict(f) for f in self.failed]}


MAX_ITEM_ID = 2**63 - 1  # the largest integer SQLite (and PostgreSQL's bigint) stores


def parse_ids(values: Iterable[str | int], outcome: Outcome) -> list[int]:
    """Item ids in the order given, once each; anything not a positive whole number goes to `failed`.

    A number past MAX_ITEM_ID is refused as a whole (UsageError): no item can have it, and the
    database could not even be asked.
    """
    ids: list[int] = []
    seen: set[int] = set()
    for value in values:
        text = str(value).strip()
        if not text.isdigit() or int(text) == 0:
            outcome.failed.append(Failure(text, "not an item id (expected a number, see `socialscale items`)"))
            continue
        number = int(text)
        if number > MAX_ITEM_ID:
            raise UsageError(f"{text[:30]}{'…' if len(text) > 30 else ''}: not an item id (ids go up to "
                             f"{MAX_ITEM_ID})")
        if number not in seen:
            seen.add(number)
            ids.append(number)
    return ids


def _when(at: datetime | None, now: datetime) -> str:
    when = utc_iso(at or now)
    if when > utc_iso(now):
        raise UsageError(f"--at {when} is in the future (now is {utc_iso(now)})")
    return when


def _check_actor(actor: str | None) -> str:
    if not actor or not actor.strip():
        raise UsageError("who is doing this? pass --by NAME or set SOCIALSCALE_USER")
    if actor in SYSTEM_OWNERS:
        raise UsageError(f"--by {actor!r} is reserved for the rules engine")
    return actor


def _member_error(config: Config, name: str) -> str | None:
    if name in config.team:
        return None
    return unknown("team member", name, config.team, label="team",
                   none="none; add them under `team:` in the config", hint=False)


def _apply(db: Database, ids: Iterable[str | int], step: Any) -> Outcome:
    """Run `step(item_row) -> Change | str` for each id in one transaction; a str is that id's error,
    and `step` writes nothing before it has decided the id is fine."""
    outcome = Outcome()
    numbers = parse_ids(ids, outcome)
    with transaction(db):
        rows = store.workflow_rows(db, numbers)
        for number in numbers:
            row = rows.get(number)
            if row is None:
                outcome.failed.append(Failure(str(number), "no item with this id"))
                continue
            result = step(row)
            if isinstance(result, str):
                outcome.failed.append(Failure(str(number), result))
            else:
                outcome.done.append(result)
    return outcome


def _unchanged(db: Database, item_id: int, action: str, detail: dict[str, Any], when: str,
               actor: str, note: str | None) -> Change:
    """A no-op: no event for the action; a note that came with it is kept on its own."""
    if note:
        add_event(db, item_id, when, "noted", actor, {"note": note})
    return Change(item_id, action, False, {**detail, **({"note_added": True} if note else {})})


def _with_note(detail: dict[str, Any], note: str | None) -> dict[str, Any]:
    return {**detail, "note": note} if note else detail


def assign(db: Database, config: Config, ids: Iterable[str | int], *, to: str, actor: str,
           now: datetime, at: datetime | None = None, note: str | None = None) -> Outcome:
    """Make `to` the owner; `owner_set_by` records the person who chose, so re-tagging keeps it."""
    actor = _check_actor(actor)
    when = _when(at, now)
    error = _member_error(config, to)

    def step(row: dict[str, Any]) -> Change | str:
        if error:
            return error
        if row["owner"] == to and row["owner_set_by"] not in SYSTEM_OWNERS:
            return _unchanged(db, row["id"], "assigned", {"owner": to}, when, actor, note)
        detail: dict[str, Any] = {"owner": to}
        if row["owner"] == to:  # chosen by a rule or the lane until now: a person's choice survives re-tagging
            detail["confirmed"] = row["owner_set_by"]
        elif row["owner"]:
            detail["previous"] = row["owner"]
        detail = _with_note(detail, note)
        store.set_owner(db, row["id"], to, actor)
        add_event(db, row["id"], when, "assigned", actor, detail)
        return Change(row["id"], "assigned", True, detail)

    return _apply(db, ids, step)


def respond(db: Database, config: Config, ids: Iterable[str | int], *, by: str, now: datetime,
            at: datetime | None = None, via: str = "reply", note: str | None = None) -> Outcome:
    """Record a response by team member `by` at `at` (default now) through `via`."""
    if via not in RESPONSE_VIAS:
        raise UsageError(f"--via {via!r}: expected one of {', '.join(RESPONSE_VIAS)}")
    by = _check_actor(by)
    when = _when(at, now)
    error = _member_error(config, by)

    def step(row: dict[str, Any]) -> Change | str:
        if error:
            return error
        if when < row["start_at"]:
            return f"a response at {when} would be before the item started ({row['start_at']})"
        if (row["responded_at"], row["responded_by"], row["response_via"]) == (when, by, via):
            return _unchanged(db, row["id"], "responded", {"via": via, "at": when}, when, by, note)
        first = row["responded_at"] is None or when < row["responded_at"]
        detail: dict[str, Any] = {"via": via, "first": first, "handoff": via in HANDOFF_VIAS}
        if row["status"] == "closed":
            detail["status"] = "closed"  # a response does not reopen a closed item
        if first and row["responded_at"] is not None:
            detail["replaces"] = row["responded_at"]
        detail = _with_note(detail, note)
        if first:
            store.set_first_response(db, row["id"], when, by, via)
        if row["status"] in ("open", "ignored"):
            store.set_status(db, row["id"], "responded", None)
        add_event(db, row["id"], when, "responded", by, detail)
        return Change(row["id"], "responded", True, detail)

    return _apply(db, ids, step)


def _set_status(db: Database, ids: Iterable[str | int], *, status: str, kind: str, actor: str,
                now: datetime, at: datetime | None, note: str | None) -> Outcome:
    actor = _check_actor(actor)
    when = _when(at, now)

    def step(row: dict[str, Any]) -> Change | str:
        if row["status"] == status:
            return _unchanged(db, row["id"], kind, {"status": status}, when, actor, note)
        detail = _with_note({"previous": row["status"]}, note)
        closed_at = None if status == "open" else when  # closed or ignored: when it left the queue
        store.set_status(db, row["id"], status, closed_at)
        add_event(db, row["id"], when, kind, actor, detail)
        return Change(row["id"], kind, True, detail)

    return _apply(db, ids, step)


def close(db: Database, config: Config, ids: Iterable[str | int], *, actor: str, now: datetime,
          at: datetime | None = None, note: str | None = None) -> Outcome:
    """Done with these items: they leave the backlog; a recorded response still counts in latency."""
    return _set_status(db, ids, status="closed", kind="closed", actor=actor, now=now, at=at, note=note)


def ignore(db: Database, config: Config, ids: Iterable[str | int], *, actor: str, now: datetime,
           at: datetime | None = None, note: str | None = None) -> Outcome:
    """Not worth an answer: they leave the backlog and are left out of latency."""
    return _set_status(db, ids, status="ignored", kind="ignored", actor=actor, now=now, at=at, note=note)


def reopen(db: Database, config: Config, ids: Iterable[str | int], *, actor: str, now: datetime,
           at: datetime | None = None, note: str | None = None) -> Outcome:
    """Back to open (and into the backlog); the first response, if any, is kept."""
    return _set_status(db, ids, status="open", kind="reopened", actor=actor, now=now, at=at, note=note)


def note(db: Database, config: Config, item_id: str | int, text: str, *, actor: str, now: datetime,
         at: datetime | None = None) -> Outcome:
    """Add a note to an item's history; nothing else changes."""
    if not text.strip():
        raise UsageError("the note is empty")
    actor = _check_actor(actor)
    when = _when(at, now)

    def step(row: dict[str, Any]) -> Change:
        add_event(db, row["id"], when, "noted", actor, {"note": text})
        return Change(row["id"], "noted", True, {"note": text})

    return _apply(db, [item_id], step)
