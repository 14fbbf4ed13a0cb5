"""The fetching engine alone: N GETs of the benchmark feeds at 16 in flight, through socialscale's Fetcher
(httpx with `fetch.pooled_transport`), against benchmarks/feedserver.py in its own process.

    python benchmarks/bench_fetch.py [--gets 2000] [--repeat 3]

Prints this process's CPU seconds (time.process_time: the event loop's share of a pull's main process,
which a shared machine moves less than wall time) and the wall time, per run. Compare versions by
running an export of each with PYTHONPATH pointing at it, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

from socialscale.fetch import Fetcher  # noqa: E402
from socialscale.models import FetchSettings  # noqa: E402

FEEDS = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the feed server on port {port} did not start")


async def run(port: int, gets: int) -> tuple[float, float]:
    async with Fetcher(FetchSettings(per_host=16, concurrency=16)) as fetcher:
        c0, t0 = time.process_time(), time.perf_counter()
        results = await asyncio.gather(*(fetcher.get(f"http://127.0.0.1:{port}/feed/{n % FEEDS}.xml")
                                         for n in range(gets)))
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    assert all(r.status == 200 for r in results)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "feedserver.py"), str(port), str(FEEDS), "50"],
                              stdout=subprocess.DEVNULL)
    try:
        wait_for(port)
        for _ in range(opts.repeat):
            cpu, wall = asyncio.run(run(port, opts.gets))
            print(f"{opts.gets} GETs at 16 in flight: {cpu:.2f} CPU s, {wall:.2f} s wall")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
