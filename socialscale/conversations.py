"""Conversations: follow-ups, catalyzed replies, and one message of ours answering the thread.

Definitions (docs/workflow.md explains them with an example; follow-up and catalyzed are
socialscale.followups'):
- a message of ours answers every open item not ours published before it in its conversation (and
  its direct parent, whatever that item's status, as a reply always did): responded at our message's
  start, by its member, via `reply`. The earliest answer wins; a person's earlier record stands.

`update` is the pull's step after the upsert (ours -> threads -> flags -> tagging -> answers);
`rebuild` does the same for every stored item (the migration to conversations, `tag --relink`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from socialscale import replies, threads
from socialscale.followups import analyse
from socialscale.models import Config
from socialscale.store import replies as reply_store
from socialscale.store import threads as store
from socialscale.store.database import Database
from socialscale.store.db import transaction
from socialscale.store.schema import UPGRADE_STATE_KEY

if TYPE_CHECKING:
    from socialscale.rules.tagging import Tagger


def refresh(db: Database, conversations: Iterable[int], flagged: set[int] | None = None,
            pending: Mapping[int, tuple[int | None, int]] | None = None) -> dict[int, list[dict[str, Any]]]:
    """Store the follow-up and catalyzed flags of these conversations; returns the members of those
    with more than one item (a lone item has no follow-up and nothing to answer). `flagged` gets
    the items whose flags changed; `pending`: links not written yet (store.threads.members)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    wanted = sorted(set(conversations))
    for start in range(0, len(wanted), 500):
        for m in store.members(db, wanted[start:start + 500], pending):
            groups.setdefault(int(m["conversation_id"]), []).append(m)
    flags = []
    for conversation in list(groups):
        members = groups[conversation]
        if len(members) < 2:
            del groups[conversation]
            if members[0]["followup"] or members[0]["catalyzed"]:
                flags.append((0, 0, members[0]["id"]))
            continue
        by_id = {m["id"]: m for m in members}
        for item_id, facts in analyse(members).items():
            row = by_id[item_id]
            if (bool(row["followup"]), bool(row["catalyzed"])) != (facts.followup, facts.catalyzed):
                flags.append((int(facts.followup), int(facts.catalyzed), item_id))
                if flagged is not None:
                    flagged.add(item_id)
                row["followup"], row["catalyzed"] = int(facts.followup), int(facts.catalyzed)
    store.set_flags(db, flags)
    return groups


def answer(db: Database, groups: Mapping[int, Sequence[dict[str, Any]]], now: str,
           reason: str | None = None) -> int:
    """Record what our messages answered in these conversations; returns responses recorded."""
    recorded = 0
    for members in groups.values():
        ours = sorted((m for m in members if m["ours"]), key=lambda m: (_when(m), m["id"]))
        if not ours:
            continue
        by_id = {m["id"]: m for m in members}
        for message in ours:
            at = _when(message)
            parent = by_id.get(message["parent_id"])
            if parent is not None and not parent["ours"]:
                # The item it replied to, whatever its status (an explicit reply answers it); a reply
                # dated before its parent is clock skew, counted at the parent's start.
                recorded += _answer(db, parent, message, max(at, parent["start_at"]), now, reason)
            for item in members:
                if item["ours"] or item["duplicate_of"] or item is parent or not item["start_at"] < message["start_at"]:
                    continue
                if item["status"] == "open" or (item["responded_at"] and item["responded_at"] > at
                                                and item["status"] != "ignored"):
                    recorded += _answer(db, item, message, at, now, reason)
    return recorded


def _when(item: Mapping[str, Any]) -> str:
    return str(item["start_at"])


def _answer(db: Database, item: dict[str, Any], message: Mapping[str, Any], at: str, now: str,
            reason: str | None) -> int:
    """Record `message` as the item's response unless an earlier (or equal) one is already recorded."""
    if item["responded_at"] and item["responded_at"] <= at:
        return 0
    reply_store.record_reply(db, item, at=at, member=str(message["ours"]), reply=message, now=now, reason=reason)
    item.update(responded_at=at, status="responded" if item["status"] in ("open", "ignored") else item["status"])
    return 1


def update(db: Database, config: Config, tagger: Tagger, ids: Sequence[int], now: str,
           kinds: dict[str, str] | None = None, rows: Sequence[dict[str, Any]] | None = None,
           tagged: Mapping[int, Any] | None = None) -> None:
    """The pull's step for new and changed items; call inside the source's `transaction(db)`.
    `kinds`: `replies.source_kinds` when the caller has it (a pull reads it once: it stores only the
    config's sources, whose kinds the config gives); `rows`: the thread columns of some of the items
    (the new ones, from the upsert: store.items.UpsertResult.new_threads); the others' are read.
    `tagged`: the new items inserted tagged (UpsertResult.tagged, from Tagger.tag_new), for Tagger.apply.

    Of the other members of a changed conversation only those whose tagging can change are tagged
    again: all of them where the conversation's root is one of `ids` (its lane or owner may have
    changed), where stored items moved into it (their root changed), or where one of `ids` is ours or
    was (our latest earlier author may have changed); elsewhere those whose follow-up flag changed.
    Nothing else a member's tagging reads (its own text, its parent, its conversation) changed."""
    if kinds is None:
        kinds = replies.source_kinds(db, config)
    was_ours = replies.mark_ours(db, config, ids, kinds)
    shifted: set[int] = set()
    deferred: dict[int, tuple[int | None, int]] = {}
    flagged: set[int] = set()
    if rows is not None:
        given = {r["id"] for r in rows}
        rows = [*rows, *store.thread_rows(db, [i for i in ids if i not in given])]
    groups = refresh(db, threads.link(db, kinds, ids, rows, shifted=shifted, deferred=deferred), flagged, deferred)
    batch = set(ids)
    members: set[int] = set()
    for conversation, group in groups.items():
        if conversation in shifted or any(m["id"] in batch and (m["ours"] or m["id"] in was_ours) for m in group):
            members.update(m["id"] for m in group)
        else:
            members.update(m["id"] for m in group if m["id"] in flagged)
    tagger.apply(db, sorted(batch | members), now, settled=members - batch, links=deferred, tagged=tagged)
    answer(db, groups, now)


def rebuild(db: Database, config: Config, tagger: Tagger, now: str, *, reason: str,
            mark_ours: bool = True) -> int:
    """Threads, flags, lanes, owners and answers for every stored item; returns responses recorded.
    Call inside `transaction(db)`."""
    kinds = replies.source_kinds(db, config)
    if mark_ours:
        replies.mark_ours(db, config, reply_store.all_item_ids(db), kinds)
    groups = refresh(db, threads.relink_all(db, kinds))
    members = sorted(m["id"] for g in groups.values() for m in g)
    tagger.apply(db, members, now, reason=reason)
    return answer(db, groups, now, reason=reason)


def upgrade(db: Database, config: Config, now: str) -> bool:
    """Once, after the migration that added conversations: thread the items stored before it and apply
    the follow-up lane and owner rules and the answer rule to them (every change an event; a person's
    decisions stand). Returns whether it ran."""
    if store.get_state(db, UPGRADE_STATE_KEY) is None:
        return False
    from socialscale.rules.tagging import Tagger

    with transaction(db):
        if store.get_state(db, UPGRADE_STATE_KEY) is None:  # another process did it meanwhile
            return False
        # The stored `ours` marks stand: they were made with the handles of their time, and
        # `tag --relink` re-derives them on purpose.
        rebuild(db, config, Tagger(config), now, reason="conversations upgrade", mark_ours=False)
        store.clear_state(db, UPGRADE_STATE_KEY)
    return True
