"""Sum py-spy's collapsed stacks (`bench_pull.py --sample OUT`) by thread and function.

    python benchmarks/stacks.py OUT [--top 30]

For each thread, busiest first: its samples, then the functions with the most samples including what
they called (inclusive) and in their own code (self), each as a count and a share of the thread's.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(:\d+)?\)$")


def load(path: str) -> dict[str, list[tuple[list[str], int]]]:
    """{thread: [(frames outermost first, as "function (file)"), samples]} from py-spy's raw format."""
    threads: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
    for line in open(path, encoding="utf-8"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        thread, _, rest = stack.partition(": ")
        parts = rest.split(";")
        if parts and not FRAME.match(parts[0]):  # a thread name, when py-spy knows it
            thread, parts = f"{thread} {parts[0]}", parts[1:]
        frames = [FRAME.sub(r"\g<function> (\g<file>)", p) for p in parts]
        threads[thread].append((frames, int(count)))
    return threads


def label(stacks: list[tuple[list[str], int]]) -> str:
    """What a thread is, by a function its stacks pass through: the pull's writer or its event loop."""
    seen = {f for frames, _ in stacks for f in frames}
    for marker, name in (("_store_group", "writer"), ("run_until_complete", "event loop")):
        if any(marker in f for f in seen):
            return name
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    threads = load(args.path)
    for thread, stacks in sorted(threads.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        total = sum(n for _, n in stacks)
        print(f"== {thread} ({label(stacks)}): {total} samples")
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for frames, n in stacks:
            for f in set(frames):
                inclusive[f] += n
            if frames:
                own[frames[-1]] += n
        for title, counts in (("inclusive", inclusive), ("self", own)):
            print(f"  {title}:")
            for f, n in counts.most_common(args.top):
                print(f"   {n:7d} {100 * n / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
