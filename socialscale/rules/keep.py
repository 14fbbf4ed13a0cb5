"""`keep:` on a source: store only the items that match one of its terms, with the rules' own matching.

A kept item's conversation is kept with it: a reply whose parent is kept (in the same pull, or
stored earlier) is stored too, whatever its words, so a thread never loses its middle. An item
already stored is always updated. The kind's cursor moves past the items left out, so they are
not asked for again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from socialscale.models import Item, Rule, Source
from socialscale.rules.matcher import Matcher


def kept(source: Source, items: list[Item], stored: Callable[[Iterable[str]], set[str]]) -> list[Item]:
    """The items `source.keep` lets through, in their order; `stored(refs)` says which guids or URLs
    among `refs` belong to items of this source already in the database."""
    if not source.keep or not items:
        return items
    matcher = Matcher([Rule(name="keep", lane="keep", any=source.keep)])
    hits = matcher.match_many([(source.name, i.title, i.text, None, None) for i in items])
    refs = {i.guid for i in items} | {i.in_reply_to for i in items if i.in_reply_to}
    known = stored(refs)
    keep = [bool(hit) or item.guid in known for item, hit in zip(items, hits, strict=True)]
    children: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        if item.in_reply_to:
            children.setdefault(item.in_reply_to, []).append(index)
    # Walk down from every kept item (and every stored parent) to the replies beneath it.
    todo = [i for i, k in enumerate(keep) if k]
    roots = [ref for ref in children if ref in known]
    for ref in roots:
        todo += children[ref]
        for index in children[ref]:
            keep[index] = True
    while todo:
        item = items[todo.pop()]
        for key in {item.guid, item.url}:
            for child in children.get(key or "", ()):
                if not keep[child]:
                    keep[child] = True
                    todo.append(child)
    return [item for item, k in zip(items, keep, strict=True) if k]
