"""Rules benchmark: matcher throughput, and `socialscale tag --all` over a large stored database.

    python benchmarks/bench_rules.py                 # 1,000 rules x 1,000,000 items (takes a few minutes)
    python benchmarks/bench_rules.py --items 100000  # a quick run
    python benchmarks/bench_rules.py --skip-tag      # matching only
    python benchmarks/bench_rules.py --workers 0     # one process only (default: also cores-1 workers + caller)
    python benchmarks/bench_rules.py --skip-match --db postgresql://user@host/name   # tag --all on PostgreSQL
    python benchmarks/bench_rules.py --skip-match --scored   # items already scored, as a pull leaves them

Matching is timed through `Matcher.match_many` (every match) and `Matcher.decide_many` (the deciding
rules, what `tag` and the pull store) in one process, then through `MatchPool` (worker processes plus
the caller); each figure is the median of --repeat runs after a first run.

The items are synthetic but shaped like social posts: a title of 0-12 words (a third have
none, as on Mastodon), a body of 10-70 words (about 300 characters), Zipf-distributed common
words, punctuation, and about a third with non-ASCII text (curly quotes, accents, emoji).
About a quarter of them match at least one rule, as in real monitoring where most is chatter.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import yaml

import socialscale
from socialscale.insight.sentiment import MODEL, Vader
from socialscale.models import DEFAULT_LANES, Rule
from socialscale.rules.matcher import CHUNK, Matcher, fold
from socialscale.rules.pool import MatchPool, default_workers
from socialscale.store.bulk import insert_rows
from socialscale.store.db import transaction

COMMON = """the be to of and a in that have i it for not on with he as you do at this but his by from they we say
her she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only come its
over think also back after use two how our work first well way even new want because any these give day most us
is are was were been has had did said got made went thanks please really very much still already never always
today tomorrow yesterday week month team thing things lot bit great nice cool awesome love hate bad sure maybe
app site page account login email phone order shipping delivery price plan free trial support help question
update version feature bug issue problem fix release post blog video thread link share follow reply comment""".split()
DOMAIN = """refund broken crash crashes crashed outage downtime slow laggy invoice billing charged overcharged cancel
cancellation unsubscribe password reset locked hacked spam scam fraud pricing quote demo enterprise procurement
budget vendor migrate migration integration api webhook sdk competitor alternative switch switching evaluate
evaluating trial hiring recruiter salary remote internship careers onboarding partnership sponsor podcast
webinar launch roadmap changelog feedback review rating stars recommend recommendation""".split()
EXTRAS = ["’s", "’", "é", "café", "naïve", "résumé", "🙂", "🚀", "—", "…", "“quoted”", "Zürich", "señor"]
LANES = DEFAULT_LANES[1:]
Item = tuple[str, str, str, str, str]  # source, title, text, author, url


def make_rules(rng: random.Random, n: int, sources: list[str]) -> list[Rule]:
    """Mixed rules: words, phrases, prefixes, all/none terms, a few regexes, fields and sources."""
    words = DOMAIN + [_pseudo(rng) for _ in range(4000)]
    rules = []
    for i in range(n):
        kind = rng.random()
        any_terms: list[str] = []
        for _ in range(rng.randint(1, 4)):
            t = rng.random()
            if t < 0.55:
                any_terms.append(rng.choice(words))
            elif t < 0.85:
                any_terms.append(f"{rng.choice(words)} {rng.choice(COMMON[:30])}")
            else:
                any_terms.append(rng.choice(words)[:5] + "*")
        all_terms = [rng.choice(COMMON[60:])] if kind < 0.1 else []
        none_terms = [rng.choice(["we're hiring", "job opening", "sponsored"])] if kind > 0.85 else []
        regex = [r"\bv\d+\.\d+\b"] if i % 50 == 7 else []
        fields = ("title",) if i % 97 == 3 else ("title", "text", "author") if i % 89 == 5 else ("title", "text")
        rule_sources = (rng.choice(sources),) if i % 40 == 11 else ()
        rules.append(Rule(name=f"rule-{i}", lane=rng.choice(LANES), any=tuple(any_terms), all=tuple(all_terms),
                          none=tuple(none_terms), regex=tuple(regex), fields=fields, sources=rule_sources,
                          tags=(f"t{i % 13}",) if i % 5 == 0 else ()))
    return rules


def make_dense_rules(rng: random.Random, n: int, sources: list[str]) -> list[Rule]:
    """Rules made of common words, as real rule sets are ("customer service", "looking for", "any
    recommendations"): phrases of common words, `any` lists of common words, `none` terms. A post
    matches about a hundred of them."""
    pool = COMMON[:200]
    rules = []
    for i in range(n):
        any_terms: list[str] = []
        for _ in range(rng.randint(1, 3)):
            t = rng.random()
            if t < 0.35:
                any_terms.append(rng.choice(pool))
            elif t < 0.9:
                any_terms.append(f"{rng.choice(pool)} {rng.choice(pool[:80])}")
            else:
                any_terms.append(rng.choice(pool)[:3] + "*")
        all_terms = [rng.choice(pool)] if i % 10 == 3 else []
        none_terms = [rng.choice(pool[100:])] if i % 3 == 1 else []
        rules.append(Rule(name=f"dense-{i}", lane=rng.choice(LANES), any=tuple(any_terms), all=tuple(all_terms),
                          none=tuple(none_terms), fields=("title", "text"),
                          sources=(rng.choice(sources),) if i % 40 == 11 else (),
                          tags=(f"t{i % 13}",) if i % 5 == 0 else ()))
    return rules


def _pseudo(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 10)))


class ItemMaker:
    def __init__(self, rng: random.Random, rules: list[Rule]) -> None:
        self.rng = rng
        self.weights = [1 / (k + 1) for k in range(len(COMMON))]
        self.rare = [_pseudo(rng) for _ in range(20000)]
        self.terms = [t.rstrip("*") for r in rules for t in r.any]

    def words(self, n: int) -> str:
        rng = self.rng
        out = rng.choices(COMMON, self.weights, k=n)
        for k in range(n):
            r = rng.random()
            if r < 0.12:
                out[k] = rng.choice(self.rare)
            elif r < 0.125:
                out[k] = rng.choice(DOMAIN)
            if k % 7 == 6:
                out[k] += rng.choice([",", ".", "!", "?", " -", ":"])
        if rng.random() < 0.2:  # about a quarter of items end up matching a rule
            out.insert(rng.randrange(len(out) + 1), rng.choice(self.terms))
        if rng.random() < 0.33:
            out.insert(rng.randrange(len(out) + 1), rng.choice(EXTRAS))
        return " ".join(out).capitalize()

    def short(self, sources: list[str]) -> Item:
        rng = self.rng
        return (rng.choice(sources), "", self.words(rng.randint(8, 25)), f"@{rng.choice(self.rare)}",
                f"https://example.com/{rng.randint(1, 10**6)}")

    def item(self, sources: list[str]) -> Item:
        rng = self.rng
        title = self.words(rng.randint(3, 12)) if rng.random() < 0.67 else ""
        return (rng.choice(sources), title, self.words(rng.randint(10, 70)), f"@{rng.choice(self.rare)}",
                f"https://example.com/{rng.choice(self.rare)}/{rng.randint(1, 10**6)}")


def bench_matching(rules: list[Rule], items: list[Item], label: str, repeat: int, workers: int) -> None:
    """Items per second through Matcher.match_many (one process) and MatchPool (workers + the caller)."""
    started = time.perf_counter()
    matcher = Matcher(rules)
    compile_s = time.perf_counter() - started
    n = len(items)
    chars = sum(len(it[1]) + len(it[2]) for it in items) / n
    walls, cpus = [], []
    for _ in range(repeat + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        results = matcher.match_many(items)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    matched = sum(1 for r in results if r) / n
    # The first run is reported apart: in a fresh process it also pays for getting memory from the
    # system (20% slower than the runs after it here, GC or not); a long `tag --all` is past that.
    first = walls.pop(0)
    cpus.pop(0)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"{label}: {n:,} items, {chars:.0f} chars of title+text on average, {matched:.0%} matched a rule "
          f"(compiling {len(rules):,} rules: {compile_s:.2f} s)")
    print(f"  one process: {n / wall:,.0f} items/s ({n / cpu:,.0f} per CPU-second), median of {repeat} runs "
          f"({', '.join(f'{n / w:,.0f}' for w in walls)}) after a first run at {n / first:,.0f}")
    cpus = []
    for _ in range(repeat + 1):
        c0 = time.process_time()
        decided = matcher.decide_many(items)
        cpus.append(time.process_time() - c0)
    cpus.pop(0)
    deciding = statistics.median(cpus)
    print(f"  deciding (`decide_many`, what `tag` and the pull store), one process: {n / deciding:,.0f} items per "
          f"CPU-second ({deciding * 1e6 / n:.1f} us an item), median of {repeat} runs after a first; "
          f"{sum(map(len, decided)) / n:.1f} deciding rules an item of {sum(map(len, results)) / n:.1f} matching")
    fold_s, scan_s = _where_the_time_goes(matcher, items)
    us = 1e6 / n
    print(f"  per item: {cpu * us:.2f} us = joining and folding title+text {fold_s * us:.2f} + Aho-Corasick scan "
          f"{scan_s * us:.2f} + the rest {(cpu - fold_s - scan_s) * us:.2f} (crediting hits to items, the author "
          "scan, confirming phrases, checking the rules a term set off)")
    if workers < 1:
        return
    t0 = time.perf_counter()
    with MatchPool(rules, workers=workers, matcher=matcher) as pool:
        pool.start()
        start_s = time.perf_counter() - t0
        walls = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            pooled = pool.match_many(items)
            walls.append(time.perf_counter() - t0)
    assert pooled == results, "the pool must agree with one process"
    first = walls.pop(0)
    wall = statistics.median(walls)
    print(f"  {workers + 1} processes ({workers} worker{'s' * (workers > 1)} + the caller): {n / wall:,.0f} items/s, "
          f"median of {repeat} runs ({', '.join(f'{n / w:,.0f}' for w in walls)}) after a first run at "
          f"{n / first:,.0f}; starting the workers took {start_s:.2f} s, once")


def _where_the_time_goes(matcher: Matcher, items: list[Item]) -> tuple[float, float]:
    """CPU seconds spent joining and folding the title+text of every chunk, and scanning it."""
    scanner = matcher._scanners[0]
    automaton = scanner.automaton
    chunks = [items[k:k + CHUNK] for k in range(0, len(items), CHUNK)]
    c0 = time.process_time()
    texts = [fold(scanner.batch(chunk)) for chunk in chunks]
    fold_s = time.process_time() - c0
    c0 = time.process_time()
    for text in texts:
        list(automaton.iter(text))
    return fold_s, time.process_time() - c0


_vader: Vader | None = None


def _score(texts: list[tuple[str, str]]) -> list[float | None]:
    global _vader
    if _vader is None:
        _vader = Vader()
    return [_vader.item_score(title, text) for title, text in texts]


def scores(pool: multiprocessing.pool.Pool, rows: list[tuple[str, str]]) -> list[float | None]:
    """Each (title, text)'s sentiment, as the pull's parser processes score it, on every core."""
    step = 2_000
    return [s for part in pool.map(_score, [rows[k:k + step] for k in range(0, len(rows), step)]) for s in part]


def build_db(rules: list[Rule], maker: ItemMaker, sources: list[str], n: int, workdir: Path,
             url: str | None = None, scored: bool = False) -> Path:
    """A config with `rules` and a database of `n` untagged items (in a new SQLite file, or in the empty
    PostgreSQL database `url`); returns the config's path. With `scored`, each item's sentiment is stored
    as a pull stores it (scored by the current model), so `tag --all` has none to score; without, none
    is (a database upgraded from before migration 9, or a new model)."""
    db_path = workdir / "bench.db"
    config = {
        "database": url or str(db_path),
        "sources": [{"name": s, "url": f"https://example.com/{s}.xml"} for s in sources],
        "lanes": {"listening": {"respond": False}, **{lane: {"sla": "1d"} for lane in LANES}},
        "rules": [{"name": r.name, "lane": r.lane, "any": list(r.any), "all": list(r.all), "none": list(r.none),
                   "regex": list(r.regex), "fields": list(r.fields), "sources": list(r.sources),
                   "tags": list(r.tags)} for r in rules],
    }
    config_path = workdir / "socialscale.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    t0 = time.perf_counter()
    db = socialscale.open(config_path).db
    # Bulk load without full-text indexing (it is not what is measured, and it triples the load time).
    if url:
        db.execute("ALTER TABLE items DISABLE TRIGGER items_search_ai")
    else:
        db.conn.execute("DROP TRIGGER items_ai")
    now = "2024-05-01T12:00:00Z"
    columns = ("source", "guid", "title", "text", "author", "url", "first_seen_at", "updated_at", "start_at",
               "content_hash", "sentiment", "sentiment_model")
    pool = multiprocessing.get_context("forkserver").Pool(os.cpu_count() or 1) if scored else None
    for start in range(0, n, 50_000):
        made = [maker.item(sources) for _ in range(min(50_000, n - start))]
        sentiments = scores(pool, [(t, x) for _, t, x, _, _ in made]) if pool else [None] * len(made)
        model = MODEL if scored else None
        rows = [(s, f"g{start + k}", t, x, a, u, now, now, now, "h", score, model)
                for k, ((s, t, x, a, u), score) in enumerate(zip(made, sentiments, strict=True))]
        with transaction(db):
            insert_rows(db, "items", columns, rows)
    if pool is not None:
        pool.close()
        pool.join()
    # Threaded as a pull leaves them (each post the root of its own conversation), and one report run, which
    # computes what a report keeps per conversation (schema 11), so that `tag --all` pays what it pays on a
    # pulled database: its changes list conversations for the next report (store/figures.py).
    with transaction(db):
        db.execute("UPDATE items SET conversation_id = id WHERE conversation_id IS NULL")
    from socialscale.reports import conversations

    conversations(db, socialscale.open(config_path).config, now=datetime.now(timezone.utc))
    if url:
        # A live server's autovacuum has long since visited the table; do it now rather than during the run.
        db.execute("ALTER TABLE items ENABLE TRIGGER items_search_ai")
        db.execute("VACUUM ANALYZE items")
        size = db.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20
    else:
        size = db_path.stat().st_size / 2**20
    db.conn.close()
    print(f"loaded {n:,} items into {url or db_path.name} ({size:.0f} MiB) in {time.perf_counter() - t0:.1f} s, "
          f"{'each scored by ' + MODEL + ' (as a pull leaves them)' if scored else 'none scored (an upgrade)'}")
    return config_path


def bench_tag(config_path: Path, url: str | None = None) -> None:
    """`socialscale tag --all` as a user runs it (a fresh process each time), three ways; wall time, and the
    CPU seconds of the process and its children (the sentiment worker), which a shared machine moves less;
    with `url` (a PostgreSQL server on this machine), the server's CPU seconds too (bench_pull.server_cpu)."""
    env = {**os.environ, "SOCIALSCALE_CONFIG": str(config_path)}
    server = _server_cpu(url)
    for label, args in (("first tagging of every item (all change, one event each)", ["tag", "--all"]),
                        ("tag --all again, nothing changes", ["tag", "--all"]),
                        ("tag --all --dry-run", ["tag", "--all", "--dry-run"])):
        t0, c0, s0 = time.perf_counter(), _children_cpu(), server()
        # GNU time's "Maximum resident set size" (`time -v`; %M here): the largest process's peak, the
        # sentiment worker included when one runs (issue 14 target 3: under 500 MB).
        timed = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
        out = subprocess.run([*timed, sys.executable, "-m", "socialscale", "--quiet", *args, "--format", "json"],
                             env=env, capture_output=True, text=True, check=True)
        elapsed, cpu, on_server = time.perf_counter() - t0, _children_cpu() - c0, server() - s0
        result = json.loads(out.stdout)
        peak = f", peak RSS {int(out.stderr.split()[-1]) / 1024:.0f} MB" if timed else ""
        beside = f" + server {on_server:.1f} CPU s" if url else ""
        print(f"socialscale {' '.join(args)}: {elapsed:.1f} s end to end, {cpu:.1f} CPU s{beside}{peak} ({label}; "
              f"changed {result['changed']:,}, scored {result['scored']:,})")
    db = socialscale.open(config_path).db
    events = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'tagged'").fetchone()[0]
    db.conn.close()
    print(f"tagged events written: {events:,}")


def _server_cpu(url: str | None) -> Callable[[], float]:
    """What reads the server's CPU seconds so far (0 without a server, or for one on another machine)."""
    if not url:
        return lambda: 0.0
    from bench_pull import server_cpu  # a sibling script (benchmarks/ is on sys.path when run as one)

    try:
        server_cpu(url)
    except (OSError, KeyError):  # no /proc entry of its processes: the server runs elsewhere
        return lambda: 0.0
    return lambda: server_cpu(url)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--skip-tag", action="store_true", help="only measure the matcher")
    parser.add_argument("--skip-match", action="store_true", help="only measure `socialscale tag`")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dense", action="store_true",
                        help="rules of common words and phrases, about 100 matching each post (issue 14)")
    parser.add_argument("--repeat", type=int, default=3, help="matching runs per figure (the median is reported)")
    parser.add_argument("--workers", type=int, default=max(1, default_workers()),
                        help="worker processes next to the caller for the pooled figure (0: skip it)")
    parser.add_argument("--db", help="run `tag --all` on this empty PostgreSQL database instead of a new SQLite "
                                     "file: postgresql://user@host/name (password from PGPASSWORD)")
    parser.add_argument("--scored", action="store_true",
                        help="store each item's sentiment as a pull does (default: none, as after an upgrade)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = [f"source-{k}" for k in range(8)]
    rules = (make_dense_rules if args.dense else make_rules)(rng, args.rules, sources)
    maker = ItemMaker(rng, rules)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if not args.skip_match:
        items = [maker.item(sources) for _ in range(args.items)]
        bench_matching(rules, items, "posts (a title on two thirds, 10-70 words)", args.repeat, args.workers)
        del items
        short = [maker.short(sources) for _ in range(min(args.items, 200_000))]
        bench_matching(rules, short, "short posts (no title, 8-25 words)", args.repeat, args.workers)
        del short
    if not args.skip_tag:
        with tempfile.TemporaryDirectory() as tmp:
            bench_tag(build_db(rules, maker, sources, args.items, Path(tmp), args.db, args.scored), args.db)


if __name__ == "__main__":
    main()
