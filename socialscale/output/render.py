"""Rendering for people (rich tables) and for pipes (json, ndjson, csv).

Everything that came from the web goes through `clean()` before rich sees it: control
characters (C0, C1, DEL), ANSI/OSC sequences and bidi overrides are stripped, and cells are
built as `rich.text.Text`, which never parses markup or emoji codes. JSON is written with
json.dumps straight to stdout, never through rich.

rich is imported only when something is drawn (a table, a paragraph, a console): json, ndjson and csv
output never load it (issue 14: ~25 ms of a scripted report's start-up).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from socialscale.text import headline, strip_controls
from socialscale.timeutil import format_duration

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

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
    from rich.text import Text

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
    return _out_console_class()(emoji=False, highlight=False, no_color=_colour_off(), soft_wrap=False, width=width)


@cache
def _out_console_class() -> type[Console]:
    """The stdout console's class, made on first use so that rich is imported only when something is drawn."""
    from rich.console import Console

    class _OutConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 here; the CLI's one handler (cli/main.py) ends every command the same quiet way.
            self.quiet = True
            raise BrokenPipeError

    return _OutConsole


def err_console() -> Console:
    from rich.console import Console

    # soft_wrap: an error stays one line however narrow the terminal, so grep and cron mail see it whole.
    return Console(stderr=True, emoji=False, highlight=False, no_color=_colour_off(), soft_wrap=True)


@dataclass(frozen=True)
class Column:
    """One column of a listing: the data key, its header, and how a table shows the value."""

    key: str
    header: str
    kind: str = "text"  # text (untrusted, wraps) | title (a headline: title or start of text) | duration | number | time | plain
    justify: str = "left"
    min_width: int | None = None  # a text column is not narrowed below this while other columns can fold
    # On a terminal too narrow for every column, columns with fold > 0 move out of the row onto an
    # indented line under it, highest first, so that nothing is cut and the rest keep their room.
    fold: int = 0


# An item's priority (docs/insight.md): a score, not a share, so never shown as a percentage.
PRIORITY_COLUMN = Column("priority", "priority", "plain", justify="right")


def _display(value: Any, kind: str, tz: str | None = None, row: Mapping[str, Any] | None = None) -> str:
    if kind == "title":
        return headline((row or {}).get("title"), (row or {}).get("text"))
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
    return clean(value)


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


def full_time(value: str | None, tz: str | None) -> str:
    """A stored UTC timestamp in the configured time zone with its offset, for headers and history."""
    from socialscale.timeutil import parse_iso, zone

    if not value:
        return "-"
    try:
        local = parse_iso(value).astimezone(zone(tz or "UTC"))
    except ValueError:
        return clean(value)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M") + (" UTC" if offset == "+0000" else f" {offset[:3]}:{offset[3:]}")


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], title: str | None = None,
          tz: str | None = None) -> Listing:
    """A table for people; laid out when printed, for the console's width (see Listing)."""
    return Listing(list(rows), list(columns), title, tz)


GAP = 2  # spaces between columns
TEXT_MIN = 10  # the narrowest a text column gets while other columns can still fold away


class Listing:
    """A table that never loses data: text wraps at word boundaries, and on a terminal too narrow for
    every column the columns marked `fold` move, highest rank first (a rank at once), onto an indented line under their row
    (`label: value`). Only a word wider than its whole column is broken, and then folded onto the next
    line, never cut. Lines carry no trailing spaces and the table starts with its title or header, so
    a piped table (cron mail) is as clean as the terminal one.
    """

    def __init__(self, rows: list[Mapping[str, Any]], columns: list[Column], title: str | None, tz: str | None) -> None:
        self.columns = columns
        self.title = title
        self.cells = [[_display(row.get(c.key), c.kind, tz, row) for c in columns] for row in rows]

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.segment import Segment

        for line in self.lines(console, options.max_width):
            yield from line.render(console)
            yield Segment.line()

    def lines(self, console: Console, width: int) -> list[Text]:
        from rich.text import Text

        shown, folded, widths = self._layout(width)
        out: list[Text] = []
        if self.title:
            out += [Text(line.plain.rstrip(), style="bold") for line in Text(self.title).wrap(console, width)]
        out += self._row(console, [self.columns[k].header for k in shown], shown, widths, style="bold")
        out.append(Text((" " * GAP).join("─" * widths[k] for k in shown)))
        indent = widths[shown[0]] + GAP if shown and widths[shown[0]] + GAP <= width // 3 else 2
        for row in self.cells:
            out += self._row(console, [row[k] for k in shown], shown, widths)
            if folded:
                extra = "   ".join(f"{self.columns[k].header}: {row[k]}" for k in folded)
                for line in Text(extra).wrap(console, max(1, width - indent), overflow="fold"):
                    out.append(Text(" " * indent + line.plain.rstrip()))
        return out

    def _layout(self, width: int) -> tuple[list[int], list[int], dict[int, int]]:
        """Which columns stay in the row, which fold under it, and each shown column's width."""
        from rich.cells import cell_len

        cols = list(range(len(self.columns)))
        natural = [max([cell_len(self.columns[k].header)] + [cell_len(row[k]) for row in self.cells]) for k in cols]
        wraps = [self.columns[k].kind in ("text", "title") for k in cols]

        def least(k: int) -> int:
            if not wraps[k]:
                return natural[k]
            return min(natural[k], max(self.columns[k].min_width or TEXT_MIN, cell_len(self.columns[k].header)))

        def need(shown: list[int]) -> int:
            return sum(least(k) for k in shown) + GAP * (len(shown) - 1)

        shown, folded = cols[:], []
        while need(shown) > width and any(self.columns[k].fold for k in shown):
            top = max(self.columns[k].fold for k in shown)  # columns of one rank (the age buckets) fold together
            if all(self.columns[k].fold == top for k in shown):
                break  # a row keeps at least one column
            folded += [k for k in shown if self.columns[k].fold == top]
            shown = [k for k in shown if self.columns[k].fold != top]
        folded.sort()
        widths = {k: least(k) for k in shown}
        _share_room(widths, natural, [k for k in shown if wraps[k]], width - need(shown))
        return shown, folded, widths

    def _row(self, console: Console, values: list[str], shown: list[int], widths: dict[int, int],
             style: str = "") -> list[Text]:
        from rich.cells import cell_len
        from rich.text import Text

        wrapped = [[line.plain.rstrip() for line in Text(v).wrap(console, widths[k], overflow="fold")] or [""]
                   for v, k in zip(values, shown, strict=True)]
        out = []
        for n in range(max(len(w) for w in wrapped)):
            parts = []
            for w, k in zip(wrapped, shown, strict=True):
                text = w[n] if n < len(w) else ""
                pad = " " * (widths[k] - cell_len(text))
                right = self.columns[k].kind in ("duration", "number") or self.columns[k].justify == "right"
                parts.append(pad + text if right else text + pad)
            out.append(Text((" " * GAP).join(parts).rstrip(), style=style))
        return out


def _share_room(widths: dict[int, int], natural: list[int], wrapping: list[int], spare: int) -> None:
    """Fit the columns to the width: narrow the wrapping ones (down to 1) when even the essential columns
    do not fit, else share the spare room out a column at a time, each up to its natural width."""
    if spare < 0:
        for k in sorted(wrapping, key=lambda k: -widths[k]):
            take = min(-spare, widths[k] - 1)
            widths[k] -= take
            spare += take
    growable = [k for k in wrapping if natural[k] > widths[k]]
    while spare > 0 and growable:
        share = max(1, spare // len(growable))
        for k in list(growable):
            add = min(share, natural[k] - widths[k], spare)
            widths[k] += add
            spare -= add
            if widths[k] >= natural[k]:
                growable.remove(k)
            if not spare:
                break


class Paragraph:
    """Text wrapped at words to the console's width (after `indent` spaces), no trailing spaces on any line.
    A str is untrusted and cleaned; a Text is taken as built (its parts already cleaned)."""

    def __init__(self, text: str | Text, style: str = "", indent: int = 0) -> None:
        from rich.text import Text

        self.text = text if isinstance(text, Text) else Text(clean(text), style=style)
        self.indent = indent

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.segment import Segment

        for line in self.text.wrap(console, max(10, options.max_width - self.indent), overflow="fold"):
            line.rstrip()
            if self.indent:
                yield Segment(" " * self.indent)
            yield from line.render(console)
            yield Segment.line()


class Fields:
    """`name  value` lines (one record, as `show` prints it): names bold, values wrapped beside them."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = [(name, clean(value)) for name, value in pairs]

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.cells import cell_len
        from rich.segment import Segment
        from rich.text import Text

        label = max((cell_len(name) for name, _ in self.pairs), default=0) + GAP
        room = max(10, options.max_width - label)
        for name, value in self.pairs:
            lines = [line.plain.rstrip() for line in Text(value).wrap(console, room, overflow="fold")] or [""]
            for n, text in enumerate(lines):
                head = name.ljust(label - GAP) + " " * GAP if n == 0 else " " * label
                yield from Text(head, style="bold" if n == 0 else "").render(console)
                yield Segment(text)
                yield Segment.line()


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


def write_csv(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> None:
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
    if isinstance(value, str):  # every text cell: guids, errors, a server's messages as well as titles
        value = strip_controls(value, keep_cr=True)
    return csv_guard(value)


def emit(fmt: str, *, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], data: Any = None,
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
