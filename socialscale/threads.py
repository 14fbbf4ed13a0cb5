"""Threads: every item's parent and conversation (docs/workflow.md, "Conversations").

An item's parent is the stored item its `in_reply_to` names: by guid within sources of the same
kind, or by URL (canonical, and the same `#fragment` when the parent's URL has one; see
socialscale.replies). When several stored items match, the original wins over a duplicate, a guid
over a URL, the older over the newer. A duplicate without a parent of its own hangs under the
item it duplicates, so the copies of a post from two sources are one conversation.

`conversation_id` is the id of the top of the parent chain (the root). It is kept right whatever
the pull order: a reply stored before its parent is a root until the parent arrives; then it,
with every reply below it, joins the parent's conversation. Chains are walked iteratively, never
recursively (a 1,000-level thread is fine), and a cycle (a hostile feed making two items reply to
each other) is cut where it would close: the link that would make it is not made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialscale.replies import same_anchor
from socialscale.store import threads as store
from socialscale.store.database import Database
from socialscale.text import canonical_url


def _candidates(db: Database, rows: Sequence[dict[str, Any]], kinds: dict[str, str],
                seen: dict[int, tuple[Any, Any]] | None = None) -> dict[int, int | None]:
    """Each row's parent id (None: none stored), from its in_reply_to. `seen` gets the stored
    (parent_id, conversation_id) of every candidate read, so the caller need not read them again."""
    wanted = [r for r in rows if r["in_reply_to"]]
    hits: dict[tuple[str, str], list[dict[str, Any]]] = {}
    by_kind: dict[str, set[str]] = {}
    for r in wanted:
        by_kind.setdefault(kinds.get(r["source"], ""), set()).add(str(r["in_reply_to"]))
    for kind, refs in by_kind.items():
        if not kind:
            continue  # a source of no known kind: no parent by guid
        # Filtered by the candidate's kind, not by a list of the kind's sources (a thousand feeds are one kind).
        for c in store.by_guid(db, sorted(refs)):
            if kinds.get(c["source"]) != kind:
                continue
            hits.setdefault((kind, c["guid"]), []).append(c)
            if seen is not None:
                seen[c["id"]] = (c["parent_id"], c["conversation_id"])
    # By URL only what no guid matched (most replies name their parent's guid).
    canon = {str(r["in_reply_to"]): canonical_url(str(r["in_reply_to"])) for r in wanted
             if (kinds.get(r["source"], ""), str(r["in_reply_to"])) not in hits}
    by_url: dict[str, list[dict[str, Any]]] = {}
    for c in store.by_canonical(db, sorted({u for u in canon.values() if u})):
        by_url.setdefault(c["canonical_url"], []).append(c)
        if seen is not None:
            seen[c["id"]] = (c["parent_id"], c["conversation_id"])
    parents: dict[int, int | None] = {}
    for r in rows:
        parent = None
        if r["in_reply_to"]:
            ref = str(r["in_reply_to"])
            found = [(0, c) for c in hits.get((kinds.get(r["source"], ""), ref), ())]
            found += [(1, c) for c in by_url.get(canon.get(ref) or "", ()) if same_anchor(ref, c["url"])]
            found = [(rank, c) for rank, c in found if c["id"] != r["id"]]
            if found:
                _, best = min(found, key=lambda f: (f[1]["duplicate_of"] is not None, f[0], f[1]["id"]))
                parent = best["duplicate_of"] if best["duplicate_of"] not in (None, r["id"]) else best["id"]
        parents[r["id"]] = parent
    return parents


def link(db: Database, kinds: dict[str, str], ids: Sequence[int],
         rows: Sequence[dict[str, Any]] | None = None, *, shifted: set[int] | None = None,
         deferred: dict[int, tuple[int | None, int]] | None = None) -> set[int]:
    """Thread these (new or changed) items and adopt stored replies that were waiting for them.

    Returns the conversations that changed, less those of new items that stay alone (a new root
    that nothing replies to: no follow-up, nothing to answer). Call inside `transaction(db)`, after
    the upsert. `rows`: the items' THREAD_COLUMNS when the caller has them (the pull takes them from
    the upsert), else they are read. `shifted` gets the changed conversations into which stored
    items outside `ids` moved (adopted, or carried below a moved reply), or whose root is one of
    `ids`: there the root of items outside `ids` changed, or its lane and owner may have. With
    `deferred`, the links of the new items (never threaded before) go there instead of being written:
    the pull writes them with the tagging, one row write instead of two, and reads them as members
    meanwhile (store.threads.members' `pending`).
    """
    if not ids:
        return set()
    if rows is None:
        rows = store.thread_rows(db, ids)
    batch = {r["id"]: r for r in rows}
    seen: dict[int, tuple[Any, Any]] = {}
    parents = _candidates(db, rows, kinds, seen)
    for item_id, parent in list(parents.items()):
        row = batch[item_id]
        # A changed link of an item already threaded may point below itself: walk up from the new parent.
        if parent is not None and parent not in batch and row["conversation_id"] is not None \
                and parent != row["parent_id"] and _has_ancestor(db, parent, item_id, parents, batch):
            parents[item_id] = None
    outside = {p for p in parents.values() if p is not None and p not in batch}
    # The candidates read carry their own links; only a duplicate's original needs reading.
    known = {p: seen[p] for p in outside if p in seen}
    known.update(store.parent_and_conversation(db, sorted(outside - known.keys())))
    conversation = _conversations(batch, parents, known)
    # Items already threaded whose conversation changed carry their replies with them.
    moved = [i for i in batch if batch[i]["conversation_id"] is not None
             and batch[i]["conversation_id"] != conversation[i]]
    if moved:
        _carry(db, moved, conversation, batch)
    now_in = dict(conversation)  # batch and adopted items -> conversation, kept as _adopt moves them
    # The batch's own links are written last (below): until then `now_in` is where they stand.
    adopted = _adopt(db, kinds, rows, batch, now_in)
    sizes: dict[int, int] = {}
    for c in now_in.values():
        sizes[c] = sizes.get(c, 0) + 1
    alone = {c for c, size in sizes.items() if size == 1 and _alone(c, batch, parents)}
    links = [(parents[i], now_in[i], i) for i in batch
             if (parents[i], now_in[i]) != (batch[i]["parent_id"], batch[i]["conversation_id"])]
    if deferred is not None:  # a new item's links (never threaded before) are written with its tagging
        deferred.update((i, (p, c)) for p, c, i in links if batch[i]["conversation_id"] is None)
        links = [link for link in links if link[2] not in deferred]
    store.set_links(db, links)
    changed = set(now_in.values()) - alone
    if shifted is not None:
        shifted.update(now_in[i] for i in (*moved, *adopted))
        shifted.update(c for c in changed if c in batch)
    return changed


def _alone(conversation: int, batch: dict[int, Any], parents: dict[int, int | None]) -> bool:
    """Whether a conversation with one member among the batch and the adopted replies is that new item
    and nothing else: an item threaded for the first time (never had a conversation, so no stored item
    names it as parent or conversation), and a root."""
    row = batch.get(conversation)
    return row is not None and row["conversation_id"] is None and parents[conversation] is None


def _has_ancestor(db: Database, start: int, target: int, parents: dict[int, int | None],
                  batch: dict[int, Any]) -> bool:
    """Whether `target` is on the parent chain above `start` (stored links, and the batch's new ones)."""
    seen: set[int] = set()
    node: int | None = start
    while node is not None and node not in seen:
        if node == target:
            return True
        seen.add(node)
        if node in batch:
            node = parents.get(node)
        else:
            node = store.parent_and_conversation(db, [node]).get(node, (None, None))[0]
    return False


def _conversations(batch: dict[int, Any], parents: dict[int, int | None],
                   known: dict[int, tuple[Any, Any]]) -> dict[int, int]:
    """The conversation of every batch item, walking the batch's own links iteratively; a cycle among
    them is cut at its smallest id (that item stays a root). Changes `parents` where it cuts."""
    conversation: dict[int, int] = {}
    for start in batch:
        path: list[int] = []
        on_path: set[int] = set()
        node = start
        while True:
            if node in conversation:
                found = conversation[node]
                break
            if node not in batch:
                stored = known.get(node, (None, None))[1]
                found = node if stored is None else int(stored)
                break
            if node in on_path:
                cut = min(path[path.index(node):])
                parents[cut] = None
                path, on_path, node = [], set(), start
                continue
            on_path.add(node)
            path.append(node)
            parent = parents[node]
            if parent is None:
                found = node
                break
            node = parent
        for n in path:
            conversation[n] = found
    return conversation


def _carry(db: Database, moved: Sequence[int], conversation: dict[int, int],
           batch: dict[int, Any]) -> None:
    """Give the stored replies below `moved` items their new conversation (breadth first, no recursion)."""
    frontier = {i: conversation[i] for i in moved}
    seen = set(frontier)
    while frontier:
        below = store.children(db, sorted(frontier))
        updates = [(frontier[parent], child) for child, parent in below if child not in seen and child not in batch]
        store.set_conversations(db, updates)
        seen.update(child for _, child in updates)
        frontier = {child: c for c, child in updates}


def _adopt(db: Database, kinds: dict[str, str], rows: Sequence[dict[str, Any]],
           batch: dict[int, Any], now_in: dict[int, int]) -> list[int]:
    """Stored replies that arrived before these parents join their conversations, with their own
    replies; `now_in` (item -> conversation, of the batch) gets the adopted items and every move
    (the batch's own links are not written yet: `now_in` is where batch items stand). Returns the
    adopted items."""
    keys = sorted({str(k) for r in rows for k in (r["guid"], r["url"], r["canonical_url"]) if k})
    waiting = [o for o in store.unlinked_replies_to(db, keys) if o["id"] not in batch]
    adopted: list[int] = []
    if not waiting:
        return adopted
    parents = _candidates(db, waiting, kinds)
    members: dict[int, list[int]] = {}  # conversation -> its items in `now_in`, moved together
    for item, c in now_in.items():
        members.setdefault(c, []).append(item)
    # The stored links of the parents and orphans outside `now_in`, read once (not three statements per
    # orphan); `renamed` follows the moves made below, which are written at the end, after the links.
    found = store.parent_and_conversation(db, sorted({i for o in waiting for i in (parents[o["id"]], o["id"])
                                                      if i is not None and i not in now_in}))
    renamed: dict[int, int] = {}  # a stored conversation -> the one it moved into

    def stored(item: int) -> Any:
        c = found[item][1]
        while c in renamed:
            c = renamed[c]
        return c

    links: list[tuple[int | None, int, int]] = []
    moves: list[tuple[int, int]] = []  # (new, old): every item of conversation old joins new, in this order
    for orphan in sorted(waiting, key=lambda o: o["id"]):
        parent = parents[orphan["id"]]
        if parent is None:
            continue
        target = now_in[parent] if parent in now_in else stored(parent)
        current = now_in[orphan["id"]] if orphan["id"] in now_in else stored(orphan["id"])
        target = parent if target is None else target
        if current is not None and target == current:
            continue  # the parent is in the orphan's own conversation: linking would close a cycle
        links.append((parent, target, orphan["id"]))
        joining = [orphan["id"]]
        if current is not None:
            moves.append((target, current))
            renamed[current] = target
            joining += members.pop(current, [])
        for item in joining:
            now_in[item] = target
        members.setdefault(target, []).extend(joining)
        adopted.append(orphan["id"])
    # Links first, then the moves in the order they were made: a move also carries the orphans linked
    # into the conversation it empties, as when each was written at once.
    store.set_links(db, links)
    store.move_conversations(db, moves)
    return adopted


def relink_all(db: Database, kinds: dict[str, str]) -> set[int]:
    """Thread every stored item from scratch (the migration, `tag --relink`); returns conversations
    with more than one item. Runs in memory: a million items take seconds, not a query per item."""
    rows = [dict(zip(store.THREAD_COLUMNS, r, strict=True)) for r in store.all_thread_rows(db)]
    batch = {r["id"]: r for r in rows}
    parents: dict[int, int | None] = {}
    for start in range(0, len(rows), 2000):
        parents.update(_candidates(db, rows[start:start + 2000], kinds))
    conversation = _conversations(batch, parents, {})
    store.set_links(db, ((parents[i], conversation[i], i) for i in batch
                         if (parents[i], conversation[i]) != (batch[i]["parent_id"], batch[i]["conversation_id"])))
    return set(store.all_conversations(db))



def tree(db: Database, item_id: int) -> dict[str, Any] | None:
    """The whole conversation of an item as a list in reading order: each message after its parent,
    siblings oldest first, with its depth (walked with a stack: no recursion, whatever the depth)."""
    conversation = store.conversation_of(db, item_id)
    if conversation is None:
        return None
    found = store.conversation_items(db, conversation)
    ids = {m["id"] for m in found}
    below: dict[int | None, list[dict[str, Any]]] = {}
    for m in found:
        parent = m["parent_id"] if m["parent_id"] in ids and m["id"] != conversation else None
        below.setdefault(parent, []).append(m)
    messages: list[dict[str, Any]] = []
    stack = [(m, 0) for m in reversed(below.get(None, []))]
    while stack:
        m, depth = stack.pop()
        messages.append({**m, "depth": depth, "followup": bool(m["followup"]), "catalyzed": bool(m["catalyzed"])})
        stack.extend((child, depth + 1) for child in reversed(below.get(m["id"], [])))
    return {"conversation_id": conversation, "messages": messages}
