"""Automatic response tracking: items written by the team are *ours* (their messages then answer
their conversations, see socialscale.conversations).

A team member's `handles` name their accounts: `kind:name` (`hackernews:acme_alice`; the kind is a
source type, or a source name for one source only) or a Mastodon address `@name@host`. Matching is
case-insensitive. A reply's parent is found by socialscale.threads (its `in_reply_to` is the parent's guid within
the same kind of source, or the parent's URL, `#fragment` included when the parent has one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from socialscale.models import Config
from socialscale.store import replies as store
from socialscale.store.database import Database

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


def source_kinds(db: Database, config: Config) -> dict[str, str]:
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


def mark_ours(db: Database, config: Config, item_ids: Sequence[int], kinds: dict[str, str]) -> set[int]:
    """Set `ours` on these items from the team's handles (and clear it where no handle matches any more).
    Returns the items that were ours before and are no more, or ours by another member (with no
    handles, every item given when any mark was cleared).

    Which items our messages answer is decided per conversation (socialscale.conversations).
    """
    if not item_ids:
        return set()
    keys = handle_keys(config)
    if not keys:  # no handles: nothing is ours (only marks made with handles since removed are cleared)
        return set(item_ids) if store.clear_ours(db, item_ids) else set()
    was: set[int] = set()
    for row in store.items_by_id(db, item_ids):
        member = member_for(row, kinds.get(row["source"], ""), keys)
        if member != row["ours"]:
            store.set_ours(db, row["id"], member)
            if row["ours"]:
                was.add(row["id"])
    return was


def same_anchor(ref: str, url: str | None) -> bool:
    """Canonical URLs drop the fragment, but a URL with one names a part of a page (a comment, as in
    `.../issues/5#issuecomment-9`): only a reply to that part answers it, not one to the page."""
    try:
        anchor = urlsplit(url or "").fragment
        return not anchor or urlsplit(ref).fragment == anchor
    except ValueError:
        return False

