"""`tag`, `why` and `rules test|list`: apply the keyword rules, and show why an item is where it is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialscale.cli.state import Format, FormatOption, JsonOption, output_format, state
from socialscale.render import Column

if TYPE_CHECKING:
    from rich.text import Text

    from socialscale.models import Config

HIGHLIGHT = "bold reverse"
MOVE_COLUMNS = (
    Column("from", "from lane", "plain"),
    Column("to", "to lane", "plain"),
    Column("count", "items", "number"),
    Column("examples", "e.g. ids", "plain"),
)
LIST_COLUMNS = tuple(Column(k, k) for k in ("index", "name", "lane", "owner", "any", "all", "none", "regex", "fields",
                                             "sources", "tags", "matches"))
TEST_COLUMNS = (
    Column("name", "rule", max_width=28),
    Column("lane", "lane", "plain"),
    Column("terms", "matched terms", max_width=70),
)
NEAR_MISSES = 5

rules_app = typer.Typer(help="Check the keyword rules: what a text would match, and what each rule caught lately."
                        "\n\n\b\nExample:\n  socialscale rules test \"my order arrived broken\"\n  socialscale rules list",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("tag")(tag)
    app.command("why")(why)
    rules_app.command("test")(rules_test)
    rules_app.command("list")(rules_list)
    app.add_typer(rules_app, name="rules")


def tag(
    ctx: typer.Context,
    all_items: Annotated[bool, typer.Option("--all", help="Re-check every item, not only those tagged by older rules.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would move between lanes; write nothing.")] = False,
    relink: Annotated[bool, typer.Option("--relink", help="Also re-derive which items are the team's own and which "
                                         "replies answered what (after editing team handles).")] = False,
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Re-apply the rules to stored items after the rules changed.

    Items a person assigned or answered keep their owner and status; only lane, lanes and tags follow
    the rules, and every change is a `tagged` event.

    \b
    Example:
      socialscale tag --dry-run
      socialscale tag --all
      socialscale tag --relink
    """
    from socialscale.tagging import Tagger
    from socialscale.timeutil import now_utc, utc_iso

    st = state(ctx)
    db = st.db()
    out = output_format(fmt, as_json)
    tagger = Tagger(st.config())
    now = utc_iso(now_utc())
    if st.quiet or out != "table":
        summary = tagger.retag(db, now=now, all_items=all_items, dry_run=dry_run)
    else:
        from socialscale.render import err_console

        # A million items take half a minute: say how far it got (stderr, so stdout stays data).
        with err_console().status("re-tagging…") as status:
            summary = tagger.retag(db, now=now, all_items=all_items, dry_run=dry_run,
                                   progress=lambda s: status.update(f"re-tagging… {s.checked:,} items checked"))
    if relink and not dry_run:
        # Handles decide what is "ours" and which replies count as responses; a changed team
        # list only reaches new pulls unless the stored items are linked again.
        from socialscale import replies
        from socialscale.store.db import transaction

        with transaction(db):
            replies.link_all(db, st.config(), now)
    if out != "table":
        from socialscale.render import emit

        emit(out, rows=summary.move_rows(), columns=MOVE_COLUMNS, data=summary.to_json())
        return
    if st.quiet:
        return
    from socialscale.render import out_console, table

    console = out_console()
    verb = "would change" if dry_run else "changed"
    if not summary.checked:
        from socialscale.store.tagging import count_items

        if count_items(db):
            console.print("Nothing to re-tag: every item is tagged by the current rules (--all re-checks them all).")
        else:
            console.print("No items stored yet: `socialscale pull` fetches some.")
        return
    if not summary.changed:
        console.print(f"Checked {summary.checked:,} items: the current rules change none of them.", highlight=False)
        return
    console.print(f"Checked {summary.checked:,} items: {verb} {summary.changed:,}, "
                  f"{summary.moved:,} of them to another lane.", highlight=False)
    if summary.kept:
        console.print(f"{summary.kept:,} of them keep the owner and status a person decided.", highlight=False)
    rows = [{**r, "from": r["from"] or "(untagged)", "examples": ", ".join(map(str, r["examples"]))}
            for r in summary.move_rows()]
    if rows:
        console.print(table(rows, MOVE_COLUMNS, title="moves between lanes"))
    if dry_run:
        console.print("Dry run: nothing was written. Run without --dry-run to apply.")


def why(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(metavar="ID", help="The item's id (see `socialscale items`).")],
    everything: Annotated[bool, typer.Option("--all", help="Show every rule, not only matches and near misses.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Explain why a stored item is in its lane: matched rules and text, the winner, the owner, near misses.

    \b
    Example:
      socialscale why 42
    """
    from socialscale.tagging import why as explain

    st = state(ctx)
    data = explain(st.db(), st.config(), item_id)
    if as_json:
        from socialscale.render import write_json

        write_json(data)
        return
    _print_why(data, everything)


def _print_why(data: dict[str, Any], everything: bool) -> None:
    from rich.text import Text

    from socialscale.render import clean, out_console

    console = out_console()
    result, stored = data["result"], data["stored"]
    head = Text(f"item {data['id']} from {clean(data['source'])}: ", style="bold")
    head.append(clean(data.get("title") or "(no title)"), style="")
    console.print(head)
    console.print(Text(f"lane {result['lane']} · lanes {', '.join(result['lanes'])} · "
                       f"tags {', '.join(result['tags']) or '-'} · owner {result['owner'] or '-'}"))
    console.print(Text(f"  why this lane: {data['winner_reason']}"))
    console.print(Text(f"  owner: {result['owner_from']}"))
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
            _print_rule(console, e, winner=e["name"] == data["winner"])
    if near:
        console.print(Text("\nnear misses", style="bold"))
        for e in near if everything else near[:NEAR_MISSES]:
            _print_rule(console, e, winner=False)
        if not everything and len(near) > NEAR_MISSES:
            console.print(Text(f"  … {len(near) - NEAR_MISSES} more (--all shows them)"))
    if rest:
        if everything:
            console.print(Text("\nno term found", style="bold"))
            for e in rest:
                _print_rule(console, e, winner=False)
        else:
            console.print(Text(f"\n{len(rest)} other rule(s) did not come close (--all lists them)."))


OUTCOMES = {"blocked": "blocked by a `none` term", "incomplete": "terms missing", "regex": "a regex failed",
            "source": "not from its sources", "nothing": "no term found"}


def _print_rule(console: Any, e: dict[str, Any], *, winner: bool) -> None:
    from rich.text import Text

    from socialscale.render import clean

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


def _in_context(prefix: str, f: dict[str, Any]) -> Text:
    """`prefix` (built from config names) then the excerpt, its untrusted parts cleaned piece by piece."""
    from rich.text import Text

    text = Text(prefix)
    text.append("“" + _flat(f["before"]))
    text.append(_flat(f["text"]), style=HIGHLIGHT)
    text.append(_flat(f["after"]) + "”")
    return text


def _flat(value: str) -> str:
    # clean(single_line=True) would also strip the spaces at the ends of an excerpt's pieces.
    from socialscale.render import clean

    return clean(value, single_line=False).replace("\t", " ").replace("\n", " ")


def rules_test(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The text (body) to test; `-` reads it from stdin.")],
    source: Annotated[str | None, typer.Option("--source", help="Test as if from this configured source.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="A title to test along with the text.")] = None,
    author: Annotated[str | None, typer.Option("--author", help="An author, for rules that look at `author`.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="A URL, for rules that look at `url`.")] = None,
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Show which rules and lanes a text would match, with the matched terms highlighted.

    Without --source, rules limited to some sources do not match.

    \b
    Example:
      socialscale rules test "Is there an alternative to Acme? Need a quote"
      socialscale rules test "refund please" --source hn-acme
    """
    import sys

    from socialscale.errors import UsageError
    from socialscale.tagging import test_item

    config = state(ctx).config()
    if text == "-":
        text = sys.stdin.read()
    if source is not None and config.source(source) is None:
        known = ", ".join(s.name for s in config.sources) or "none configured"
        raise UsageError(f"--source {source!r}: unknown source (sources: {known})")
    item = {"source": source or "", "title": title or "", "text": text, "author": author, "url": url}
    data = test_item(config, item)
    out = output_format(fmt, as_json)
    if out != "table":
        from socialscale.render import emit

        rows = [{**r, "terms": ", ".join(r["terms"])} for r in data["rules"]]
        emit(out, rows=rows if out == "csv" else data["rules"], columns=TEST_COLUMNS, data=data)
        return
    _print_test(config, item, data)


def _print_test(config: Config, item: dict[str, Any], data: dict[str, Any]) -> None:
    from rich.text import Text

    from socialscale.render import out_console, table

    console = out_console()
    hits = {r.name: r for r in config.rules}
    for name in ("title", "text", "author", "url"):
        if item.get(name):
            line = Text(f"{name}: ", style="bold")
            line.append_text(_highlighted(item[name], data["rules"], hits, name))
            console.print(line)
    if data["rules"]:
        console.print(table([{**r, "terms": ", ".join(r["terms"])} for r in data["rules"]], TEST_COLUMNS))
        how = "the first matching rule"
    else:
        console.print("No rule matches.")
        how = "default_lane"
    console.print(Text(f"lane {data['lane']} ({how}) · lanes {', '.join(data['lanes'])} · "
                       f"owner {data['owner'] or '-'} · tags {', '.join(data['tags']) or '-'}"))


def _highlighted(value: str, matched: Sequence[dict[str, Any]], rules: dict[str, Any], name: str) -> Text:
    """The cleaned text with what matched styled; spans are found on the cleaned text itself."""
    from rich.text import Text

    from socialscale.render import clean
    from socialscale.rules_explain import highlight_spans

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


def rules_list(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Count matches among items first seen since: a duration back or a date.")] = "7d",
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """List the rules in config order, with how many items each matched lately (default: 7 days).

    A rule that matched nothing is flagged: its terms may be misspelt, or too narrow.

    \b
    Example:
      socialscale rules list --since 30d
    """
    from socialscale.render import emit, err_console
    from socialscale.tagging import rule_stats
    from socialscale.timeutil import now_utc, parse_since, utc_iso

    st = state(ctx)
    stats = rule_stats(st.db(), st.config(), utc_iso(parse_since(since, now_utc())))
    out = output_format(fmt, as_json)
    rows = stats["rules"]
    if out != "table":
        emit(out, rows=rows, columns=LIST_COLUMNS)
        return
    if not rows:
        err_console().print("No rules configured: every item goes to the default lane (see docs/rules.md).")
        return
    _print_rule_list(stats)
    if stats["stale"] and not st.quiet:
        err_console().print(f"note: {stats['stale']:,} items are not tagged by the current rules, so their "
                            "counts are for older ones; `socialscale tag` re-applies the current rules.")


def _print_rule_list(stats: dict[str, Any]) -> None:
    """Two lines a rule (what it does, then its terms): readable at any terminal width, unlike a wide table."""
    from rich.padding import Padding
    from rich.text import Text

    from socialscale.render import clean, out_console

    console = out_console()
    console.print(Text(f"{len(stats['rules'])} rules, in order; matches among {stats['items']:,} items first seen "
                       f"since {stats['since']}", style="bold"))
    for r in stats["rules"]:
        line = Text(f"{r['index']:>3}  ")
        line.append(clean(r["name"]), style="bold")
        line.append(f" → {clean(r['lane'])} · owner {clean(r['owner'] or '-')} · ")
        if r["matches"]:
            line.append(f"{r['matches']:,} match{'es' if r['matches'] != 1 else ''}")
        else:
            line.append("no matches", style="bold yellow")
        console.print(line)
        console.print(Padding(Text(clean(_terms_summary(r))), (0, 0, 0, 5), expand=False))


def _terms_summary(rule: dict[str, Any]) -> str:
    parts = [f"{key}: {', '.join(rule[key])}" for key in ("any", "all", "none") if rule[key]]
    parts += [f"regex: {' '.join('/' + p + '/' for p in rule['regex'])}"] if rule["regex"] else []
    if rule["fields"] != ["title", "text"]:
        parts.append(f"in {', '.join(rule['fields'])}")
    if rule["sources"]:
        parts.append(f"from {', '.join(rule['sources'])}")
    if rule["tags"]:
        parts.append(f"tags: {', '.join(rule['tags'])}")
    return "; ".join(parts)
