"""Tables never lose data: every table at 60, 80, 100 and 200 columns shows every value of its data
(wrapped at words, less important columns folded under their row), no line is wider than the terminal,
and a piped table has no trailing padding and no blank first line.

The data comes from each command's own JSON; what a value looks like in a table (durations as `1h 20m`,
times in the configured timezone) is the renderer's `_display`, so these tests check the layout, not
the formatting, which tests/test_reports.py and tests/test_items.py check."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportdata import CONFIG, NOW, add_item, build
from rich.console import Console

from socialscale.cli.items import HISTORY_COLUMNS, ITEM_TABLE
from socialscale.cli.report import BACKLOG_COLUMNS, BREACH_COLUMNS, LATENCY_COLUMNS, OLDEST_COLUMNS
from socialscale.output.render import Column, _display, table

WIDTHS = (60, 80, 100, 200)
LONG_TITLE = "Crumb & Crust gave my kid food poisoning? Anyone else had this after the weekend market stall"
POST = "Ordered two croissants at the Saturday market and both were stale, is this normal for you lot?"
TZ = CONFIG["timezone"]


@pytest.fixture
def ids(cli, write_config, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    write_config({**CONFIG, "rules": [
        {"name": "complaints", "lane": "customer_service", "any": ["poisoning", "stale", "refund"], "tags": ["urgent"]},
        {"name": "buying-signals", "lane": "sales_prospecting", "any": ["looking for", "quote"]}]})
    found = build(cli, tmp_path)
    db = tmp_path / "test.db"
    found["long"] = add_item(db, "forum", "long", seen="2024-03-06T07:00:00Z", published=None,
                             lane="customer_service", title=LONG_TITLE, author="a.very.long.handle@example")
    found["post"] = add_item(db, "forum", "post", seen="2024-03-06T06:00:00Z", published=None,
                             lane="customer_service", title="", text=POST)
    return found


def run(cli, monkeypatch, width, *args):
    monkeypatch.setenv("COLUMNS", str(width))
    result = cli(*args)
    assert result.exit_code in (0, 3), (args, result.stderr)
    return result.stdout


def data(cli, monkeypatch, *args):
    return json.loads(run(cli, monkeypatch, 200, *args, "--format", "json"))


def check_layout(output, width):
    lines = output.split("\n")
    assert lines[0].strip(), "a table starts with its title or header, not a blank line"
    for line in lines:
        assert line == line.rstrip(), f"trailing spaces: {line!r}"
        assert len(line) <= width, f"wider than {width}: {line!r}"


def check_rows(output, rows, columns, first):
    """Each row's region (from the line where its `first` value starts to the next row's) holds every
    word of every value the row shows."""
    lines = output.split("\n")
    header = next(c.header for c in columns if c.key == first) if any(c.key == first for c in columns) else first
    head = next(n for n, line in enumerate(lines) if re.search(rf"(^|  ){re.escape(header)}(  |$)", line))
    at = re.search(rf"(^|  ){re.escape(header)}(  |$)", lines[head]).start() + (0 if lines[head].startswith(header)
                                                                                 else 2)
    start = head + 2
    regions = []
    for row in rows:
        kind = next((c.kind for c in columns if c.key == first), "plain")
        key = _display(row.get(first), kind, TZ, row)
        start = next(n for n in range(start, len(lines)) if lines[n][at:].startswith(key + " ")
                     or lines[n][at:] == key)
        regions.append(start)
        start += 1
    regions.append(len(lines))
    for n, row in enumerate(rows):
        region = "\n".join(lines[regions[n]:regions[n + 1]])
        tokens = set(region.split())
        squeezed = re.sub(r"\s+", "", region)
        for col in columns:
            shown = _display(row.get(col.key), col.kind, TZ, row)
            for word in shown.split():
                # A word wider than its whole column is broken over lines, never cut: its pieces stand
                # in order in the row's region (other columns' cells may sit between them).
                assert word in tokens or (len(word) > 10 and _in_order(word, squeezed)), (col.key, word, region)


def _in_order(word, text):
    rest = iter(text)
    return all(ch in rest for ch in word)


def listing(cli, monkeypatch, args, columns, rows, first):
    for width in WIDTHS:
        out = run(cli, monkeypatch, width, *args)
        check_layout(out, width)
        check_rows(out, rows, columns, first)


def test_items_at_every_width(cli, ids, monkeypatch):
    rows = data(cli, monkeypatch, "items", "--all")
    assert any(r["title"] == LONG_TITLE for r in rows) and any(r["title"] == "" for r in rows)
    listing(cli, monkeypatch, ("items", "--all"), ITEM_TABLE, rows, "id")
    answered = data(cli, monkeypatch, "items", "--status", "responded")
    cols = [c for c in ITEM_TABLE if c.key != "status"] + [Column("responded_by", "by", "plain"),
                                                          Column("response_url", "reply")]
    listing(cli, monkeypatch, ("items", "--status", "responded"), cols, answered, "id")


@pytest.mark.parametrize("by", ["lane", "owner", "source"])
def test_backlog_at_every_width(cli, ids, monkeypatch, by):
    report = data(cli, monkeypatch, "report", "backlog", "--by", by, "--now", NOW)
    rows = [{"group": g["group"] or ("(unassigned)" if by == "owner" else "(none)"), "open": g["open"],
             "unassigned": g["unassigned"], **g["buckets"], "oldest_age_s": g["oldest_age_s"],
             "breached": g["breached"], "followups": g["followups"]} for g in report["groups"]]
    rows.append({"group": "total", **{k: v for k, v in report["total"].items() if k != "buckets"},
                 **report["total"]["buckets"]})
    oldest = [item for g in report["groups"] for item in g["oldest"]]
    for width in WIDTHS:
        out = run(cli, monkeypatch, width, "report", "backlog", "--by", by, "--now", NOW)
        check_layout(out, width)
        counts, waiting = out.split("\noldest waiting\n")
        check_rows(counts, rows, BACKLOG_COLUMNS, "group")
        check_rows(waiting, oldest, [c for c in OLDEST_COLUMNS if c.key != "group"], "id")
        assert "breached" in counts and "oldest" in counts  # never dropped at 60 columns


@pytest.mark.parametrize("by", ["lane", "owner", "responder", "source", "week"])
def test_latency_at_every_width(cli, ids, monkeypatch, by):
    report = data(cli, monkeypatch, "report", "latency", "--by", by, "--now", NOW)
    rows = [{**g, "group": g["group"] or ("(unassigned)" if by == "owner" else "(none)")} for g in report["groups"]]
    rows.append({"group": "total", **report["total"]})
    listing(cli, monkeypatch, ("report", "latency", "--by", by, "--now", NOW), LATENCY_COLUMNS, rows, "group")
    narrow = run(cli, monkeypatch, 60, "report", "latency", "--by", by, "--now", NOW)
    assert "responded" in narrow and "median" in narrow  # headers whole, not `han`


def test_breaches_summary_and_show_at_every_width(cli, ids, monkeypatch):
    breaches = data(cli, monkeypatch, "report", "breaches", "--now", NOW)
    assert any(r["title"] == "" for r in breaches)
    listing(cli, monkeypatch, ("report", "breaches", "--now", NOW), BREACH_COLUMNS, breaches, "id")
    summary = data(cli, monkeypatch, "report", "summary", "--now", NOW)
    for width in WIDTHS:
        out = run(cli, monkeypatch, width, "report", "summary", "--now", NOW)
        check_layout(out, width)
        oldest = out.split("\noldest waiting\n")[1]
        check_rows(oldest, summary["oldest"], [Column("id", "id", "plain"), Column("title", "title", "title")], "id")
    shown = data(cli, monkeypatch, "show", str(ids["long"]))
    history = [{"at": e["at"], "kind": e["kind"], "actor": e["actor"]} for e in shown["events"]]
    for width in WIDTHS:
        out = run(cli, monkeypatch, width, "show", str(ids["long"]))
        check_layout(out, width)
        assert set(LONG_TITLE.split()) <= set(out.split())
        check_rows(out.split("\nhistory\n")[1], history, [c for c in HISTORY_COLUMNS if c.key != "what"], "at")


def test_sources_and_rules_at_every_width(cli, ids, monkeypatch):
    from socialscale.cli.pull import SOURCE_COLUMNS

    sources = data(cli, monkeypatch, "sources")
    listing(cli, monkeypatch, ("sources",), SOURCE_COLUMNS, sources, "name")
    rules = data(cli, monkeypatch, "rules", "list")
    for width in WIDTHS:
        out = run(cli, monkeypatch, width, "rules", "list")
        check_layout(out, width)
        assert "complaints" in out and "buying-signals" in out and "poisoning" in out and "quote" in out
    assert rules


def test_untitled_items_show_the_start_of_their_text(cli, ids, monkeypatch):
    start = "“Ordered two croissants at the Saturday market and both were stale, is this…”"
    for args in (("items",), ("report", "breaches", "--now", NOW), ("report", "backlog", "--now", NOW),
                 ("report", "summary", "--now", NOW)):
        out = run(cli, monkeypatch, 200, *args)
        assert start in out, args  # in quotes and cut with …: marked as the start of a text, not a title
    markdown = run(cli, monkeypatch, 200, "report", "summary", "--now", NOW, "--format", "markdown")
    assert "“Ordered two croissants" in markdown
    assert [r["title"] for r in data(cli, monkeypatch, "items") if r["id"] == ids["post"]] == [""]  # JSON: the data


def test_a_piped_table_has_no_padding(cli, ids, monkeypatch):
    monkeypatch.delenv("COLUMNS")
    for args in (("items",), ("report", "backlog", "--now", NOW), ("report", "latency", "--now", NOW),
                 ("show", str(ids["A"]))):
        out = cli(*args).stdout
        assert out.strip()
        check_layout(out, 160)


def _tokens(text: str) -> list[str]:
    return text.split()


cells = st.text(alphabet=st.sampled_from("abcdefgh ijk-lm.nop"), max_size=60)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({"t": cells, "u": cells, "n": st.integers(0, 10**6)}), min_size=1,
                     max_size=5),
       width=st.integers(20, 200))
def test_a_listing_keeps_every_word_at_any_width(rows, width):
    columns = [Column("id", "id", "plain"), Column("t", "text"), Column("n", "count", "number", fold=2),
               Column("u", "more text", fold=1)]
    rows = [{"id": f"r{k}", **row} for k, row in enumerate(rows)]
    console = Console(width=width, no_color=True)
    out = "\n".join(line.plain for line in table(rows, columns).lines(console, width))
    check_layout(out, width)
    check_rows(out, rows, columns, "id")


def test_tables_show_times_in_the_configured_timezone_and_json_stays_utc(cli, write_config, tmp_path, monkeypatch):
    write_config({**CONFIG, "timezone": "America/New_York"})
    item = add_item(tmp_path / "test.db", "blog", "ny", seen="2024-03-06T10:00:00Z", published=None,
                    lane="customer_service", title="Late order")
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    cli("respond", str(item), "--at", "2024-03-06T10:30:00Z")
    listed = run(cli, monkeypatch, 100, "items", "--all")
    assert "2024-03-06 05:00" in listed and "10:00" not in listed  # EST is UTC-5
    shown = run(cli, monkeypatch, 100, "show", str(item))
    assert "2024-03-06 05:00 -05:00" in shown and "2024-03-06 05:30" in shown and "T10:00:00Z" not in shown
    backlog = run(cli, monkeypatch, 100, "report", "backlog", "--now", NOW)
    assert backlog.startswith("backlog by lane at 2024-03-06 07:00 -05:00")
    latency = run(cli, monkeypatch, 100, "report", "latency", "--now", NOW)
    assert "since 2024-02-05 07:00 -05:00" in latency
    assert data(cli, monkeypatch, "show", str(item))["first_seen_at"] == "2024-03-06T10:00:00Z"
    assert data(cli, monkeypatch, "report", "backlog", "--now", NOW)["now"] == NOW
