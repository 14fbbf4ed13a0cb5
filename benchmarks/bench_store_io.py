"""What the pull's writer writes: CPU seconds and bytes written by the store step of a pull, three ways.

    python benchmarks/bench_store_io.py [--feeds 400] [--group 16] [--repeat 2]

The feeds of feedserver.py are parsed in this process first (as the parser processes would, with
their sentiment scores and rule decisions), then stored through the pull's own `_store_group`:

- `one per transaction`: each source in its own transaction, SQLite's default settings (the pull
  before group commit);
- `bulk pragmas`: the same inside `store.db.bulk_writing` (statement journals in memory, a 32 MiB
  WAL between checkpoints);
- `bulk + groups of N`: sources stored N to a transaction, each in its own savepoint, as the pull's
  writer does when sources finish while it is busy.

Bytes are Linux's /proc/self/io: `wchar` (every write() and pwrite(), page cache included) and
`write_bytes` (what reached the block layer). Runs alternate; each figure is the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import feedserver  # noqa: E402

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


def once(feeds: int, group: int, bulk: bool) -> tuple[float, float, float, float]:
    work = Path(tempfile.mkdtemp())
    sources = "\n".join(f"  - {{name: f{n}, url: 'http://x/feed/{n}.xml'}}" for n in range(feeds))
    (work / "c.yaml").write_text(f"database: '{work / 'b.db'}'\nsources:\n{sources}\n{RULES}")
    config = load_config(work / "c.yaml")
    use_rules(config.rules)
    jobs = []
    for n, source in enumerate(config.sources):
        items, warnings, scores, decided = parse_feed_scored(feedserver.feed(n, 50, feeds, 0.0), source.name,
                                                             source.url or "")
        collected = Collected(items=items, warnings=warnings)
        collected.sentiments = {(i.title, i.text, i.lang): s for i, s in zip(items, scores, strict=True)}
        collected.decided = {item_fields(i): d for i, d in zip(items, decided or [], strict=True)}
        jobs.append((source, collected, None, 10))
    db = open_db(config.database)
    tagger = pipeline._tagger(config)
    kinds: dict[str, str] = {}
    before, c0, w0 = io(), time.process_time(), time.perf_counter()
    with bulk_writing(db) if bulk else nullcontext():
        for start in range(0, len(jobs), group):
            pipeline._store_group(db, config, tagger, kinds, jobs[start:start + group], NOW)
    cpu, wall, after = time.process_time() - c0, time.perf_counter() - w0, io()
    db.conn.close()
    return cpu, wall, (after["wchar"] - before["wchar"]) / 2**20, (after["write_bytes"] - before["write_bytes"]) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=400)
    ap.add_argument("--group", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    ways = {"one per transaction": (1, False), "bulk pragmas": (1, True), f"bulk + groups of {args.group}": (args.group, True)}
    runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in ways}
    for _ in range(args.repeat):
        for name, (group, bulk) in ways.items():
            runs[name].append(once(args.feeds, group, bulk))
    print(f"store step of {args.feeds} feeds x 50 items, median of {args.repeat}:")
    for name, figures in runs.items():
        cpu, wall, wchar, written = (statistics.median(f[k] for f in figures) for k in range(4))
        print(f"  {name:24} CPU {cpu:5.2f} s  wall {wall:5.2f} s  written {wchar:6.0f} MiB (to disk {written:5.0f} MiB)")


if __name__ == "__main__":
    main()
