"""Store-side cost of a pull with replies, without HTTP or parser processes: the feeds of feedserver.py
(20% replies) parsed in this process, then stored one feed per transaction as the pull's writer thread
does. `new` runs the conversations step as the pull does (pipeline._conversations); `bare` runs the same code's
tagging alone (no ours, threads, flags or answers: what conversations add is `new` minus `bare`); `old` runs
the code before conversations (tagging, then replies.link) and only works with that version on PYTHONPATH.
`new` and `bare` take each item's sentiment and rules from the parser step as the pull does
(pipeline.Prescored, pipeline.Prematched, where the version has them), so the store step's CPU is
the writer thread's. It prints wall and CPU seconds of the store step alone.

    python benchmarks/bench_thread_store.py FEEDS new|bare|old [profile] [--replies 0.2] [--db postgresql://user@host/name]

`--db` stores into that (empty) database instead of a new SQLite file (password from PGPASSWORD).
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
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


def parsed(feeds: int, replies: float, old: bool) -> list[tuple[str, Any, dict[Any, Any], dict[Any, Any]]]:
    """Each feed's items, with the sentiment scores and rule decisions the parser step gives the pull."""
    from socialscale.sources import parsing

    batches: list[tuple[str, Any, dict[Any, Any], dict[Any, Any]]] = []
    for n in range(feeds):
        body = feedserver.feed(n, 50, feeds, replies)
        if old:
            batches.append((f"f{n}", parse_feed(body, f"f{n}", f"http://x/feed/{n}.xml")[0], {}, {}))
            continue
        items, _, scores, *more = parsing.parse_feed_scored(body, f"f{n}", f"http://x/feed/{n}.xml")
        decided: dict[Any, Any] = {}
        if more and more[0] is not None:
            from socialscale.rules.matcher import item_fields  # type: ignore[attr-defined]

            decided = {item_fields(i): d for i, d in zip(items, more[0], strict=True)}
        batches.append((f"f{n}", items, {(i.title, i.text, i.lang): s for i, s in zip(items, scores, strict=True)},
                        decided))
    return batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("feeds", type=int)
    ap.add_argument("mode", choices=["new", "bare", "old"])
    ap.add_argument("profile", nargs="?", choices=["profile"])
    ap.add_argument("--replies", type=float, default=0.2, help="share of items that reply to another (0-1)")
    ap.add_argument("--db", help="store into this empty PostgreSQL database (password from PGPASSWORD)")
    args = ap.parse_args()
    feeds, mode, url = args.feeds, args.mode, args.db
    work = Path(tempfile.mkdtemp())
    sources = "\n".join(f"  - {{name: f{n}, url: 'http://x/feed/{n}.xml'}}" for n in range(feeds))
    (work / "c.yaml").write_text(f"database: '{url or 'b.db'}'\nsources:\n{sources}\n{RULES}")
    config = load_config(work / "c.yaml")
    db = open_db(config.database)
    tagger: Any = Tagger(config)
    if mode != "old":
        from socialscale import pipeline
        from socialscale.sources import parsing

        tagger = pipeline._tagger(config)
        if hasattr(parsing, "use_rules") and type(tagger.matcher).__name__ == "Prematched":
            parsing.use_rules(config.rules)  # the parser processes decide the rules too, as in the pull
    batches = parsed(feeds, args.replies, mode == "old")

    kinds: dict[str, str] = {}
    if mode == "new":
        from socialscale.pipeline import _conversations

        six = len(inspect.signature(_conversations).parameters) == 6  # this version reads source kinds once a pull

    def run() -> None:
        for name, items, known, decided in batches:
            with transaction(db):
                stored = upsert_items(db, name, items, NOW)
                ids: Any = stored.new_ids + stored.updated_ids
                if mode != "old" and hasattr(tagger.vader, "known"):
                    tagger.vader.known = known
                if mode != "old" and hasattr(tagger.matcher, "known"):
                    tagger.matcher.known = decided
                if mode == "new":
                    from socialscale.pipeline import _conversations

                    if six:
                        _conversations(db, config, tagger, kinds, ids, NOW)
                    else:  # a version before the pull read source kinds once
                        _conversations(db, config, tagger, ids, NOW)  # type: ignore[call-arg]
                elif mode == "bare":
                    tagger.apply(db, ids, NOW)
                else:
                    from socialscale import replies

                    tagger.apply(db, ids, NOW)
                    replies.link(db, config, ids, NOW)  # type: ignore[attr-defined]

    started, cpu = time.perf_counter(), time.process_time()
    if args.profile:
        cProfile.runctx("run()", globals(), {"run": run}, str(work / "store.prof"))
        pstats.Stats(str(work / "store.prof")).sort_stats("cumulative").print_stats(30)
    else:
        run()
    print(f"{mode} {feeds} feeds: store {time.perf_counter() - started:.2f} s, CPU {time.process_time() - cpu:.2f} s")


if __name__ == "__main__":
    main()
