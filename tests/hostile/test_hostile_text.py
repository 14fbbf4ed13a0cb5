"""Hostile text: markup, emoji codes, terminal escapes, C1 controls, NUL and bidi overrides must
print literally and harmlessly; JSON must round-trip them; CSV must not run formulas."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

from conftest import rss
from hostiletools import FORBIDDEN_OUTPUT, configure, items_of, pull

LITERAL = {  # survives exactly, as typed, in every output
    "bold": "[bold]bold[/bold] words",
    "link": "[link=https://evil.example]click me[/link]",
    "stray": "stray [/] closer",
    "emoji": "grin :smiley: :+1: :thumbs_up:",
    "braces": "{red} %s {0} $(whoami) `id`",
}
ESCAPES = {  # what arrives (as XML character references) and what must be left of it
    "ansi": ("&#27;[31mred&#27;[0m", "red"),
    "osc8": ("&#27;]8;;https://evil.example&#7;link&#27;]8;;&#7;", "link"),
    "title": ("&#27;]0;pwned&#7;plain", "plain"),
    # feedparser maps C1 characters, raw or as references, to their cp1252 look-alikes (0x9b: '›');
    # raw C1 controls are tested below, stored straight into the database.
    "c1": ("\x9b31mC1 \x9d0;x\x9ctext", "›31mC1 0;xœtext"),
    "c1-ref": ("&#x9b;cp1252", "›cp1252"),
    "nul": ("nul&#0;byte", "nulbyte"),
    "bidi": ("invoice&#x202E;fdp.exe", "invoicefdp.exe"),
    "isolate": ("&#x2066;a&#x2069; &#x200F;b", "a b"),
}
# Raw strings stored straight into the database, as a buggy source kind or an old version might.
RAW = {
    "raw-csi": "\x1b[2J\x1b[Hcleared?",
    "raw-osc": "\x1b]52;c;cHduZWQ=\x07clipboard",
    "raw-c1": "\x9b1;31mred\x9b0m",
    "raw-bidi": "\u202egnp.exe",
    "raw-nul": "a\x00b\x08c\x7fd",
    "raw-markup": "[/][bold red]not styled[/]",
}


def assert_terminal_safe(out: bytes) -> str:
    text = out.decode("utf-8")  # never a stray 0x9b byte: that would not even be UTF-8
    found = FORBIDDEN_OUTPUT.findall(text)
    assert not found, found
    return text


def hostile_feed() -> str:
    items = [{"title": title, "guid": name, "author": title} for name, title in LITERAL.items()]
    items += [{"title": sent, "guid": name, "description": sent} for name, (sent, _) in ESCAPES.items()]
    return rss(items).replace("&#", "\x00REF").replace("&", "&amp;").replace("\x00REF", "&#")


def store_raw(db: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        for guid, title in RAW.items():
            conn.execute("INSERT INTO items (source, guid, title, author, text, first_seen_at, updated_at, start_at, "
                         "content_hash) VALUES ('raw', ?, ?, ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', "
                         "'2026-01-01T00:00:00Z', 'x')", (guid, title, title, title))
    conn.close()


def test_hostile_titles_print_literally_and_harmlessly(server, cli, write_config, tmp_path):
    configure(write_config, [{"name": "t", "url": server.add("/t", hostile_feed())}])
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    stored = items_of(tmp_path / "test.db", "t")
    for name, title in LITERAL.items():
        assert stored[name]["title"] == title and stored[name]["author"] == title
    store_raw(str(tmp_path / "test.db"))

    table = assert_terminal_safe(cli("items", "--limit", "0").stdout_bytes)
    for title in LITERAL.values():
        assert title in table
    for _, left in ESCAPES.values():
        assert left in table
    for expected in ("cleared?", "clipboard", "1;31mred0m", "gnp.exe", "abcd", "[/][bold red]not styled[/]"):
        assert expected in table
    assert "😃" not in table and "👍" not in table

    for item in stored.values():
        shown = assert_terminal_safe(cli("show", str(item["id"])).stdout_bytes)
        assert "Traceback" not in shown
    for guid in RAW:
        raw_id = next(i["id"] for i in json.loads(cli("items", "--json", "--source", "raw").stdout) if i["guid"] == guid)
        assert_terminal_safe(cli("show", str(raw_id)).stdout_bytes)


def test_json_round_trips_hostile_text_without_raw_controls(server, cli, write_config, tmp_path):
    configure(write_config, [{"name": "t", "url": server.add("/t", hostile_feed())}])
    pull(cli)
    store_raw(str(tmp_path / "test.db"))
    for args in (("items", "--json", "--limit", "0"), ("items", "--format", "ndjson", "--limit", "0")):
        out = cli(*args).stdout_bytes
        text = assert_terminal_safe(out)  # controls are \u escapes inside JSON strings, not raw bytes
        docs = json.loads(text) if args[1] == "--json" else [json.loads(line) for line in text.splitlines()]
        titles = {d["guid"]: d["title"] for d in docs}
        for guid, title in RAW.items():
            assert titles[guid] == title  # the data itself is exact
        for name, title in LITERAL.items():
            assert titles[name] == title
    item_id = items_of(tmp_path / "test.db", "t")["bidi"]["id"]
    shown = json.loads(assert_terminal_safe(cli("show", str(item_id), "--json").stdout_bytes))
    assert shown["title"] == "invoice\u202efdp.exe"


def test_csv_cells_never_start_a_formula(server, cli, write_config, tmp_path):
    formulas = {
        "eq": "=HYPERLINK(\"http://evil\",\"click\")",
        "plus": "+1+cmd|' /C calc'!A0",
        "minus": "-2+3",
        "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    }
    feed = rss([{"title": t.replace("&", "&amp;").replace("<", "&lt;"), "guid": g, "author": t}
                for g, t in formulas.items()] + [{"title": "plain", "guid": "plain"}])
    configure(write_config, [{"name": "c", "url": server.add("/c", feed)}])
    pull(cli)
    conn = sqlite3.connect(tmp_path / "test.db")
    with conn:  # leading tab and CR cannot come through a feed (whitespace is folded), but a DB may hold them
        conn.execute("INSERT INTO items (source, guid, title, first_seen_at, updated_at, start_at, content_hash) "
                     "VALUES ('c', 'tab', '\t=1+1', 'x', 'x', 'x', 'x'), ('c', 'cr', '\r=1+1', 'x', 'x', 'x', 'x')")
    conn.close()
    out = cli("items", "--format", "csv", "--limit", "0").stdout
    table = list(csv.DictReader(io.StringIO(out)))
    by_title = {row["title"]: row for row in table}
    for title in formulas.values():
        assert "'" + title in by_title, title
        assert by_title["'" + title]["author"] == "'" + title
    assert "'\t=1+1" in by_title and "'\r=1+1" in by_title
    assert "plain" in by_title  # ordinary text is untouched
    for row in table:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", row
