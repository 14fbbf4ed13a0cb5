"""Automatic response tracking: items written by the team are *ours*, and our replies answer their parents.

A team member's `handles` name their accounts: `kind:name` (`hackernews:acme_alice`; the kind is a
source type, or a source name for one source only) or a Mastodon address `@name@host`. Matching is
case-insensitive. When an item of ours replies to a tracked item (its `in_reply_to` is the parent's
guid within the same kind of source, or the parent's URL), the parent is responded: at our reply's
published time (never before the parent's start), by the member, via `reply`, with the reply's URL.
The earliest reply wins, a response recorded earlier by a person stands, and the pull order does
not matter: a reply stored before its parent is linked when the parent arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from socialscale.models import Config
from socialscale.store import replies as store
from socialscale.text import canonical_url

_USER_PREFIXES = ("/u/", "u/", "/user/", "@")


def handle_keys(config: Config) -> dict[tuple[str, str], str]:
    """(kind or source name, account) -> member, all lower-case."""
    keys: dict[tuple[str, str], str] = {}
    for member in config.team.values():
        for handle in member.handles:
            handle = handle.strip()
            if handle.startswith("@"):
                keys[("mastodon", _account(handle))] = member.name
            elif ":" in handle:
                kind, _, name = handle.partition(":")
                keys[(kind.strip().lower(), _account(name))] = member.name
    return keys


def _account(name: str) -> str:
    name = " ".join(name.split()).lower()
    for prefix in _USER_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name


def source_kinds(db: sqlite_utils.Database, config: Config) -> dict[str, str]:
    kinds = store.stored_kinds(db)
    kinds.update({s.name: s.type for s in config.sources})
    return kinds


def member_for(item: dict[str, Any], kind: str, keys: dict[tuple[str, str], str]) -> str | None:
    """The team member who wrote `item`, if its author (or author id) is one of their handles."""
    if not keys:
        return None
    names = {_account(str(item["author"]))} if item.get("author") else set()
    author_id = item.get("extra", {}).get("author_id")
    if isinstance(author_id, (str, int)) and not isinstance(author_id, bool):
        names.add(str(author_id).lower())
    for name in names:
        for scope in (kind.lower(), str(item["source"]).lower()):
            member = keys.get((scope, name))
            if member:
                return member
    return None


def link(db: sqlite_utils.Database, config: Config, item_ids: Sequence[int], now: str) -> int:
    """Mark ours among `item_ids` and link replies in both directions; returns responses recorded.

    Called by the pipeline inside each source's transaction, after upsert and tagging.
    """
    if not item_ids:
        return 0
    keys = handle_keys(config)
    kinds = source_kinds(db, config)
    rows = store.items_by_id(db, item_ids)
    for row in rows:
        member = member_for(row, kinds.get(row["source"], ""), keys)
        if member != row["ours"]:
            store.set_ours(db, row["id"], member)
            row["ours"] = member
    recorded = 0
    # Earliest first, so a batch with several replies to one item records one response, not a chain.
    for row in sorted((r for r in rows if r["ours"] and r["in_reply_to"]), key=_when):
        for parent in _parents(db, row, kinds):
            recorded += _answer(db, parent, row, now)
    others = [r for r in rows if not r["ours"]]
    # One query for the replies to the whole batch, not one per item: a pull stores thousands.
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for reply in store.replies_to(db, [k for r in others for k in _keys(r)]):
        by_ref.setdefault(str(reply["in_reply_to"]), []).append(reply)
    answered: dict[int, list[dict[str, Any]]] = {}
    for row in others:
        replies = _replies(row, by_ref, kinds)
        if replies:
            answered[row["id"]] = sorted(replies, key=lambda r: (_when(r), r["id"]))
    # Read again: the loop above may have answered some of them already.
    for parent in store.items_by_id(db, sorted(answered)):
        for reply in answered[parent["id"]]:
            recorded += _answer(db, parent, reply, now)
    return recorded


def link_all(db: sqlite_utils.Database, config: Config, now: str) -> int:
    """Re-derive ours and reply links for every stored item (after the team's handles changed)."""
    return link(db, config, store.all_item_ids(db), now)


def _same_kind(kinds: dict[str, str], kind: str) -> list[str]:
    return sorted(name for name, k in kinds.items() if k == kind)


def _parents(db: sqlite_utils.Database, reply: dict[str, Any], kinds: dict[str, str]) -> list[dict[str, Any]]:
    ref = str(reply["in_reply_to"])
    canonical = canonical_url(ref)
    found = store.parents_of(db, [ref], _same_kind(kinds, kinds.get(reply["source"], "")),
                             [canonical] if canonical else [])
    return [p for p in found if p["id"] != reply["id"] and not p["ours"]
            and (p["guid"] == ref or _same_anchor(ref, p["url"]))]


def _keys(parent: dict[str, Any]) -> set[str]:
    """What a reply's in_reply_to may hold to point at `parent`."""
    return {k for k in (parent["guid"], parent["url"], parent["canonical_url"]) if k}


def _replies(parent: dict[str, Any], by_ref: dict[str, list[dict[str, Any]]],
             kinds: dict[str, str]) -> list[dict[str, Any]]:
    parent_kind = kinds.get(parent["source"], "")
    out = []
    for reply in (r for key in _keys(parent) for r in by_ref.get(key, ())):
        if reply["id"] == parent["id"]:
            continue
        ref = str(reply["in_reply_to"])
        by_guid = ref == parent["guid"] and kinds.get(reply["source"], "") == parent_kind
        by_url = (parent["canonical_url"] is not None and canonical_url(ref) == parent["canonical_url"]
                  and _same_anchor(ref, parent["url"]))
        if by_guid or by_url:
            out.append(reply)
    return out


def _same_anchor(ref: str, url: str | None) -> bool:
    """Canonical URLs drop the fragment, but a URL with one names a part of a page (a comment, as in
    `.../issues/5#issuecomment-9`): only a reply to that part answers it, not one to the page."""
    try:
        anchor = urlsplit(url or "").fragment
        return not anchor or urlsplit(ref).fragment == anchor
    except ValueError:
        return False


def _when(item: dict[str, Any]) -> str:
    return str(item["published_at"] or item["start_at"])


def _answer(db: sqlite_utils.Database, parent: dict[str, Any], reply: dict[str, Any], now: str) -> int:
    """Record `reply` as the parent's response unless an earlier (or equal) one is already recorded."""
    at = max(_when(reply), parent["start_at"])  # a reply "before" its parent is clock skew: count it at the start
    if parent["responded_at"] and parent["responded_at"] <= at:
        return 0
    store.record_reply(db, parent, at=at, member=str(reply["ours"]), reply=reply, now=now)
    parent.update(responded_at=at, responded_by=reply["ours"], response_via="reply", response_url=reply["url"])
    return 1
