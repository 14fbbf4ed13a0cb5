"""Sentiment scoring speed: the reference vaderSentiment against socialscale's port (same scores).

python benchmarks/bench_sentiment.py [--items 200000] [--repeat 3]

Two workloads: the labelled posts of tests/fixtures/sentiment (real-looking social posts, almost
all with a rated word), and bench_rules' synthetic posts (a title on two thirds, 10-70 words).
Each figure is CPU time per item (time.process_time, so other work on the machine weighs less),
the median of --repeat runs; the reference runs on a tenth of the items (it is slow).
`tag --all` end to end, with sentiment, is bench_rules.py's figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_rules import ItemMaker, make_rules  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from socialscale.insight.sentiment import Vader  # noqa: E402


def per_item(score: Callable[[str], object], texts: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        for text in texts:
            score(text)
        runs.append((time.process_time() - t0) / len(texts) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    labelled = [json.loads(line)["text"] for line in
                (HERE.parent / "tests" / "fixtures" / "sentiment" / "labelled.jsonl").read_text().splitlines()]
    rng = random.Random(7)
    maker = ItemMaker(rng, make_rules(rng, 100, ["s"]))
    synthetic = [f"{t}\n{x}" if t else x for _, t, x, _, _ in (maker.item(["s"]) for _ in range(args.items))]
    posts = [rng.choice(labelled) for _ in range(args.items)]
    reference, vader = SentimentIntensityAnalyzer(), Vader()
    print(f"python {sys.version.split()[0]}; CPU µs per item, median of {args.repeat}")
    for name, texts in (("labelled posts (78 chars)", posts), ("synthetic posts (212 chars)", synthetic)):
        sample = texts[: max(1, len(texts) // 10)]
        assert [vader.compound(t) for t in sample[:2000]] == [reference.polarity_scores(t)["compound"]
                                                              for t in sample[:2000]]
        ref = per_item(lambda t: reference.polarity_scores(t)["compound"], sample, args.repeat)
        fast = per_item(vader.compound, texts, args.repeat)
        guarded = per_item(lambda t: vader.item_score(None, t), texts, args.repeat)
        print(f"{name}: reference {ref:.1f} µs · port {fast:.1f} µs ({ref / fast:.1f}x) · "
              f"with the language guard {guarded:.1f} µs → {guarded:.1f} s per million items")


if __name__ == "__main__":
    main()
