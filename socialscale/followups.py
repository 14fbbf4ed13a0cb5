"""Follow-ups and catalyzed replies: what an item's conversation makes of it, from its members alone.

Definitions (docs/workflow.md explains them with an example):
- follow-up: an item not ours, in a conversation holding an item of ours published before it;
- catalyzed: a follow-up whose parent is ours and whose author is not the root's author.

A pure function of one conversation's stored members, below both of its users: tagging (a follow-up's
owner is our latest earlier author) and socialscale.conversations (which stores the flags).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Facts:
    """What an item's conversation makes of it."""

    followup: bool = False
    catalyzed: bool = False
    latest_ours: str | None = None  # the member who wrote our latest message before it


def _person(item: Mapping[str, Any] | None) -> str | None:
    if item is None:
        return None
    if item["ours"]:
        return "\x00ours"  # never equal to an outside author
    return " ".join(str(item["author"] or "").split()).casefold() or None


def analyse(members: Sequence[Mapping[str, Any]]) -> dict[int, Facts]:
    """Follow-up, catalyzed and our latest earlier author for every item of one conversation."""
    by_id = {m["id"]: m for m in members}
    root = by_id.get(members[0]["conversation_id"]) if members else None
    ours = sorted((m for m in members if m["ours"]), key=lambda m: (m["start_at"], m["id"]))
    out: dict[int, Facts] = {}
    for m in members:
        if m["ours"] or not ours:
            out[m["id"]] = Facts()
            continue
        earlier = [o for o in ours if o["start_at"] < m["start_at"]]
        if not earlier:
            out[m["id"]] = Facts()
            continue
        parent = by_id.get(m["parent_id"])
        catalyzed = parent is not None and bool(parent["ours"]) and _person(m) != _person(root)
        out[m["id"]] = Facts(True, catalyzed, str(earlier[-1]["ours"]))
    return out
