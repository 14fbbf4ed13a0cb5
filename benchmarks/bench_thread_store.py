"""Store-side cost of a pull with replies, without HTTP or parser processes: the feeds of feedserver.py
(20% replies) parsed in this process, then stored one feed per transaction as the pull's writer thread
does. `new` runs the conversations step (socialscale.conversations.update); `old` runs the code before
it (tagging, then replies.link) and only works with that version on PYTHONPATH.

    python benchmarks/bench_thread_store.py FEEDS new|old [profile] [--replies 0.2] [--db postgresql://user@host/name]

`--db` stores into that (empty) database instead of a new SQLite file (password from PGPASSWORD).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import feedserver  # noqa: E402

from socialscale.config import load_config  # noqa: E402
from socialscale.rules.tagging import Tagger  # noqa: E402
from socialscale.sources.parsing import parse_feed  # noqa: E402
from socialscale.store.db import open_db, transaction  # noqa: E402
from socialscale.store.items import upsert_items  # noqa: E402

NOW = "2026-11-24T09:00:00Z"
RULES = """
rules:
  - {name: complaints, lane: customer_service, any: ["refund*", "broken", "awful", "cancel"], none: ["hiring"]}
  - {name: leads, lane: sales_prospecting, any: ["looking for", "alternative", "quote", "wholesale"]}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("feeds", type=int)
    ap.add_argument("mode", choices=["new", "old"])
    ap.add_argument("profile", nargs="?", choices=["profile"])
    ap.add_argument("--replies", type=float, default=0.2, help="share of items that reply to another (0-1)")
    ap.add_argument("--db", help="store into this empty PostgreSQL database (password from PGPASSWORD)")
    args = ap.parse_args()
    feeds, mode, url = args.feeds, args.mode, args.db
    batches = [(f"f{n}", parse_feed(feedserver.feed(n, 50, feeds, args.replies), f"f{n}", f"http://x/feed/{n}.xml")[0])
               for n in range(feeds)]
    work = Path(tempfile.mkdtemp())
    sources = "\n".join(f"  - {{name: f{n}, url: 'http://x/feed/{n}.xml'}}" for n in range(feeds))
    (work / "c.yaml").write_text(f"database: '{url or 'b.db'}'\nsources:\n{sources}\n{RULES}")
    config = load_config(work / "c.yaml")
    db = open_db(config.database)
    tagger = Tagger(config)

    def run() -> None:
        for name, items in batches:
            with transaction(db):
                stored = upsert_items(db, name, items, NOW)
                ids: Any = stored.new_ids + stored.updated_ids
                if mode == "new":
                    from socialscale import conversations

                    conversations.update(db, config, tagger, ids, NOW)
                else:
                    from socialscale import replies

                    tagger.apply(db, ids, NOW)
                    replies.link(db, config, ids, NOW)  # type: ignore[attr-defined]

    started = time.perf_counter()
    if args.profile:
        cProfile.runctx("run()", globals(), {"run": run}, str(work / "store.prof"))
        pstats.Stats(str(work / "store.prof")).sort_stats("cumulative").print_stats(30)
    else:
        run()
    print(f"{mode} {feeds} feeds: store {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
