"""Pull benchmark: N feeds x M items from a local server, first pull and an all-304 second pull.

Targets (issue 2, on the 2-core machine): 1,000 feeds x 50 items first pull < 12 s end to end
(fetch + parse + store + tag); second pull where every feed answers 304 < 2 s. Issue 14: the first
pull at most 0.4x newsboat's, side by side (`--peers`).

    python benchmarks/bench_pull.py [--feeds 1000] [--items 50] [--replies 0.2] [--profile] [--sample OUT] [--usage] [--peers]

`--peers` also runs newsboat (Debian's package: `apt-get install newsboat`; `newsboat -x reload`
with 16 reload threads) and feed-to-sqlite (PyPI; its `feed-to-sqlite` command on PATH, or
`--feed-to-sqlite PATH`) against the same server and feeds, each into its own empty cache or
database, then a second run of each (newsboat and socialscale send conditional GETs), and prints
the ratios. A peer that is not installed is reported and skipped.

Besides wall-clock time it prints the CPU seconds of each pull (socialscale's main process, and with
`--db` the PostgreSQL server's own processes too, read from /proc when the server runs on this
machine): on a shared machine they move far less with the load than the wall clock does. The parser
processes are not in that figure (their fork server is nobody's waited-for child); `--usage` samples
the whole process tree: peak RSS and PSS of all processes together and CPU seconds by process, with
`/usr/bin/time -v`'s own figures (issue 14's memory target). `--profile` writes a cProfile of each
thread of the first pull's main process in its own CPU time (benchmarks/pull.prof.<thread>) and
prints the main thread's and the writer's. `--sample OUT` runs the first pull under py-spy (`pip install
py-spy`; 100 samples a second, every thread, not pausing the process) and writes its collapsed stacks
to OUT, one line per thread and stack with its count of samples (`python benchmarks/stacks.py OUT`
sums them by function): it slows Python code less than `--profile` does, but a thread waiting for a
core on a loaded machine counts as busy.

`--replies` makes that share of the items replies to earlier items (in the same feed or another), so
the pull also builds conversations (issue 12: no more than 10% slower with 20% replies).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from socialscale.store.db import open_db

HERE = Path(__file__).resolve().parent
RULES = """
rules:
  - {name: complaints, lane: customer_service, any: ["refund*", "broken", "awful", "cancel"], none: ["hiring"]}
  - {name: leads, lane: sales_prospecting, any: ["looking for", "alternative", "quote", "wholesale"]}
  - {name: clients, lane: client_relations, any: ["invoice", "contract", "renewal"]}
  - {name: buzz, lane: social_marketing, any: ["love", "great service", "recommend"]}
"""


PROFILE_MAIN = """
import cProfile, runpy, sys, threading, time
out = sys.argv.pop(1)
profiles = {}

def in_thread(frame, event, arg):
    # Each thread (the writer above all) gets a profile of its own, in its own CPU time.
    sys.setprofile(None)
    t = threading.current_thread()
    profiles[f"{t.name}-{t.ident}"] = p = cProfile.Profile(time.thread_time)
    p.enable()

threading.setprofile(in_thread)
main = cProfile.Profile(time.thread_time)
sys.argv[0] = "socialscale"
try:
    main.runcall(runpy.run_module, "socialscale", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    if exc.code:
        raise
finally:
    main.dump_stats(out + ".MainThread")  # first: a profile's dump stops profiling the thread that dumps it
    for name, p in profiles.items():
        p.dump_stats(f"{out}.{name}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CPU: dict[str, float] = {}  # CPU seconds of the last run(): the command with its children, and the server's


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, server: str | None = None,
        usage: dict[str, Any] | None = None) -> float:
    """Wall seconds of one command; its CPU seconds and, for a PostgreSQL database on this machine, the
    server's CPU seconds meanwhile, go to CPU. That CPU figure is of the processes the command waits for:
    socialscale's parser processes are forked by multiprocessing's fork server, which nobody waits for,
    so they are not in it. With `usage`, the command runs under `/usr/bin/time -v` and its process tree
    is sampled every 50 ms: `usage` gets the peak RSS and PSS of all its processes together (MB), the CPU
    seconds of each kind of process (the parsers included) and `/usr/bin/time`'s own figures."""
    if usage is not None:
        cmd = ["/usr/bin/time", "-v", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server_cpu(server) if server else 0.0
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if usage is not None:
        watcher = threading.Thread(target=watch_tree, args=(proc, usage), daemon=True)
        watcher.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["client"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    CPU["server"] = server_cpu(server) - server_before if server else 0.0
    if usage is not None:
        watcher.join()
        for line in err.splitlines():
            key, _, value = line.strip().partition(": ")
            if key in ("User time (seconds)", "System time (seconds)", "Maximum resident set size (kbytes)"):
                usage[f"time -v {key}"] = value
    return elapsed


def server_cpu(url: str) -> float:
    """CPU seconds a PostgreSQL server on this machine has used so far: its postmaster, every live server
    process, and those that have ended (a pull's connection among them: the kernel adds an ended child's
    time to its parent's). Read from /proc, found through a connection's backend pid."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:  # its server process is alive until the block ends
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        postmaster = int(_proc_status(backend)["PPid"])
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime of the postmaster
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != postmaster:
            try:
                if int(_proc_status(int(entry.name))["PPid"]) == postmaster:
                    child = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    total += int(child[11]) + int(child[12])
            except (OSError, KeyError, ValueError):
                continue  # ended meanwhile
    return total / ticks


def _proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _kind(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    line = " ".join(args)
    if "forkserver" in line:  # the parser processes are forked from it with the same command line
        return "parsers + forkserver"
    return os.path.basename(args[0]) if args[0] != sys.executable and "python" not in args[0] else "main"


def watch_tree(proc: subprocess.Popen[str], usage: dict[str, Any]) -> None:
    """Sample `proc`'s process tree until it ends: peak RSS and PSS summed over the tree, CPU by kind."""
    peak_rss = peak_pss = 0
    cpu: dict[int, tuple[str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    while proc.poll() is None:
        rss = pss = 0
        for pid in _tree(proc.pid)[1:]:  # not /usr/bin/time itself
            try:
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    for line in fh:
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1])
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                kind = cpu[pid][0] if pid in cpu else _kind(pid)
                cpu[pid] = (kind, (int(fields[11]) + int(fields[12])) / tick)
            except (OSError, IndexError, ValueError):
                continue
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    usage["peak RSS, all processes (MB)"] = round(peak_rss / 1024)
    usage["peak PSS, all processes (MB)"] = round(peak_pss / 1024)
    by_kind: dict[str, float] = {}
    for kind, seconds in cpu.values():
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    usage["CPU s by process (last sample)"] = {k: round(v, 2) for k, v in sorted(by_kind.items())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--replies", type=float, default=0.0, help="share of items that reply to another (0-1)")
    ap.add_argument("--timeout", default="60s", help="each source's fetch.timeout (raise it on a loaded machine, "
                                                     "where a source waits long for the parsers)")
    ap.add_argument("--profile", action="store_true", help="also write a cProfile of the first pull")
    ap.add_argument("--sample", metavar="OUT", help="sample the first pull's threads with py-spy (collapsed stacks to OUT)")
    ap.add_argument("--usage", action="store_true", help="run each first pull under /usr/bin/time -v and report "
                                                         "peak memory (all processes together) and CPU by process")
    ap.add_argument("--peers", action="store_true", help="also time newsboat and feed-to-sqlite on the same feeds")
    ap.add_argument("--feed-to-sqlite", default=shutil.which("feed-to-sqlite"), help="feed-to-sqlite's command")
    ap.add_argument("--db", help="pull into this database instead of a new SQLite file: an empty PostgreSQL "
                                 "database, postgresql://user@host/name (password from PGPASSWORD)")
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "feedserver.py"), str(port), str(args.feeds), str(args.items),
                               str(args.replies)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            sources = "\n".join(f"  - {{name: f{n}, url: 'http://127.0.0.1:{port}/feed/{n}.xml'}}"
                                for n in range(args.feeds))
            # Every feed is on one host here (127.0.0.1), where real feeds are spread over many: lift the
            # per-host politeness limit to the global one so the benchmark measures the engine, not the limit.
            database = args.db or "bench.db"
            (work / "socialscale.yaml").write_text(f"database: '{database}'\nfetch: {{per_host: 16, timeout: {args.timeout}}}\n"
                                                   f"sources:\n{sources}\n{RULES}")
            cmd = [sys.executable, "-m", "socialscale", "--quiet", "pull"]
            if args.profile:
                # Each thread's CPU time (time.thread_time), not wall-clock time: on a shared machine a
                # wall-clock profile mostly measures the other processes (a poll() of 60 µs, say).
                for old in HERE.glob("pull.prof.*"):
                    old.unlink()
                cmd = [sys.executable, "-c", PROFILE_MAIN, str(HERE / "pull.prof"), "--quiet", "pull"]
            if args.sample:
                cmd = ["py-spy", "record", "--threads", "--nonblocking", "--rate", "100", "--format", "raw",
                       "--output", str(Path(args.sample).resolve()), "--", *cmd]
            usage: dict[str, Any] | None = {} if args.usage else None
            first = run(cmd, work, server=args.db, usage=usage)
            first_cpu = dict(CPU)
            db = open_db(args.db or work / "bench.db")
            stored = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            tagged = db.execute("SELECT COUNT(*) FROM items WHERE lane IS NOT NULL").fetchone()[0]
            db.conn.close()
            second = run([sys.executable, "-m", "socialscale", "--quiet", "pull"], work, server=args.db)
            second_cpu = dict(CPU)
            version = run([sys.executable, "-m", "socialscale", "--version"], work)
            helptime = run([sys.executable, "-m", "socialscale", "--help"], work)
            urls = [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(args.feeds)]
            peers = run_peers(urls, work, args.feed_to_sqlite, args.usage) if args.peers else {}
    finally:
        server.terminate()
        server.wait()
    total = args.feeds * args.items
    print(f"feeds={args.feeds} items/feed={args.items} replies={args.replies:.0%} stored={stored} tagged={tagged}")
    print(f"first pull : {first:6.2f} s  ({total / first:,.0f} items/s end to end)   target < 12 s for 1000x50")
    print(f"second pull: {second:6.2f} s  (all 304)                                target < 2 s")
    print(f"--version  : {version:6.2f} s   --help: {helptime:.2f} s                  target < 0.3 s")
    for label, cpu in (("first pull ", first_cpu), ("second pull", second_cpu)):
        server_part = f" + PostgreSQL server {cpu['server']:.1f} s = {cpu['client'] + cpu['server']:.1f} s" \
            if args.db else ""
        print(f"{label}: CPU {cpu['client']:.1f} s (socialscale's main process; with its parsers: --usage){server_part}")
    for name, (one, two) in peers.items():
        if one is None:
            print(f"{name:11}: {two}")
            continue
        print(f"{name:11}: first {one:6.2f} s, second {two:6.2f} s;  socialscale/{name}: first {first / one:.2f}x, "
              f"second {second / two:.2f}x")
    if usage is not None:
        print(f"socialscale first pull: {usage}")
    if args.profile:
        import pstats

        for path in sorted(HERE.glob("pull.prof.*")):
            stats = pstats.Stats(str(path))
            total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
            print(f"{path.name}: {total:.2f} CPU s (time.thread_time)")
        for thread in ("MainThread", "socialscale-store*"):
            for path in sorted(HERE.glob(f"pull.prof.{thread}")):
                stats = pstats.Stats(str(path))
                print(f"{path.name}, CPU seconds (time.thread_time):")
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(25)


def run_peers(urls: list[str], work: Path, feed_to_sqlite: str | None,
              usage: bool = False) -> dict[str, tuple[float | None, Any]]:
    """First and second run of each peer on the same feeds: {name: (first_s, second_s)}, or (None, why).
    With `usage`, each peer's first run is also reported under `/usr/bin/time -v` (see `run`)."""
    out: dict[str, tuple[float | None, Any]] = {}
    measured: dict[str, dict[str, Any]] = {}
    if shutil.which("newsboat"):
        home = work / "newsboat"
        home.mkdir()
        (home / "urls").write_text("\n".join(urls) + "\n", encoding="utf-8")
        (home / "config").write_text("reload-threads 16\nshow-read-feeds yes\n", encoding="utf-8")
        cmd = ["newsboat", "-u", str(home / "urls"), "-c", str(home / "cache.db"), "-C", str(home / "config"),
               "-x", "reload"]
        env_home = {**os.environ, "HOME": str(home)}
        measured["newsboat"] = {}
        out["newsboat"] = (run(cmd, work, env_home, usage=measured["newsboat"] if usage else None),
                           run(cmd, work, env_home))
    else:
        out["newsboat"] = (None, "not installed (apt-get install newsboat)")
    if feed_to_sqlite:
        cmd = [feed_to_sqlite, str(work / "fts.db"), *urls]
        measured["feed-to-sqlite"] = {}
        out["feed-to-sqlite"] = (run(cmd, work, usage=measured["feed-to-sqlite"] if usage else None), run(cmd, work))
    else:
        out["feed-to-sqlite"] = (None, "not installed (pip install feed-to-sqlite, or --feed-to-sqlite PATH)")
    for name, figures in measured.items():
        if usage:
            print(f"{name} first run: {figures}")
    return out


if __name__ == "__main__":
    main()
