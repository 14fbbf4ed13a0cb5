"""Rendering for people (rich tables) and for pipes (json, ndjson, csv).

Everything that came from the web goes through `clean()` before rich sees it: control
characters (C0, C1, DEL), ANSI/OSC sequences and bidi overrides are stripped, and cells are
built as `rich.text.Text`, which never parses markup or emoji codes. JSON is written with
json.dumps straight to stdout, never through rich.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from socialscale.text import strip_controls
from socialscale.timeutil import format_duration

_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def clean(value: Any, *, single_line: bool = True) -> str:
    """Untrusted text made safe for a terminal: no escape sequences, controls or bidi overrides."""
    if value is None:
        return ""
    text = strip_controls(str(value))
    if single_line:
        text = " ".join(text.split())
    return text


def cell(value: Any, *, single_line: bool = True) -> Text:
    """A table cell for untrusted text: cleaned, and a Text so rich parses no markup or emoji."""
    return Text(clean(value, single_line=single_line))


def csv_guard(value: Any) -> Any:
    """Stop spreadsheets from running a cell as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_CSV_TRIGGERS):
        return "'" + value
    return value


def _colour_off() -> bool:
    return "NO_COLOR" in os.environ


def out_console() -> Console:
    # emoji=False: ":smiley:" in a title must print as typed; markup is not parsed for Text cells.
    # Piped to a file or a pager there is no terminal width to respect: use a wide one rather than
    # rich's fallback of 80, which would cut report columns.
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
    return _OutConsole(emoji=False, highlight=False, no_color=_colour_off(), soft_wrap=False, width=width)


class _OutConsole(Console):
    def on_broken_pipe(self) -> None:
        # rich exits 1 here; the CLI's one handler (cli/main.py) ends every command the same quiet way.
        self.quiet = True
        raise BrokenPipeError


def err_console() -> Console:
    # soft_wrap: an error stays one line however narrow the terminal, so grep and cron mail see it whole.
    return Console(stderr=True, emoji=False, highlight=False, no_color=_colour_off(), soft_wrap=True)


@dataclass(frozen=True)
class Column:
    """One column of a listing: the data key, its header, and how a table shows the value."""

    key: str
    header: str
    kind: str = "text"  # text (untrusted) | duration | number | time | plain
    max_width: int | None = None
    justify: str = "left"
    min_width: int | None = None
    # On a terminal too narrow for every column, columns with drop > 0 are left out, highest first,
    # so that the rest (the title above all) keep room instead of being cut off at the edge.
    drop: int = 0


def _display(value: Any, kind: str, tz: str | None = None) -> Text | str:
    if kind == "duration":
        return format_duration(value)
    if value is None:
        return "-"
    if kind == "time":
        return local_time(value, tz)
    if kind == "number":
        return f"{value:.0%}" if isinstance(value, float) and 0 <= value <= 1 else str(value)
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return cell(value)


def _cut(value: Any, limit: int | None) -> Any:
    if limit and isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def local_time(value: str, tz: str | None) -> str:
    """A stored UTC timestamp as `YYYY-MM-DD HH:MM` in the configured time zone, for tables."""
    from socialscale.timeutil import now_utc, parse_iso, zone

    try:
        moment = parse_iso(value)
    except ValueError:
        return clean(value)
    local = moment.astimezone(zone(tz or "UTC"))
    # The year is noise in a listing of this year's talk; older items show it.
    this_year = now_utc().astimezone(local.tzinfo).year
    return local.strftime("%m-%d %H:%M" if local.year == this_year else "%Y-%m-%d %H:%M")


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column], title: str | None = None,
          tz: str | None = None) -> Table:
    rows = list(rows)
    cols = list(columns)
    width = out_console().width
    # rich crops a table wider than the terminal at the right edge, which would hide whole columns
    # (a report's `breached` count, an item's title): first close up the spacing, then leave out
    # the columns marked droppable.
    compact = _min_width(rows, cols, tz, compact=False) > width
    while compact and _min_width(rows, cols, tz, compact=True) > width and any(c.drop for c in cols):
        cols.remove(max(cols, key=lambda c: c.drop))
    return _build(rows, cols, title, tz, compact)


def _min_width(rows: list[dict[str, Any]], columns: Sequence[Column], tz: str | None, *, compact: bool) -> int:
    from rich.cells import cell_len

    total = 0
    for col in columns:
        if col.kind == "text":
            total += col.min_width or min(len(col.header), 8)
            continue
        values = [_display(_cut(row.get(col.key), col.max_width), col.kind, tz) for row in rows]
        total += max([len(col.header), 7 if col.kind == "duration" else 0]
                     + [cell_len(v.plain if isinstance(v, Text) else v) for v in values])
    gaps = len(columns) - 1
    return total + (gaps if compact else 3 * gaps + 2)


def _build(rows: list[dict[str, Any]], columns: Sequence[Column], title: str | None, tz: str | None,
           compact: bool) -> Table:
    from rich import box

    # A light box leaves the room to the data; text columns are the ones that wrap when the
    # terminal is narrow, so ids, times and statuses stay whole.
    t = Table(title=title, header_style="bold", expand=False, box=box.SIMPLE_HEAD, pad_edge=False,
              padding=(0, 0) if compact else (0, 1), show_edge=not compact)
    for col in columns:
        justify = "right" if col.kind in ("duration", "number") else col.justify
        if col.kind == "text":
            t.add_column(col.header, justify=justify, overflow="fold",  # type: ignore[arg-type]
                         min_width=col.min_width or min(len(col.header), 8))
        else:  # durations such as "23h 59m" keep their room too
            width = max(len(col.header), 7 if col.kind == "duration" else 0)
            t.add_column(col.header, justify=justify, no_wrap=True, min_width=width)  # type: ignore[arg-type]
    for row in rows:
        t.add_row(*[_display(_cut(row.get(col.key), col.max_width), col.kind, tz) for col in columns])
    return t


# Outside strings JSON is plain ASCII, so these can only sit inside strings, where a \u escape
# decodes to the same text: the data stays exact and a terminal never sees the raw character.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _dumps(data: Any, **kwargs: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, default=str, **kwargs)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_json(data: Any) -> None:
    sys.stdout.write(_dumps(data, indent=2) + "\n")


def write_ndjson(rows: Iterable[Any]) -> None:
    for row in rows:
        sys.stdout.write(_dumps(row) + "\n")


def write_csv(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    # With "\n" as the line end the csv module leaves a bare "\r" unquoted, which splits the row
    # for every reader: such rows are written fully quoted.
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(keys)
    for row in rows:
        values = [_csv_value(row.get(k)) for k in keys]
        (quoted if any(isinstance(v, str) and "\r" in v for v in values) else writer).writerow(values)
    sys.stdout.write(buf.getvalue())


def _csv_value(value: Any) -> Any:
    """A CSV cell: a list of plain values as `lead;urgent` (what a spreadsheet user can filter on),
    anything nested as JSON."""
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                       for v in value):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    return csv_guard(value)


def emit(fmt: str, *, rows: list[dict[str, Any]], columns: Sequence[Column], data: Any = None,
         title: str | None = None, csv_keys: Sequence[str] | None = None,
         table_view: Callable[[], Any] | None = None, tz: str | None = None) -> None:
    """Print a result in the chosen format: `data` for json (default: rows), `rows` for ndjson/csv,
    and a table of `columns` (or `table_view()`) for people."""
    if fmt == "json":
        write_json(rows if data is None else data)
    elif fmt == "ndjson":
        write_ndjson(rows)
    elif fmt == "csv":
        write_csv(rows, csv_keys or [c.key for c in columns])
    elif fmt == "ids":
        for row in rows:
            sys.stdout.write(f"{row['id']}\n")
    else:
        out_console().print(table_view() if table_view else table(rows, columns, title, tz))
