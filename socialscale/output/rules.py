"""`why`, `rules test` and `rules list` in a terminal: matched text highlighted, untrusted parts cleaned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from socialscale.output.render import Column

if TYPE_CHECKING:
    from rich.text import Text

    from socialscale.models import Config
    from socialscale.shapes import ExplainedRule, FoundText, RuleHit, RuleStat, RuleStats, RuleTest, Why

HIGHLIGHT = "bold reverse"
TEST_COLUMNS = (
    Column("name", "rule"),
    Column("lane", "lane", "plain"),
    Column("terms", "matched terms"),
)
NEAR_MISSES = 5


def print_why(data: Why, everything: bool) -> None:
    from rich.text import Text

    from socialscale.insight.priority import describe_priority
    from socialscale.output.render import clean, out_console

    console = out_console()
    result, stored = data["result"], data["stored"]
    head = Text(f"item {data['id']} from {clean(data['source'])}: ", style="bold")
    head.append(clean(data.get("title") or "(no title)"), style="")
    console.print(head)
    console.print(Text(clean(f"lane {result['lane']} · lanes {', '.join(result['lanes'])} · "
                             f"tags {', '.join(result['tags']) or '-'} · owner {result['owner'] or '-'}")))
    console.print(Text(f"  why this lane: {data['winner_reason']}"))
    console.print(Text(f"  owner: {result['owner_from']}"))
    from socialscale.insight.sentiment import describe_sentiment  # its lexicon loads on import

    console.print(Text(f"  sentiment: {describe_sentiment(data['sentiment']['score'])} · "
                       f"reach: {'-' if data['reach'] is None else data['reach']}"))
    console.print(Text(f"  priority: {describe_priority(data['priority'])}"))
    if not stored["current"]:
        console.print(Text(f"  stored now: lane {stored['lane'] or '(untagged)'}, tagged by other rules; "
                           "`socialscale tag` applies the current ones", style="yellow"))
    explanations = data["rules"]
    matched = [e for e in explanations if e["matched"]]
    near = sorted((e for e in explanations if not e["matched"] and e["outcome"] != "nothing"),
                  key=lambda e: (-e["score"], e["index"]))
    rest = [e for e in explanations if not e["matched"] and e["outcome"] == "nothing"]
    if matched:
        console.print(Text("\nmatched", style="bold"))
        for e in matched:
            print_rule(console, e, winner=e["name"] == data["winner"])
    if near:
        console.print(Text("\nnear misses", style="bold"))
        for e in near if everything else near[:NEAR_MISSES]:
            print_rule(console, e, winner=False)
        if not everything and len(near) > NEAR_MISSES:
            console.print(Text(f"  … {len(near) - NEAR_MISSES} more (--all shows them)"))
    if rest:
        if everything:
            console.print(Text("\nno term found", style="bold"))
            for e in rest:
                print_rule(console, e, winner=False)
        else:
            console.print(Text(f"\n{len(rest)} other rule(s) did not come close (--all lists them)."))
OUTCOMES = {"blocked": "blocked by a `none` term", "incomplete": "terms missing", "regex": "a regex failed",
            "source": "not from its sources", "nothing": "no term found"}


def print_rule(console: Any, e: ExplainedRule, *, winner: bool) -> None:
    from rich.text import Text

    from socialscale.output.render import clean

    line = Text(f"  #{e['index'] + 1} ", style="bold")
    line.append(clean(e["name"]), style="bold")
    line.append(f" → {clean(e['lane'])}")
    if winner:
        line.append("  (winner)", style="bold green")
    if not e["matched"]:
        line.append(f": {OUTCOMES[e['outcome']]}", style="yellow")
    console.print(line)
    for f in e["found"] + e["blocked_by"]:
        label = "blocked by none" if f["kind"] == "none" else f["kind"]
        console.print(_in_context(f"    {label} {_flat(repr(f['term']))} in {f['field']}: ", f))
    if e["matched"]:
        return
    for term in e["missing"]:
        console.print(Text(f"    missing {clean(term)}"))
    for pattern in e["regex_failed"]:
        console.print(Text(f"    regex /{clean(pattern)}/ did not match"))
    if not e["source_ok"]:
        console.print(Text(f"    {clean(e['reason'] if e['outcome'] == 'source' else 'not from its sources')}"))


def _in_context(prefix: str, f: FoundText) -> Text:
    """`prefix` (built from config names) then the excerpt, its untrusted parts cleaned piece by piece."""
    from rich.text import Text

    text = Text(prefix)
    text.append("“" + _flat(f["before"]))
    text.append(_flat(f["text"]), style=HIGHLIGHT)
    text.append(_flat(f["after"]) + "”")
    return text


def _flat(value: str) -> str:
    # clean(single_line=True) would also strip the spaces at the ends of an excerpt's pieces.
    from socialscale.output.render import clean

    return clean(value, single_line=False).replace("\t", " ").replace("\n", " ")


def print_test(config: Config, item: dict[str, Any], data: RuleTest) -> None:
    from rich.text import Text

    from socialscale.output.render import clean, out_console, table

    console = out_console()
    hits = {r.name: r for r in config.rules}
    for name in ("title", "text", "author", "url"):
        if item.get(name):
            line = Text(f"{name}: ", style="bold")
            line.append_text(highlighted(item[name], data["rules"], hits, name))
            console.print(line)
    from socialscale.insight.sentiment import describe_sentiment

    if data["rules"]:
        console.print(table([{**r, "terms": ", ".join(r["terms"])} for r in data["rules"]], TEST_COLUMNS))
        how = "the first matching rule"
    else:
        console.print("No rule matches.")
        how = "default_lane"
    console.print(Text(clean(f"lane {data['lane']} ({how}) · lanes {', '.join(data['lanes'])} · "
                             f"owner {data['owner'] or '-'} · tags {', '.join(data['tags']) or '-'} · "
                             f"sentiment {describe_sentiment(data['sentiment'])}")))


def highlighted(value: str, matched: Sequence[RuleHit], rules: dict[str, Any], name: str) -> Text:
    """The cleaned text with what matched styled; spans are found on the cleaned text itself."""
    from rich.text import Text

    from socialscale.output.render import clean
    from socialscale.rules.explain import highlight_spans

    shown = clean(value)
    words: list[str] = []
    regexes: list[str] = []
    for hit in matched:
        rule = rules[hit["name"]]
        if name in rule.fields:
            words += [t for t in hit["terms"] if t in rule.any or t in rule.all]
            regexes += list(rule.regex)
    text = Text(shown)
    for a, b in highlight_spans(shown, words, regexes):
        text.stylize(HIGHLIGHT, a, b)
    return text


def print_rule_list(stats: RuleStats, tz: str) -> None:
    """Two lines a rule (what it does, then its terms): readable at any terminal width, unlike a wide table."""
    from rich.text import Text

    from socialscale.output.render import Paragraph, clean, full_time, out_console

    console = out_console()
    console.print(Paragraph(f"{len(stats['rules'])} rules, in order; matches among {stats['items']:,} items first "
                            f"seen since {full_time(stats['since'], tz)}", style="bold"))
    for r in stats["rules"]:
        line = Text(f"{r['index']:>3}  ")
        line.append(clean(r["name"]), style="bold")
        line.append(f" → {clean(r['lane'])} · owner {clean(r['owner'] or '-')} · ")
        if r["matches"]:
            line.append(f"{r['matches']:,} match{'es' if r['matches'] != 1 else ''}")
        else:
            line.append("no matches", style="bold yellow")
        console.print(Paragraph(line))
        console.print(Paragraph(_terms_summary(r), indent=5))


def _terms_summary(rule: RuleStat) -> str:
    parts = [f"{key}: {', '.join(terms)}" for key, terms in (("any", rule["any"]), ("all", rule["all"]),
                                                                ("none", rule["none"])) if terms]
    parts += [f"regex: {' '.join('/' + p + '/' for p in rule['regex'])}"] if rule["regex"] else []
    if rule["fields"] != ["title", "text"]:
        parts.append(f"in {', '.join(rule['fields'])}")
    if rule["sources"]:
        parts.append(f"from {', '.join(rule['sources'])}")
    if rule["tags"]:
        parts.append(f"tags: {', '.join(rule['tags'])}")
    return "; ".join(parts)
