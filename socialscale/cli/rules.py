"""`tag`, `why` and `rules test|list`: apply the keyword rules, and show why an item is where it is."""

from __future__ import annotations

from typing import Annotated

import typer

from socialscale.cli import complete
from socialscale.cli.state import Format, FormatOption, ItemIdArgument, JsonOption, output_format, state
from socialscale.output.render import Column
from socialscale.output.rules import TEST_COLUMNS, print_rule_list, print_test, print_why

MOVE_COLUMNS = (
    Column("from", "from lane", "plain"),
    Column("to", "to lane", "plain"),
    Column("count", "items", "number"),
    Column("examples", "e.g. ids", "plain"),
)
LIST_COLUMNS = tuple(Column(k, k) for k in ("index", "name", "lane", "owner", "any", "all", "none", "regex", "fields",
                                             "sources", "tags", "matches"))

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
    rescore: Annotated[bool, typer.Option("--rescore", help="Score the sentiment of the items it checks again, "
                                          "even those the current model already scored.")] = False,
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """Re-apply the rules to stored items after the rules changed.

    Items a person assigned or answered keep their owner and status; only lane, lanes and tags follow
    the rules, and every change is a `tagged` event. An item's sentiment is scored once per model and
    text (again when a pull changes the text); --rescore scores the checked items again.

    \b
    Example:
      socialscale tag --dry-run
      socialscale tag --all
      socialscale tag --all --rescore
      socialscale tag --relink
    """
    from socialscale.rules.tagging import Tagger
    from socialscale.timeutil import now_utc, utc_iso

    st = state(ctx)
    db = st.db()
    out = output_format(fmt, as_json)
    tagger = Tagger(st.config())
    now = utc_iso(now_utc())
    if st.quiet or out != "table":
        summary = tagger.retag(db, now=now, all_items=all_items, dry_run=dry_run, rescore=rescore)
    else:
        from socialscale.output.render import err_console

        # A million items take half a minute: say how far it got (stderr, so stdout stays data).
        with err_console().status("re-tagging…") as status:
            summary = tagger.retag(db, now=now, all_items=all_items, dry_run=dry_run, rescore=rescore,
                                   progress=lambda s: status.update(f"re-tagging… {s.checked:,} items checked"))
    if relink and not dry_run:
        # Handles decide what is "ours" and which replies count as responses; a changed team
        # list only reaches new pulls unless the stored items are linked again.
        from socialscale import conversations
        from socialscale.store.db import transaction

        with transaction(db):
            conversations.rebuild(db, st.config(), tagger, now, reason="tag --relink")
    if out != "table":
        from socialscale.output.render import emit

        emit(out, rows=summary.move_rows(), columns=MOVE_COLUMNS, data=summary.to_json())
        return
    if st.quiet:
        return
    from socialscale.output.render import out_console, table

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
    item_id: ItemIdArgument,
    everything: Annotated[bool, typer.Option("--all", help="Show every rule, not only matches and near misses.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Explain why a stored item is in its lane: matched rules and text, the winner, the owner, near misses.

    \b
    Example:
      socialscale why 42
    """
    from socialscale.rules.tagging import why as explain

    st = state(ctx)
    data = explain(st.db(), st.config(), item_id)
    if as_json:
        from socialscale.output.render import write_json

        write_json(data)
        return
    print_why(data, everything)


def rules_test(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The text (body) to test; `-` reads it from stdin.")],
    source: Annotated[str | None, typer.Option("--source", help="Test as if from this configured source.",
                                               autocompletion=complete.sources)] = None,
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

    from socialscale.errors import UsageError, unknown
    from socialscale.rules.tagging import test_item

    config = state(ctx).config()
    if text == "-":
        text = sys.stdin.read()
    if source is not None and config.source(source) is None:
        raise UsageError(unknown("source", source, [s.name for s in config.sources], option="--source",
                                 label="sources", none="none configured", hint=False))
    item = {"source": source or "", "title": title or "", "text": text, "author": author, "url": url}
    data = test_item(config, item)
    out = output_format(fmt, as_json)
    if out != "table":
        from socialscale.output.render import emit

        rows = [{**r, "terms": ", ".join(r["terms"])} for r in data["rules"]]
        emit(out, rows=rows if out == "csv" else data["rules"], columns=TEST_COLUMNS, data=data)
        return
    print_test(config, item, data)


def rules_list(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Count matches among items first seen since: a duration back or a date.")] = "7d",
    fmt: FormatOption = Format.table,
    as_json: JsonOption = False,
) -> None:
    """List the rules in config order, with how many items each decided lately (default: 7 days).

    A rule that decided nothing is flagged: its terms may be misspelt, too narrow, or shadowed by rules above it.

    \b
    Example:
      socialscale rules list --since 30d
    """
    from socialscale.output.render import emit, err_console
    from socialscale.rules.tagging import rule_stats
    from socialscale.timeutil import now_utc, parse_since, utc_iso

    st = state(ctx)
    stats = rule_stats(st.db(), st.config(), utc_iso(parse_since(since, now_utc(), st.config().timezone)))
    out = output_format(fmt, as_json)
    rows = stats["rules"]
    if out != "table":
        emit(out, rows=rows, columns=LIST_COLUMNS)
        return
    if not rows:
        err_console().print("No rules configured: every item goes to the default lane (see docs/rules.md).")
        return
    print_rule_list(stats, st.config().timezone)
    if stats["stale"] and not st.quiet:
        err_console().print(f"note: {stats['stale']:,} items are not tagged by the current rules, so their "
                            "counts are for older ones; `socialscale tag` re-applies the current rules.")


