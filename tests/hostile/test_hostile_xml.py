"""Hostile XML: entity tricks, amplification, broken and lying documents.

Each case is one source among healthy ones: the hostile one fails with one clean line (or is
read harmlessly), the healthy ones are stored, the pull exits 1 (or 0), never a traceback.
"""

from __future__ import annotations

import json

from conftest import rss
from hostiletools import assert_one_clean_error, configure, items_of, pull, rows

GOOD = rss([{"title": "healthy", "guid": "ok-1"}])


def item_rss(title: str, head: str = "", guid: str = "1", decl: str = "<?xml version='1.0'?>") -> bytes:
    return (f"{decl}\n{head}\n<rss version='2.0'><channel><title>t</title><link>http://x/</link>"
            f"<description>d</description><item><title>{title}</title><guid>{guid}</guid></item>"
            "</channel></rss>").encode()


def test_external_entities_read_no_file_and_make_no_request(server, cli, write_config, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    dtd = server.add("/evil.dtd", '<!ENTITY leak "FETCHED-DTD">', content_type="application/xml-dtd")
    feeds = {
        "file-entity": item_rss("a &xxe; b", f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>'),
        "http-entity": item_rss("a &xxe; b", f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{server.url("/x-ent")}">\n]>'),
        "external-dtd": item_rss("a &leak; b", f'<!DOCTYPE rss SYSTEM "{dtd}">'),
        "parameter-entity": item_rss("a &leak; b", f'<!DOCTYPE rss [\n<!ENTITY % p SYSTEM "{dtd}">\n%p;\n]>'),
        "public-dtd": item_rss("a b", f'<!DOCTYPE rss PUBLIC "-//X//Y" "{server.url("/public.dtd")}">'),
        "xinclude": item_rss(f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret}" '
                             'parse="text"/>plain'),
    }
    sources = [{"name": n, "url": server.add(f"/{n}", body)} for n, body in feeds.items()]
    configure(write_config, [*sources, {"name": "good", "url": server.add("/good", GOOD)}])
    result, by_name = pull(cli)
    assert result.exit_code == 0, result.stderr
    assert {r.path for r in server.requests} == {f"/{n}" for n in feeds} | {"/good"}  # no DTD, no entity fetched
    assert all(by_name[n]["new"] == 1 for n in feeds)
    everything = json.dumps(rows(tmp_path / "test.db", "SELECT * FROM items")) + result.stdout + result.stderr
    assert "TOP-SECRET" not in everything and "FETCHED-DTD" not in everything
    assert items_of(tmp_path / "test.db", "file-entity")["1"]["title"] == "a &xxe; b"  # left unresolved, as text


def test_billion_laughs_is_bounded(server, cli, write_config, tmp_path):
    decls = '<!ENTITY lol "lol">\n' + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">\n' for i in range(1, 10))
    laughs = item_rss("&lol9;", f"<!DOCTYPE rss [\n{decls}]>", guid="laugh")
    configure(write_config, [{"name": "laughs", "url": server.add("/laughs", laughs)},
                             {"name": "good", "url": server.add("/good", GOOD)}])
    result, by_name = pull(cli)
    assert by_name["good"]["new"] == 1
    # Read harmlessly: the nested entities are never expanded (a billion "lol"s would be 3 GB).
    assert by_name["laughs"]["status"] == "ok", by_name["laughs"]
    title = items_of(tmp_path / "test.db", "laughs")["laugh"]["title"]
    assert "lollollol" not in title and len(title) < 100


def test_internal_entity_amplification_hits_the_memory_limit(server, cli, write_config, tmp_path):
    # feedparser's loose parser expands a "safe" internal entity wherever it is used: 1 MB x 2,000 = 2 GB.
    body = item_rss("&big;" * 2000, f'<!DOCTYPE rss [\n<!ENTITY big "{"A" * 1_000_000}">\n]>')
    assert len(body) < 1_100_000
    configure(write_config, [{"name": "bomb", "url": server.add("/bomb", body)},
                             {"name": "good", "url": server.add("/good", GOOD)}])
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "bomb", "256 MiB memory limit")
    assert by_name["good"]["new"] == 1
    assert rows(tmp_path / "test.db", "SELECT COUNT(*) FROM items WHERE source = 'bomb'") == [(0,)]


def test_quadratic_author_pattern_hits_the_time_limit(server, cli, write_config):
    # feedparser's e-mail regex on <author> is quadratic: 200 kB of it takes minutes. The lxml fast
    # path reads a well-formed feed without that regex; an HTML entity (not XML) sends this one to
    # feedparser's loose parser, where the regex runs.
    body = rss([{"title": "slow&nbsp;", "guid": "a", "author": "a" * 200_000}])
    configure(write_config, [{"name": "quadratic", "url": server.add("/q", body)},
                             {"name": "good", "url": server.add("/good", GOOD)},
                             {"name": "after", "url": server.add("/after", rss([{"title": "z", "guid": "z"}]))}],
              parse_timeout="2s")
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "quadratic", "parsing took longer than 2s; stopped")
    assert by_name["good"]["new"] == 1 and by_name["after"]["new"] == 1  # the pool replaced the killed worker


def test_broken_and_lying_documents(server, cli, write_config, tmp_path):
    utf8_title = "Café – naïve ✓"
    feeds = {
        # Declared latin-1 but sent as UTF-8; Content-Type says yet another charset.
        "lying-decl": (item_rss(utf8_title, decl="<?xml version='1.0' encoding='iso-8859-1'?>"),
                       "text/xml; charset=utf-16"),
        # Declared UTF-8 but the bytes are latin-1 (invalid UTF-8 sequences).
        "latin1-as-utf8": (item_rss("CAFE").replace(b"CAFE", b"Caf\xe9"),
                           "application/rss+xml; charset=utf-8"),
        "unknown-encoding": (item_rss("plain", decl="<?xml version='1.0' encoding='x-no-such-charset'?>"),
                             "application/xml"),
        "utf16-bom-lie": (b"\xff\xfe" + item_rss("bom"), "application/xml"),
        "controls": (item_rss("nul\x00bell\x07esc\x1b[31mred vt\x0b end"), "application/xml"),
        "unclosed": (b"<rss version='2.0'><channel><item><title>unclosed & loose</title><guid>u1</guid>", "application/xml"),
    }
    sources = [{"name": n, "url": server.add(f"/{n}", body, content_type=ctype)} for n, (body, ctype) in feeds.items()]
    configure(write_config, sources)
    result, by_name = pull(cli)
    db = tmp_path / "test.db"
    assert result.exit_code == 0, result.stderr
    assert all(by_name[name]["new"] == 1 for name in feeds)  # each read as well as it can be
    for (title,) in rows(db, "SELECT title FROM items"):
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in title), repr(title)
    titles = {r[0]: r[1] for r in rows(db, "SELECT source, title FROM items")}
    assert titles["lying-decl"] == utf8_title  # detected from the bytes, neither declaration trusted
    assert titles["latin1-as-utf8"] == "Café"  # invalid UTF-8 falls back to windows-1252
    assert titles["unknown-encoding"] == "plain" and titles["utf16-bom-lie"] == "bom"
    assert titles["controls"].startswith("nulbellesc") and titles["controls"].endswith("end")
    assert titles["unclosed"] == "unclosed & loose"
    assert any("malformed but readable" in w for w in by_name["unclosed"]["warnings"])


def test_not_a_feed(server, cli, write_config, tmp_path):
    bodies = {
        "html": ("<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
                 "text/html", "HTML page"),
        "empty": ("", "application/rss+xml", "empty response"),
        "blank": ("  \r\n\t ", "application/rss+xml", "empty response"),
        "json-error": ('{"error": "invalid api key", "code": 401}', "application/json",
                       "the server answered with an error (invalid api key)"),
        "json-other": ('{"hello": "world"}', "application/json", "not a JSON Feed"),
        "binary": (bytes(range(256)) * 4, "application/octet-stream", "not an RSS, Atom or JSON feed"),
        "plain-text": ("just some words, no markup", "text/plain", "not an RSS, Atom or JSON feed"),
        "nul-bytes": (b"\x00" * 4096, "application/xml", ""),
    }
    sources = [{"name": n, "url": server.add(f"/{n}", body, content_type=ctype)} for n, (body, ctype, _) in bodies.items()]
    configure(write_config, [*sources, {"name": "good", "url": server.add("/good", GOOD)}])
    result, by_name = pull(cli)
    for name, (_, _, fragment) in bodies.items():
        assert_one_clean_error(result, by_name, name, fragment)
    assert by_name["good"]["new"] == 1
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == len(bodies)
    assert rows(tmp_path / "test.db", "SELECT DISTINCT source FROM items") == [("good",)]
