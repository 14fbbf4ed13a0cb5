"""Benchmark: `report backlog` and `report latency` over 1,000,000 items, 100,000 of them answered.

Run: python benchmarks/bench_reports.py [--items N] [--responded N] [--dir DIR] [--runs N] [--only TEXT...]

The database is built once (direct INSERTs in one transaction, FTS triggers included) and kept in
--dir, so later runs only time the reports. Each figure is the wall time of a whole `socialscale`
process (interpreter start, imports, config, opening the database, the query, rendering), the
median of --runs runs, with its median CPU time. Targets (issue 14): each report under 0.25 s on SQLite,
under 0.5 s on PostgreSQL (issue 17); --help and --version under 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import socialscale
from socialscale.store.database import Database
from socialscale.store.db import open_db, transaction
from socialscale.timeutil import utc_iso

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
LANES = [("listening", 50), ("customer_service", 15), ("client_relations", 10), ("social_marketing", 10),
         ("sales_prospecting", 10), ("publishing", 5)]
TEAM = ["alice", "bob", "carol", "dan", "erin"]
SOURCES = [f"source-{n}" for n in range(20)]
CONFIG = """database: bench.db
timezone: Europe/London
team: {alice: {}, bob: {}, carol: {}, dan: {}, erin: {}}
lanes:
  listening: {respond: false}
  customer_service: {sla: 2h, owner: alice}
  client_relations: {sla: 4h, owner: bob}
  social_marketing: {sla: 1d}
  sales_prospecting: {sla: 1d, owner: carol}
  publishing: {sla: 3d}
business_hours: {days: [mon, tue, wed, thu, fri], hours: ["09:00-12:30", "13:30-17:30"]}
"""


def build(path: Path, items: int, responded: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    lane_names = [name for name, _ in LANES]
    weights = [w for _, w in LANES]
    answered = set(rng.sample(range(items), responded))
    db = socialscale.open(path.parent / "socialscale.yaml", db=path).db  # the config is written first
    rows = []
    for n in range(items):
        start = NOW - timedelta(seconds=rng.randrange(365 * 86400))
        seen = start + timedelta(seconds=rng.randrange(1800))
        lane = rng.choices(lane_names, weights)[0]
        owner = rng.choice([*TEAM, None, None])
        status, responded_at, by, via = "open", None, None, None
        if n in answered:
            status = "responded"
            responded_at = utc_iso(min(NOW, start + timedelta(seconds=int(rng.expovariate(1 / 20000)))))
            by, via = rng.choice(TEAM), rng.choice(["reply"] * 7 + ["dm", "email", "phone"])
        elif lane != "listening":
            status = rng.choices(["open", "closed", "ignored"], [30, 60, 10])[0]
        rows.append((rng.choice(SOURCES), f"guid-{n}", f"title {n}", "", utc_iso(start), utc_iso(seen), utc_iso(seen),
                     utc_iso(start), lane, f'["{lane}"]', owner, status, responded_at, by, via, f"h{n}"))
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO items (source, guid, title, text, published_at, first_seen_at, updated_at, start_at, lane, "
            "lanes, owner, status, responded_at, responded_by, response_via, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    thread(db)
    db.conn.close()


def thread(db: Database) -> None:
    """Every item is the root of its own conversation, as a pull threads a post that replies to nothing.

    Files built before this had no conversation ids at all, so `report conversations` found nothing to
    count and timed only a scan; an older file is threaded once when the benchmark opens it."""
    if db.execute("SELECT 1 FROM items WHERE conversation_id IS NULL LIMIT 1").fetchone():
        t0 = time.perf_counter()
        with transaction(db):
            db.execute("UPDATE items SET conversation_id = id WHERE conversation_id IS NULL")
        print(f"threaded the items (each its own conversation) in {time.perf_counter() - t0:.1f} s")


def run_once(args: list[str], cwd: Path, package: Path | None = None) -> tuple[float, float]:
    """Wall and CPU time (user + system) of one whole `socialscale ARGS` process; `package` is a
    folder holding another copy of the `socialscale` package to run instead of the installed one."""
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = str(package)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "socialscale", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def timed(args: list[str], cwd: Path, runs: int) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time of `runs` whole processes."""
    walls, cpus = zip(*(run_once(args, cwd) for _ in range(runs)), strict=True)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def prepare(description: str) -> tuple[argparse.Namespace, Path, Path]:
    """Parse the shared options and build (once, then reuse) the benchmark database.

    Returns the options, the work folder (with its socialscale.yaml) and the database path.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--responded", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "socialscale-bench-reports")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", nargs="+", metavar="NAME=DIR",
                        help="time these copies of the socialscale package instead, alternating runs (DIR holds "
                             "socialscale/, e.g. `git archive REV socialscale | tar -x -C DIR`): one column each")
    parser.add_argument("--only", nargs="+", metavar="TEXT",
                        help="time only the cases whose label contains one of these (e.g. `--only backlog latency`)")
    parser.add_argument("--db", help="run on this PostgreSQL database (postgresql://user@host/name, password from "
                                     "PGPASSWORD): filled once from the SQLite benchmark file by `db copy`")
    opts = parser.parse_args()
    work = opts.dir / f"{opts.items}-{opts.responded}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "socialscale.yaml").write_text(CONFIG, encoding="utf-8")
    db_path = work / "bench.db"
    if not db_path.exists():
        t0 = time.perf_counter()
        partial = work / "bench.db.part"
        for leftover in work.glob("bench.db.part*"):
            leftover.unlink()
        build(partial, opts.items, opts.responded)
        partial.rename(db_path)
        for suffix in ("-wal", "-shm"):
            Path(str(partial) + suffix).unlink(missing_ok=True)
        print(f"built {opts.items:,} items ({opts.responded:,} answered) in {time.perf_counter() - t0:.1f} s: {db_path}")
    else:
        db = open_db(db_path)
        thread(db)
        db.conn.close()
    if opts.db:
        server = open_db(opts.db)
        empty = server.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
        server.conn.close()
        if empty:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "socialscale", "--db", str(db_path), "db", "copy", "--to", opts.db],
                           cwd=work, check=True)
            print(f"copied into {opts.db} in {time.perf_counter() - t0:.1f} s")
        (work / "socialscale.yaml").write_text(CONFIG.replace("database: bench.db", f"database: '{opts.db}'"),
                                               encoding="utf-8")
    return opts, work, db_path


def main() -> None:
    opts, work, db_path = prepare(__doc__.splitlines()[0])
    now = ["--now", utc_iso(NOW)]
    cases = [
        ("socialscale --version", ["--version"]),
        ("socialscale --help", ["--help"]),
        ("report backlog", ["report", "backlog", *now]),
        ("report backlog --format json", ["report", "backlog", *now, "--format", "json"]),
        ("report backlog --by owner", ["report", "backlog", "--by", "owner", *now]),
        ("report latency", ["report", "latency", *now]),
        ("report latency --format json", ["report", "latency", *now, "--format", "json"]),
        ("report latency --since 365d (all answers)", ["report", "latency", "--since", "365d", *now]),
        ("report latency --by week --since 365d", ["report", "latency", "--by", "week", "--since", "365d", *now]),
        ("report latency --business-hours", ["report", "latency", "--business-hours", *now]),
        ("report breaches --limit 50", ["report", "breaches", "--limit", "50", *now]),
        ("report conversations", ["report", "conversations", *now]),
        ("report volume", ["report", "volume", *now]),
        ("report summary", ["report", "summary", *now]),
    ]
    if opts.only:
        cases = [case for case in cases if any(text in case[0] for text in opts.only)]
    print(f"{opts.items:,} items, {opts.responded:,} answered; whole process, median (min) of {opts.runs} runs, "
          "and the median CPU time (user + system: what a shared machine's load changes least)")
    if not opts.compare:
        for label, args in cases:
            median, best, cpu = timed(args, work, opts.runs)
            print(f"  {label:<45} {median * 1000:7.0f} ms  ({best * 1000:.0f} ms)  cpu {cpu * 1000:5.0f} ms")
        return
    versions = {name: Path(folder) for name, _, folder in (v.partition("=") for v in opts.compare)}
    for label, args in cases:
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
        for _ in range(opts.runs):  # alternating, so that the machine's load falls on each version alike
            for name, folder in versions.items():
                runs[name].append(run_once(args, work, folder))
        print(f"  {label:<45}" + "".join(
            f" | {name}: {statistics.median(w for w, _ in r) * 1000:5.0f} ms, cpu {statistics.median(c for _, c in r) * 1000:4.0f} ms"
            for name, r in runs.items()))


if __name__ == "__main__":
    main()
