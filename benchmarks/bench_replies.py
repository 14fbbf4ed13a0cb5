"""Reply-linking benchmark: `replies.link()` over a large pull, in both orders.

    python benchmarks/bench_replies.py                  # 100,000 items, a quarter of them our replies
    python benchmarks/bench_replies.py --items 20000    # a quick run

Each item goes through the same path as in a pull: upsert, then link inside the source's
transaction. Two runs: replies stored after their parents, and replies stored first (the parents
arrive in a later "pull" and have to find them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from socialscale.models import Config, Item, Member, Source
from socialscale.replies import link
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items

NOW = "2025-01-12T00:00:00Z"


def make(n: int) -> tuple[list[Item], list[Item]]:
    parents, replies = [], []
    for i in range(n * 3 // 4):
        parents.append(Item(source="hn", guid=str(i), title=f"post {i}", text="acme widgets", author=f"user{i % 997}",
                            url=f"https://news.ycombinator.com/item?id={i}", published_at="2025-01-10T12:00:00Z"))
    for j in range(n - len(parents)):
        target = (j * 7) % len(parents)
        replies.append(Item(source="hn-team", guid=f"r{j}", text="thanks", author=f"acme_{'alice' if j % 2 else 'bob'}",
                            url=f"https://news.ycombinator.com/item?id=r{j}", in_reply_to=str(target),
                            published_at=f"2025-01-10T12:{10 + j % 40:02d}:00Z"))
    return parents, replies


def store(db, config: Config, source: str, batch: list[Item]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with transaction(db):
        ids = upsert_items(db, source, batch, NOW).new_ids
        link_started = time.perf_counter()
        recorded = link(db, config, ids, NOW)
    linked = time.perf_counter() - link_started
    print(f"  {source:8} {len(batch):>7,} items: upsert+link {time.perf_counter() - started:6.2f}s, "
          f"link {linked:6.2f}s ({len(batch) / max(linked, 1e-9):,.0f} items/s), {recorded:,} responses recorded")
    return linked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    config = Config(path=None, database=Path("x.db"),
                    team={"alice": Member("alice", ("hackernews:acme_alice",)), "bob": Member("bob", ("hackernews:acme_bob",))},
                    sources=(Source("hn", "hackernews"), Source("hn-team", "hackernews")))
    parents, replies = make(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"parents first ({args.items:,} items):")
        db = open_db(Path(tmp) / "a.db")
        store(db, config, "hn", parents)
        store(db, config, "hn-team", replies)
        print(f"replies first ({args.items:,} items):")
        db = open_db(Path(tmp) / "b.db")
        store(db, config, "hn-team", replies)
        store(db, config, "hn", parents)


if __name__ == "__main__":
    main()
