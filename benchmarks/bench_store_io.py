"""What the pull's writer writes: CPU seconds and bytes written by the store step of a pull, three ways.

    python benchmarks/bench_store_io.py [--feeds 400] [--group 16] [--repeat 2] [--replies 0.2]
        [--ways single,bulk,group,bare] [--profile FILE]

The feeds of feedserver.py are parsed in this process first (as the parser processes would, with
their sentiment scores and rule decisions), then stored through the pull's own `_store_group`:

- `one per transaction`: each source in its own transaction, SQLite's default settings (the pull
  before group commit);
- `bulk pragmas`: the same inside `store.db.bulk_writing` (statement journals in memory, a 32 MiB
  WAL between checkpoints);
- `bulk + groups of N`: sources stored N to a transaction, each in its own savepoint, as the pull's
  writer does when sources finish while it is busy;
- `bare` (only with `--ways`): bulk + groups, with the conversation step replaced by tagging alone
  (`tagger.apply`, as a pull before conversations would tag; where new items are inserted tagged,
  each of those as its own conversation, not written again): `group` minus `bare` is what
  conversations cost the store step.

`--replies` makes that share of the items replies (feedserver.py's `thr:in-reply-to`), as
`bench_pull.py --replies` does; `--profile FILE` writes a cProfile of each way's last run to
FILE.<way>. `--db postgresql://...` stores into that PostgreSQL database instead (dropped and made
again before each run, so give it a database of its own; PGPASSWORD as for the pull), and prints the
server's CPU seconds beside this process's (bench_pull.server_cpu: the server must run on this
machine). The search documents are not made here (the pull's indexer thread does that beside the
writer): what is measured is the writer's statements.

Bytes are Linux's /proc/self/io: `wchar` (every write() and pwrite(), page cache included) and
`write_bytes` (what reached the block layer). Runs alternate; each figure is the median.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import feedserver  # noqa: E402
from bench_pull import server_cpu  # noqa: E402

from socialscale import pipeline  # noqa: E402
from socialscale.config import load_config  # noqa: E402
from socialscale.rules.matcher import item_fields  # noqa: E402
from socialscale.sources.base import Collected  # noqa: E402
from socialscale.sources.parsing import parse_feed_scored, use_rules  # noqa: E402
from socialscale.store.db import bulk_writing, open_db  # noqa: E402

NOW = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
RULES = """
rules:
  - {name: complaints, lane: customer_service, any: ["refund*", "broken", "awful", "cancel"], none: ["hiring"]}
  - {name: leads, lane: sales_prospecting, any: ["looking for", "alternative", "quote", "wholesale"]}
"""


def io() -> dict[str, int]:
    with open("/proc/self/io") as fh:
        return {k: int(v) for k, v in (line.split(": ") for line in fh.read().splitlines())}


def _bare(db, config, tagger, kind_of, item_ids, now, rows=None, tagged=None):  # type: ignore[no-untyped-def]
    # As a pull without conversations would tag: the new items inserted tagged each stay their own conversation.
    if tagged is None:  # a version from before new items were inserted tagged
        tagger.apply(db, item_ids, now)
    else:
        tagger.apply(db, item_ids, now, links={i: (None, i) for i in tagged}, tagged=tagged)


def fresh_database(url: str) -> None:
    """Drop the database of `url` and make it again, empty (connected to the server's `postgres`)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def once(feeds: int, group: int, bulk: bool, replies: float = 0.0, bare: bool = False,
         profile: str | None = None, url: str | None = None) -> tuple[float, float, float, float, float]:
    work = Path(tempfile.mkdtemp())
    sources = "\n".join(f"  - {{name: f{n}, url: 'http://x/feed/{n}.xml'}}" for n in range(feeds))
    if url:
        fresh_database(url)
    (work / "c.yaml").write_text(f"database: '{url or work / 'b.db'}'\nsources:\n{sources}\n{RULES}")
    config = load_config(work / "c.yaml")
    use_rules(config.rules)
    jobs = []
    for n, source in enumerate(config.sources):
        items, warnings, scores, decided = parse_feed_scored(feedserver.feed(n, 50, feeds, replies), source.name,
                                                             source.url or "")
        collected = Collected(items=items, warnings=warnings)
        collected.sentiments = {(i.title, i.text, i.lang): s for i, s in zip(items, scores, strict=True)}
        collected.decided = {item_fields(i): d for i, d in zip(items, decided or [], strict=True)}
        jobs.append((source, collected, None, 10))
    db = open_db(config.database)
    tagger = pipeline._tagger(config)
    kinds: dict[str, str] = {}
    conversations = pipeline._conversations
    if bare:
        pipeline._conversations = _bare
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU time: the machine may be shared
    server0 = server_cpu(url) if url else 0.0
    try:
        before, c0, w0 = io(), time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        # The pull's own settings (its page cache too, where this version of the pull has one).
        # And, as the pull does, a new PostgreSQL database's planner statistics after its first new items.
        planner = pipeline._PlannerStatistics(db)
        with bulk_writing(db, cache_kib=getattr(pipeline, "CACHE_KIB", None)) if bulk else nullcontext():
            for start in range(0, len(jobs), group):
                planner.after(pipeline._store_group(db, config, tagger, kinds, jobs[start:start + group], NOW))
        if profiler is not None:
            profiler.disable()
        cpu, wall, after = time.process_time() - c0, time.perf_counter() - w0, io()
        server = server_cpu(url) - server0 if url else 0.0
    finally:
        pipeline._conversations = conversations
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    db.conn.close()
    shutil.rmtree(work)
    return (cpu, wall, (after["wchar"] - before["wchar"]) / 2**20, (after["write_bytes"] - before["write_bytes"]) / 2**20,
            server)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=400)
    ap.add_argument("--group", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--replies", type=float, default=0.0, help="share of items that reply to another (0-1)")
    ap.add_argument("--ways", default="single,bulk,group", help="which of single,bulk,group,bare to run")
    ap.add_argument("--profile", help="write a cProfile of each way's last run to PROFILE.<way>")
    ap.add_argument("--db", help="a PostgreSQL database to store into (dropped and made again each run)")
    args = ap.parse_args()
    every = {"single": ("one per transaction", 1, False, False), "bulk": ("bulk pragmas", 1, True, False),
             "group": (f"bulk + groups of {args.group}", args.group, True, False),
             "bare": ("the same, bare (no conversations)", args.group, True, True)}
    ways = {key: every[key] for key in args.ways.split(",")}
    runs: dict[str, list[tuple[float, float, float, float, float]]] = {spec[0]: [] for spec in ways.values()}
    for _ in range(args.repeat):
        for key, (name, group, bulk, bare) in ways.items():
            runs[name].append(once(args.feeds, group, bulk, args.replies, bare,
                                   f"{args.profile}.{key}" if args.profile else None, args.db))
    print(f"store step of {args.feeds} feeds x 50 items ({args.replies:.0%} replies), median of {args.repeat}:")
    for name, figures in runs.items():
        cpu, wall, wchar, written, server = (statistics.median(f[k] for f in figures) for k in range(5))
        if args.db:
            print(f"  {name:24} CPU {cpu:5.2f} s + PostgreSQL server {server:5.2f} s = {cpu + server:5.2f} s  "
                  f"wall {wall:5.2f} s")
        else:
            print(f"  {name:24} CPU {cpu:5.2f} s  wall {wall:5.2f} s  written {wchar:6.0f} MiB (to disk {written:5.0f} MiB)")


if __name__ == "__main__":
    main()
