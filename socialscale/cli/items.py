"""`items` and `show`: read what is stored."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from socialscale.cli import complete
from socialscale.cli.state import (
    ItemIdArgument,
    JsonOption,
    ListFormat,
    ListFormatOption,
    filters,
    output_format,
    state,
)
from socialscale.output.render import Column

ITEM_TABLE = (
    Column("id", "id", "plain"),
    Column("start_at", "when", "time"),
    Column("source", "source", "plain", drop=1),
    Column("lane", "lane", "plain"),
    Column("status", "status", "plain"),
    Column("owner", "owner", "plain"),
    Column("author", "author", max_width=16, drop=2),
    Column("title", "title", max_width=120, min_width=24),
)
TABLE_DEFAULT_LIMIT = 50


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
    source: Annotated[str | None, typer.Option(help="Only items from this source.",
                                               autocompletion=complete.sources)] = None,
    since: Annotated[str | None, typer.Option(help="Started at or after: a duration back (7d) or a date.")] = None,
    until: Annotated[str | None, typer.Option(help="Started before: a duration back (1d) or a date.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Full-text search in title and text.")] = None,
    conversation: Annotated[int | None, typer.Option("--conversation", metavar="ID",
                                                     help="Only the conversation of item ID (any of its messages).")] = None,
    limit: Annotated[int | None, typer.Option(help=f"At most this many (table default {TABLE_DEFAULT_LIMIT}; 0 = all).")] = None,
    fmt: ListFormatOption = ListFormat.table,
    as_json: JsonOption = False,
) -> None:
    """List and search stored items, newest first.

    \b
    Example:
      socialscale items --lane customer_service --status open --since 7d
      socialscale items --status open --format json
      socialscale items --conversation 42
    """
    from socialscale.errors import UsageError
    from socialscale.models import STATUSES
    from socialscale.output.render import emit, err_console
    from socialscale.store.items import ITEM_COLUMNS, ItemFilter, count_items, query_items
    from socialscale.timeutil import now_utc, parse_since, utc_iso

    if status and status not in STATUSES:
        raise UsageError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    st = state(ctx)
    db = st.db()
    filters(st, lane, owner, source)  # a typo'd name is an error, not an empty listing
    now = now_utc()
    out = output_format(fmt, as_json)
    if limit is None:
        limit = TABLE_DEFAULT_LIMIT if out == "table" else 0
    f = ItemFilter(lane=lane, status=status, owner=owner, source=source,
                   since=utc_iso(parse_since(since, now)) if since else None,
                   until=utc_iso(parse_since(until, now)) if until else None, search=search,
                   conversation=conversation, limit=limit or None)
    rows = query_items(db, f)
    # A column the filter holds constant says nothing: leave it out of the table.
    fixed = {key for key, value in (("lane", lane), ("status", status), ("owner", owner), ("source", source)) if value}
    columns = [c for c in ITEM_TABLE if c.key not in fixed]
    if status == "responded":  # who answered, and the reply that did when it was seen automatically
        columns += [Column("responded_by", "by", "plain"), Column("response_url", "reply", max_width=60)]
    if out == "table" and not rows:
        if not st.quiet:
            stored = count_items(db, ItemFilter())
            err_console().print("no items match these filters" if stored else
                                "no items stored yet: `socialscale pull` fetches them", markup=False)
        return
    emit(out, rows=rows, columns=columns, csv_keys=ITEM_COLUMNS, tz=st.config().timezone)
    if out == "table" and limit and len(rows) == limit and not st.quiet:
        total = count_items(db, f)  # the count ignores the filter's limit
        if total > limit:
            err_console().print(f"showing {limit} of {total}; use --limit 0 for all, or --format json")


def show(
    ctx: typer.Context,
    item_id: ItemIdArgument,
    as_json: JsonOption = False,
) -> None:
    """Show one item with its whole event history, and its conversation as a tree.

    \b
    Example:
      socialscale show 42
    """
    from socialscale.errors import UsageError
    from socialscale.output.render import cell, out_console, write_json
    from socialscale.store.items import events_for, get_item

    db = state(ctx).db()
    item = get_item(db, item_id)
    if item is None:
        raise UsageError(f"no item with id {item_id}")
    events = events_for(db, item_id)
    from socialscale.threads import tree

    thread = tree(db, item_id)
    if as_json:
        write_json({**item, "events": events, "conversation": thread})
        return
    from rich.table import Table

    console = out_console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for key in ("id", "source", "title", "author", "url", "published_at", "first_seen_at", "lane", "lanes", "tags",
                "owner", "status", "responded_at", "responded_by", "response_via", "response_url", "closed_at",
                "duplicate_of", "in_reply_to", "ours"):
        value = item.get(key)
        if value in (None, [], ""):
            continue
        head.add_row(key, cell(", ".join(value) if isinstance(value, list) else value))
    console.print(head)
    if item.get("text"):
        console.print()
        console.print(cell(_shorten(item["text"], 1200), single_line=False))
    from rich import box

    history = Table(title="history", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("at", "kind", "actor", "detail"):
        history.add_column(name)
    for ev in events:
        history.add_row(ev["at"], ev["kind"], cell(ev["actor"] or "-"), cell(_detail(ev["detail"])))
    console.print()
    console.print(history)
    if thread and len(thread["messages"]) > 1:
        console.print()
        _print_tree(console, thread, item_id)


def _print_tree(console: Any, thread: dict[str, Any], current: int) -> None:
    """The conversation, indented by reply depth: `>` marks this item, `ours:` our messages."""
    from rich.text import Text

    from socialscale.output.render import clean

    console.print(Text(f"conversation {thread['conversation_id']} ({len(thread['messages'])} messages)",
                       style="bold"))
    for m in thread["messages"]:
        who = f"ours: {m['ours']}" if m["ours"] else (m["author"] or "someone")
        marks = [m["status"] if not m["ours"] else "", "follow-up" if m["followup"] else "",
                 "catalyzed" if m["catalyzed"] else "", f"duplicate of {m['duplicate_of']}" if m["duplicate_of"] else ""]
        what = _shorten(" ".join(((m["title"] or "") + " " + (m["text"] or "")).split()), 48)
        line = Text(("> " if m["id"] == current else "  ") + "  " * min(m["depth"], 20))
        line.append(f"#{m['id']} ", style="bold")
        line.append(f"{m['start_at']} {clean(who)}")
        status = ", ".join(x for x in marks if x)
        if status:
            line.append(f" [{status}]", style="green" if m["ours"] else None)
        line.append(f"  {clean(what)}")
        console.print(line, overflow="fold")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _detail(detail: Any) -> str:
    if not detail:
        return ""
    try:
        value = json.loads(detail)
    except (TypeError, ValueError):
        return str(detail)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
