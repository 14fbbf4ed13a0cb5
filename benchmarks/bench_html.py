"""Benchmark: `report html`, `datasette` and its canned queries over the reports benchmark's database.

Run: python benchmarks/bench_html.py [--items N] [--responded N] [--dir DIR] [--runs N]

Builds (or reuses) the same database as benchmarks/bench_reports.py: 1,000,000 items, 100,000 answered,
a year of history, ~135,000 past their SLA. Each figure is a whole `socialscale` process, the median
(min) of --runs runs; the canned queries are timed in-process with sqlite3, as Datasette runs them.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time

from bench_reports import NOW, prepare, timed  # type: ignore[import-not-found]

from socialscale.timeutil import utc_iso


def main() -> None:
    opts, work, db_path = prepare(__doc__.splitlines()[0])
    now = ["--now", utc_iso(NOW)]
    print(f"{opts.items:,} items, {opts.responded:,} answered; whole process, median (min) of {opts.runs} runs")
    for label, args in [("report html --since 30d", ["report", "html", "-o", "bench.html", *now]),
                        ("report html --since 365d", ["report", "html", "-o", "bench.html", "--since", "365d", *now]),
                        ("datasette -o metadata.json", ["datasette", "-o", "metadata.json"])]:
        median, best, _cpu = timed(args, work, opts.runs)
        print(f"  {label:<45} {median * 1000:7.0f} ms  ({best * 1000:.0f} ms)")
    print(f"  report html size: {(work / 'bench.html').stat().st_size / 1024:.0f} KiB")
    queries = json.loads((work / "metadata.json").read_text())["databases"]["bench"]["queries"]
    conn = sqlite3.connect(db_path)
    # Datasette evaluates 'now' itself; the data ends at NOW, so the windows are widened to reach it.
    days = str(int((time.time() - NOW.timestamp()) / 86400) + 30)
    for name, query in queries.items():
        times, rows = [], 0
        for _ in range(opts.runs):
            t0 = time.perf_counter()
            rows = len(conn.execute(query["sql"], {"days": days}).fetchall())
            times.append(time.perf_counter() - t0)
        print(f"  canned query {name:<32} {statistics.median(times) * 1000:7.0f} ms  ({rows:,} rows)")
    conn.close()


if __name__ == "__main__":
    main()
