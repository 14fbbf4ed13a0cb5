"""`items` and `show`: read what is stored."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from socialscale.cli import complete
from socialscale.cli.state import (
    AppState,
    ItemIdArgument,
    JsonOption,
    ListFormat,
    ListFormatOption,
    filters,
    output_format,
    state,
)
from socialscale.output.render import PRIORITY_COLUMN, Column

if TYPE_CHECKING:
    from socialscale.store.filters import ItemFilter

ITEM_TABLE = (
    Column("id", "id", "plain"),
    Column("start_at", "when", "time"),
    Column("source", "source", "plain", fold=4),
    Column("lane", "lane", "plain", fold=1),
    Column("status", "status", "plain", fold=2),
    Column("owner", "owner", "plain", fold=3),
    Column("author", "author", fold=5),
    Column("title", "title", "title", min_width=24),
)
TABLE_DEFAULT_LIMIT = 50


class ItemSort(str, Enum):
    newest = "newest"
    priority = "priority"


def register(app: typer.Typer) -> None:
    app.command("items")(items)
    app.command("show")(show)


def items(
    ctx: typer.Context,
    lane: Annotated[str | None, typer.Option(help="Only this lane.", autocompletion=complete.lanes)] = None,
    status: Annotated[str | None, typer.Option(help="open, responded, closed or ignored.",
                                               autocompletion=complete.statuses)] = None,
    owner: Annotated[str | None, typer.Option(help="Only items owned by this team member.",
                                              autocompletion=complete.members)] = None,
    unassigned: Annotated[bool, typer.Option("--unassigned", help="Only items nobody owns yet.")] = False,
    source: Annotated[str | None, typer.Option(help="Only items from this source.",
                                               autocompletion=complete.sources)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only items with this tag (repeat: every one of them).")] = None,
    since: Annotated[str | None, typer.Option(help="Started at or after: 7d, yesterday, monday 09:00, a date.")] = None,
    until: Annotated[str | None, typer.Option(help="Started before: same forms as --since.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Full-text search in title and text: words, "
                                               "\"a phrase\", prefix*, OR, NOT (docs/guide.md).")] = None,
    conversation: Annotated[int | None, typer.Option("--conversation", metavar="ID",
                                                     help="Only the conversation of item ID (every message, ours "
                                                     "included).")] = None,
    sentiment: Annotated[str | None, typer.Option("--sentiment", metavar="LABEL",
                                                  help="Only items of this sentiment: negative, neutral or "
                                                  "positive (docs/insight.md).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Also duplicates, our own posts and open items of "
                                             "lanes that expect no response.")] = False,
    sort: Annotated[ItemSort, typer.Option("--sort", help="newest first, or priority: what to answer first "
                                           "(docs/insight.md#priority).")] = ItemSort.newest,
    limit: Annotated[int | None, typer.Option(help=f"At most this many (table default {TABLE_DEFAULT_LIMIT}; 0 = all).")] = None,
    fmt: ListFormatOption = ListFormat.table,
    as_json: JsonOption = False,
) -> None:
    """List and search stored items, newest first.

    Without --all it lists what the reports count: `--status open` is exactly the backlog.

    \b
    Example:
      socialscale items --lane customer_service --status open --since 7d
      socialscale items --search 'stale OR "cold coffee"' --since yesterday
      socialscale items --status open --unassigned --format json
      socialscale items --conversation 42
      socialscale items --status open --sentiment negative --sort priority
    """
    from socialscale.errors import UsageError
    from socialscale.models import SENTIMENT_LABELS, STATUSES
    from socialscale.output.render import emit, err_console
    from socialscale.store.filters import ItemFilter
    from socialscale.store.items import ITEM_COLUMNS, count_items, query_items

    if status and status not in STATUSES:
        raise UsageError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    if sentiment and sentiment not in SENTIMENT_LABELS:
        raise UsageError(f"--sentiment {sentiment!r}: expected one of {', '.join(SENTIMENT_LABELS)}")
    if owner and unassigned:
        raise UsageError("--owner and --unassigned exclude each other")
    st = state(ctx)
    db = st.db()
    filters(st, lane, owner, source)  # a typo'd name is an error, not an empty listing
    out = output_format(fmt, as_json)
    if limit is None:
        limit = TABLE_DEFAULT_LIMIT if out == "table" else 0
    lo, hi = time_window(st, since, until)
    f = ItemFilter(lane=lane, status=status, owner=owner, source=source, tags=tuple(tag or ()), unassigned=unassigned,
                   since=lo, until=hi, search=search, conversation=conversation, sentiment=sentiment,
                   everything=everything)
    if sort is ItemSort.priority:  # every match is scored, then cut to --limit
        from socialscale.insight.priority import ranked
        from socialscale.timeutil import now_utc

        rows = ranked(query_items(db, f), st.config(), now_utc())[:limit or None]
    else:
        rows = query_items(db, f, limit=limit or None)
    # A column the filter holds constant says nothing: leave it out of the table.
    fixed = {key for key, value in (("lane", lane), ("status", status), ("owner", owner or unassigned),
                                    ("source", source)) if value}
    columns = [c for c in ITEM_TABLE if c.key not in fixed]
    if sort is ItemSort.priority:
        columns.insert(1, PRIORITY_COLUMN)
    if status == "responded":  # who answered, and the reply that did when it was seen automatically
        columns += [Column("responded_by", "by", "plain", fold=2), Column("response_url", "reply", fold=6)]
    if out == "table" and not rows:
        if not st.quiet:
            err_console().print(_nothing_found(db, f), markup=False)
        return
    keys = (*ITEM_COLUMNS, "priority") if sort is ItemSort.priority else ITEM_COLUMNS
    emit(out, rows=rows, columns=columns, csv_keys=keys, tz=st.config().timezone)
    if out == "table" and limit and len(rows) == limit and not st.quiet:
        total = count_items(db, f)
        if total > limit:
            err_console().print(f"showing {limit} of {total}; use --limit 0 for all, or --format json")


def time_window(st: AppState, since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """`--since`/`--until` as UTC ISO bounds, read like `--at`; an end before the start is a usage error."""
    from socialscale.errors import UsageError
    from socialscale.timeutil import now_utc, parse_since, utc_iso

    now, tz = now_utc(), st.config().timezone
    lo = parse_since(since, now, tz, "--since") if since else None
    hi = parse_since(until, now, tz, "--until") if until else None
    if lo and hi and hi < lo:
        raise UsageError(f"--until {until!r} ({utc_iso(hi)}) is before --since {since!r} ({utc_iso(lo)})")
    return (utc_iso(lo) if lo else None), (utc_iso(hi) if hi else None)


def _nothing_found(db: Any, f: ItemFilter) -> str:
    from socialscale.store.filters import ItemFilter
    from socialscale.store.items import count_items

    if not count_items(db, ItemFilter(everything=True)):
        return "no items stored yet: `socialscale pull` fetches them"
    hidden = 0 if f.everything else count_items(db, f.hidden())
    if hidden:
        return (f"no items match these filters; {hidden} more with --all "
                "(duplicates, our own posts, or lanes that expect no response)")
    return "no items match these filters"


class ShowFormat(str, Enum):
    table = "table"
    json = "json"


TIME_FIELDS = ("published_at", "first_seen_at", "responded_at", "closed_at")
HISTORY_COLUMNS = (Column("at", "when", "time"), Column("kind", "event", "plain"), Column("actor", "who", "plain"),
                   Column("what", "what", min_width=20))


def show(
    ctx: typer.Context,
    item_id: ItemIdArgument,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = ShowFormat.table,
    as_json: JsonOption = False,
) -> None:
    """Show one item with its whole event history, and its conversation as a tree.

    \b
    Example:
      socialscale show 42
      socialscale show 42 --format json | jq '.events[].detail'
    """
    from socialscale.cli.history import describe
    from socialscale.errors import UsageError
    from socialscale.output.render import Fields, cell, full_time, out_console, table, write_json
    from socialscale.store.items import events_for, get_item

    st = state(ctx)
    db = st.db()
    item = get_item(db, item_id)
    if item is None:
        raise UsageError(f"no item with id {item_id}")
    events = events_for(db, item_id)
    from socialscale.threads import tree

    thread = tree(db, item_id)
    if output_format(fmt, as_json) == "json":
        write_json({**item, "events": events, "conversation": thread})
        return
    tz = st.config().timezone
    console = out_console()
    fields = []
    for key in ("id", "source", "title", "author", "url", "published_at", "first_seen_at", "lane", "lanes", "tags",
                "owner", "status", "responded_at", "responded_by", "response_via", "response_url", "closed_at",
                "duplicate_of", "in_reply_to", "ours"):
        value = item.get(key)
        if value in (None, [], ""):
            continue
        shown = full_time(value, tz) if key in TIME_FIELDS else ", ".join(value) if isinstance(value, list) else value
        fields.append((key, str(shown)))
    console.print(Fields(fields))
    if item.get("text"):
        console.print()
        console.print(cell(_shorten(item["text"], 1200), single_line=False))
    console.print()
    rows = [{"at": ev["at"], "kind": ev["kind"], "actor": ev["actor"], "what": describe(ev["kind"], ev["detail"], tz)}
            for ev in events]
    console.print(table(rows, HISTORY_COLUMNS, title="history", tz=tz))
    if thread and len(thread["messages"]) > 1:
        console.print()
        _print_tree(console, thread, item_id, tz)


def _print_tree(console: Any, thread: dict[str, Any], current: int, tz: str) -> None:
    """The conversation, indented by reply depth: `>` marks this item, `ours:` our messages."""
    from rich.text import Text

    from socialscale.output.render import clean, full_time

    console.print(Text(f"conversation {thread['conversation_id']} ({len(thread['messages'])} messages)",
                       style="bold"))
    for m in thread["messages"]:
        who = f"ours: {m['ours']}" if m["ours"] else (m["author"] or "someone")
        marks = [m["status"] if not m["ours"] else "", "follow-up" if m["followup"] else "",
                 "catalyzed" if m["catalyzed"] else "", f"duplicate of {m['duplicate_of']}" if m["duplicate_of"] else ""]
        what = _shorten(" ".join(((m["title"] or "") + " " + (m["text"] or "")).split()), 48)
        line = Text(("> " if m["id"] == current else "  ") + "  " * min(m["depth"], 20))
        line.append(f"#{m['id']} ", style="bold")
        line.append(f"{full_time(m['start_at'], tz)} {clean(who)}")
        status = ", ".join(x for x in marks if x)
        if status:
            line.append(f" [{status}]", style="green" if m["ours"] else None)
        line.append(f"  {clean(what)}")
        console.print(line, overflow="fold")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " …"
