"""Reach: one integer per item from the attention a source reports (docs/insight.md, per kind).

Each kind collects the counts its API gives for an item into `extra["counts"]` (named as the
API names them, so a user can check them against the site) and `reach` is their sum: likes,
boosts, reposts, replies, comments, score and views, and the author's followers where the API
gives them. A kind that reports nothing (feeds) gives None: unknown, not zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def count(obj: Any, *path: str) -> int | None:
    """A non-negative whole count at obj[path...]; None when absent or not a number (a negative
    score counts as no attention, not as less than none)."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(obj, bool) or not isinstance(obj, (int, float)) or obj != obj:  # NaN
        return None
    return max(0, int(min(obj, 2**53)))


def counts(**values: int | None) -> dict[str, int]:
    """The counts a source gave (None dropped), for `extra["counts"]`."""
    return {k: v for k, v in values.items() if v is not None}


def total(found: Mapping[str, int]) -> int | None:
    """reach = the sum of the counts; None when the source gave none."""
    return sum(found.values()) if found else None


# The engagement counts kinds keep in `extra` under shared names (docs/design.md): each is attention,
# except `score` where `upvote_count` is given (Lemmy's score is upvotes less downvotes: the same people).
ENGAGEMENT = ("like_count", "repost_count", "reply_count", "quote_count", "upvote_count", "vote_count")


def engagement(extra: dict[str, object]) -> int | None:
    """reach from the shared engagement counts in `extra`: like, repost, reply, quote, upvote and vote
    counts, and the score where there are no upvotes; None when there is none of them."""
    found = {k: count(extra, k) for k in (*ENGAGEMENT, "score")}
    if "upvote_count" in extra and found["upvote_count"] is not None:
        found.pop("score")
    given = [v for v in found.values() if v is not None]
    return sum(given) if given else None
