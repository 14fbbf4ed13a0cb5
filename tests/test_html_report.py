"""`report html`: the figures match `report ... --format json`, text is escaped, and Chromium draws the charts."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import datetime, timezone
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from reportdata import Seed, seed_items

NOW = datetime(2024, 5, 20, 12, tzinfo=timezone.utc)
NOW_ARG = "2024-05-20T12:00:00Z"
CONFIG = {"timezone": "UTC", "default_lane": "listening", "team": {"alice": {}, "bob": {}},
          "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "alice"},
                    "sales_prospecting": {"sla": "1d", "owner": "bob"}, "publishing": {}}}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
COLOURS = {"listening": b"\x00\x72\xb2", "customer_service": b"\xe6\x9f\x00", "sales_prospecting": b"\x00\x9e\x73",
           "publishing": b"\xcc\x79\xa7"}
SLA_RED = b"\xb4\x23\x18"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(tmp_path: Path) -> None:
    """Open items of every age, answered items over eleven days, and one hostile title and link."""
    # (title, lane, owner, started hours before NOW, answered hours after start or None, url)
    spec: list[tuple[str, str, str | None, float, float | None, str | None]] = [
        ("Refund please", "customer_service", "alice", 1.5, None, "https://example.com/a"),
        ("<script>alert(1)</script> broken", "customer_service", None, 5, None, "javascript:alert(1)"),
        ("Old complaint", "customer_service", "alice", 80, None, "http://example.com/old?a=1&b=\"2\""),
        ("Quote wanted", "sales_prospecting", "bob", 30, None, "https://example.com/q"),
        ("Fresh lead", "sales_prospecting", "bob", 0.5, None, None),
        ("Blog comment", "publishing", None, 200, None, "https://example.com/p"),
        ("chatter", "listening", None, 10, None, None),
    ]
    for d in range(1, 12):
        spec.append((f"answered cs {d}", "customer_service", "alice", 24 * d, 0.5 * d, "https://example.com/r"))
        if d % 3 == 0:
            spec.append((f"answered sales {d}", "sales_prospecting", "bob", 24 * d + 3, 10 * d / 3, None))
        spec.append((f"noise {d}", "listening", None, 24 * d + 5, None, None))
    seed_items(tmp_path / "socialscale.yaml", NOW, [
        Seed(lane, owner, age, answer, title=title, url=url) for title, lane, owner, age, answer, url in spec])


class Elements(HTMLParser):
    """Every element with its attributes and the id of the <svg> or <table> it sits in; and table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str | None, str, dict[str, str | None]]] = []
        self.container: str | None = None
        self.rows: dict[str, list[list[str]]] = {}
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("svg", "table"):
            self.container = a.get("id")
        if tag == "tr" and self.container:
            self.rows.setdefault(self.container, []).append([])
        if tag == "td":
            self.cell = []
        self.found.append((self.container, tag, a))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "table"):
            self.container = None
        if tag == "td" and self.cell is not None and self.container:
            self.rows[self.container][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def select(self, container: str, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [a for c, t, a in self.found
                if c == container and t == tag and (cls is None or cls in (a.get("class") or "").split())]


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


@pytest.fixture
def report(cli, write_config, tmp_path) -> tuple[str, Path]:
    write_config(CONFIG)
    seed(tmp_path)
    out = tmp_path / "report.html"
    result = cli("report", "html", "-o", str(out), "--since", "30d", "--now", NOW_ARG)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return out.read_text(encoding="utf-8"), out


def report_json(cli, *args: str) -> Any:
    result = cli("report", *args, "--now", NOW_ARG, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def expected_counts(cli) -> dict[str, Any]:
    volume = report_json(cli, "volume", "--by", "day", "--since", "30d")
    backlog = report_json(cli, "backlog")
    latency = report_json(cli, "latency", "--since", "30d")
    breaches = report_json(cli, "breaches")
    return {
        "volume": {(p["period"], lane): n for p in volume["periods"] for lane, n in p["lanes"].items() if n},
        "backlog": {(b, g["group"]): n for g in backlog["groups"] for b, n in g["buckets"].items() if n},
        "median": {g["group"]: g["median_s"] for g in latency["groups"] if g["responded"]},
        "p90": {g["group"]: g["p90_s"] for g in latency["groups"] if g["responded"]},
        "breaches": [item["id"] for item in breaches],
        "total": backlog["total"],
    }


def drawn(el: Elements) -> dict[str, Any]:
    def seconds(cls: str) -> dict[str | None, int]:
        return {a["data-lane"]: int(a["data-seconds"] or 0) for a in el.select("latency", "rect", cls)}

    return {
        "volume": {(a["data-key"], a["data-lane"]): int(a["data-count"] or 0) for a in el.select("volume", "rect", "bar")},
        "backlog": {(a["data-key"], a["data-lane"]): int(a["data-count"] or 0)
                    for a in el.select("backlog", "rect", "bar")},
        "median": seconds("median"),
        "p90": seconds("p90"),
        "sla": {a["data-lane"]: int(a["data-seconds"] or 0) for a in el.select("latency", "line", "sla")},
        "breaches": [int(row[0]) for row in el.rows.get("breaches", []) if row],
    }


def test_numbers_in_the_html_match_the_json_reports(report, cli):
    html, _ = report
    want = expected_counts(cli)
    got = drawn(parse(html))
    assert got["volume"] == want["volume"] and sum(want["volume"].values()) == 32  # 7 + 11 cs + 3 sales + 11 noise
    assert got["backlog"] == want["backlog"]
    # By hand: customer_service waits 1.5h, 5h and 80h; sales 30h and 0.5h; publishing 200h.
    assert want["backlog"] == {("1-4h", "customer_service"): 1, ("4-24h", "customer_service"): 1,
                               ("3-7d", "customer_service"): 1, ("<1h", "sales_prospecting"): 1,
                               ("1-3d", "sales_prospecting"): 1, (">7d", "publishing"): 1}
    assert got["median"] == want["median"] and got["p90"] == want["p90"]
    assert want["median"]["customer_service"] == 3 * 3600  # answers after 0.5h .. 5.5h: the middle is 3h
    assert got["sla"] == {"customer_service": 7200, "sales_prospecting": 86400}
    assert got["breaches"] == want["breaches"] and len(want["breaches"]) == 3
    cards = {a["data-card"] for _, t, a in parse(html).found if t == "div" and a.get("data-card")}
    assert {"Open", "Past the SLA"} <= cards
    assert f'data-card="Open">Open<b>{want["total"]["open"]}</b>' in html
    assert f'data-card="Past the SLA">Past the SLA<b>{want["total"]["breached"]}</b>' in html


def test_untrusted_text_is_escaped_and_only_http_links_are_written(report):
    html, _ = report
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; broken" in html
    assert "javascript:" not in html
    hrefs = [a["href"] for _, t, a in parse(html).found if t == "a"]
    assert hrefs == ["http://example.com/old?a=1&b=\"2\"", "https://example.com/q"]  # breaches with http(s) links
    # Self-contained: nothing is loaded from anywhere, and the policy forbids it anyway.
    for marker in ("src=", "<link", "@import", "url(", "<iframe", "<object"):
        assert marker not in html
    assert "default-src 'none'" in html


def test_html_to_stdout_and_an_empty_database(cli, write_config):
    write_config(CONFIG)
    result = cli("report", "html", "--now", NOW_ARG)
    assert result.exit_code == 0, result.stderr
    el = parse(result.stdout)
    assert el.select("volume", "rect", "bar") == [] and el.select("backlog", "rect", "bar") == []
    assert "Nothing is past its SLA." in result.stdout
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith("</html>")


def test_unwritable_output_is_one_clear_line(cli, write_config, tmp_path):
    write_config(CONFIG)
    result = cli("report", "html", "-o", str(tmp_path / "missing" / "r.html"), "--now", NOW_ARG)
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr


# --- in a real browser --------------------------------------------------------------------------------

def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / "chromium-profile"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=90, check=False)


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Width, height, rows of pixel bytes, bytes per pixel: 8-bit RGB/RGBA, non-interlaced (Chromium's)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            header = data[pos + 8:pos + 8 + length]
        elif kind == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, rows, i = bytearray(stride), [], 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride) if kind else ():
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def colours(png: Path) -> Counter[bytes]:
    _, _, rows, bpp = decode_png(png.read_bytes())
    return Counter(row[x:x + 3] for row in rows for x in range(0, len(row), bpp))


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install "
                                                              "chromium; .ci/run installs it when missing)")


@needs_chromium
def test_chromium_draws_the_charts_with_the_expected_elements(report, tmp_path, cli):
    _, path = report
    want = expected_counts(cli)
    done = chromium(tmp_path, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = parse(done.stdout.decode("utf-8"))
    assert len(dom.select("volume", "rect", "bar")) == len(want["volume"]) == 30  # (day, lane) pairs with items: by hand 11+11+3+5
    assert len(dom.select("backlog", "rect", "bar")) == len(want["backlog"]) == 6
    assert len(dom.select("latency", "rect", "median")) == len(dom.select("latency", "rect", "p90")) == 2
    assert len(dom.select("latency", "line", "sla")) == 2
    assert len(dom.rows["breaches"]) - 1 == 3  # header row + one per breach
    assert not [a for _, t, a in dom.found if t == "script"]

    shot = tmp_path / "desktop.png"
    done = chromium(tmp_path, "--window-size=1000,2400", "--force-device-scale-factor=1", f"--screenshot={shot}",
                    path.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    seen = colours(shot)
    white = seen[b"\xff\xff\xff"]
    assert white < 0.95 * sum(seen.values())  # not blank
    for lane, rgb in COLOURS.items():
        assert seen[rgb] > 500, f"no bars drawn in {lane}'s colour"
    assert seen[SLA_RED] > 20  # the SLA lines and the breach figures


@needs_chromium
def test_readable_on_a_phone_and_prints(report, tmp_path):
    _, path = report
    shot = tmp_path / "phone.png"
    done = chromium(tmp_path, "--window-size=390,1600", "--force-device-scale-factor=1", f"--screenshot={shot}",
                    path.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, _, _, _ = decode_png(shot.read_bytes())
    assert width == 390
    seen = colours(shot)
    assert seen[COLOURS["customer_service"]] > 300 and seen[b"\xff\xff\xff"] < 0.95 * sum(seen.values())

    pdf = tmp_path / "report.pdf"
    done = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", path.as_uri())
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = data.count(b"/Type /Page") - data.count(b"/Type /Pages")
    assert 1 <= pages <= 6


MEASURE = """<script>
const out = {scroll: document.documentElement.scrollWidth, svgs: [], clipped: [], small: [], lanes: []};
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  if (!box.width) continue;  // the drawing for the other screen size
  const vb = svg.viewBox.baseVal, scale = box.width / vb.width;
  out.svgs.push([svg.id, box.left, box.right]);
  for (const t of svg.querySelectorAll('text')) {
    const b = t.getBBox();
    if (b.x < vb.x - 0.5 || b.x + b.width > vb.x + vb.width + 0.5) out.clipped.push([svg.id, t.textContent]);
    if (b.height * scale < 9) out.small.push([svg.id, t.textContent, b.height * scale]);
  }
}
out.tables = [...document.querySelectorAll('.table')].filter(t => t.scrollWidth > t.clientWidth + 1)
  .map(t => t.firstElementChild.id);
for (const el of document.querySelectorAll('.legend span, td, svg text'))
  if (el.getBoundingClientRect().width && el.textContent.includes('_')) out.lanes.push(el.textContent);
parent.document.body.setAttribute('data-measure', JSON.stringify(out));
</script>"""


def measure(path: Path, tmp_path: Path, width: int) -> dict[str, Any]:
    """Lay the report out in Chromium at `width` CSS pixels and measure it: a copy of the page with a
    script (the report itself allows none) that records what a person would see. The copy sits in a frame
    `width` pixels wide, because headless Chromium makes no window narrower than 500 pixels."""
    html = path.read_text(encoding="utf-8")
    copy = (html.replace("default-src 'none'; style-src 'unsafe-inline'",
                         "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
            .replace("</body>", MEASURE + "</body>"))
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe style="border:0;width:{width}px;'
                     f'height:3000px" srcdoc="{escape(copy, quote=True)}"></iframe></body></html>', encoding="utf-8")
    done = chromium(tmp_path, f"--window-size={max(width, 500) + 20},3000", "--force-device-scale-factor=1",
                    "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    found = [a for _, t, a in parse(done.stdout.decode("utf-8")).found if t == "body"]
    return json.loads(found[0]["data-measure"] or "{}")


@needs_chromium
@pytest.mark.parametrize("width", [390, 1280])
def test_phone_and_desktop_layout_nothing_sideways_clipped_or_tiny(report, tmp_path, width):
    _, path = report
    seen = measure(path, tmp_path, width)
    assert seen["scroll"] <= width, "the page scrolls sideways"
    assert seen["tables"] == [], "tables scroll sideways"
    assert {s[0] for s in seen["svgs"]} == ({"volume-phone", "backlog-phone", "latency-phone"} if width < 600
                                            else {"volume", "backlog", "latency"})
    for svg_id, left, right in seen["svgs"]:  # every chart whole on screen: nothing to scroll to
        assert 0 <= left and right <= width, svg_id
    assert seen["clipped"] == [], "labels cut off at the edge of a chart"
    assert seen["small"] == [], "chart text too small to read"
    assert seen["lanes"] == [], "lane names with underscores"


def test_both_drawings_carry_the_same_numbers(report):
    el = parse(report[0])
    for chart in ("volume", "backlog"):
        wide = {(a["data-key"], a["data-lane"], a["data-count"]) for a in el.select(chart, "rect", "bar")}
        assert wide and wide == {(a["data-key"], a["data-lane"], a["data-count"])
                                 for a in el.select(chart + "-phone", "rect", "bar")}
    assert len(el.select("latency-phone", "line", "sla")) == len(el.select("latency", "line", "sla")) == 2


def test_a_long_breach_list_is_cut_and_counted(cli, write_config, tmp_path, monkeypatch):
    import socialscale.output.html

    monkeypatch.setattr(socialscale.output.html, "BREACH_ROWS", 2)
    write_config(CONFIG)
    seed(tmp_path)
    result = cli("report", "html", "--now", NOW_ARG)
    assert result.exit_code == 0, result.stderr
    el = parse(result.stdout)
    assert [int(r[0]) for r in el.rows["breaches"] if r] == [b["id"] for b in report_json(cli, "breaches")][:2]
    assert "Past the SLA (3)" in result.stdout and "and 1 more, the oldest shown" in result.stdout


def test_an_untitled_breach_shows_the_start_of_its_text():
    from socialscale.output.html import _breach_row

    row = _breach_row({"id": 7, "title": "", "text": "our <b>order</b> never came", "lane": "customer_service",
                       "owner": None, "url": None, "age_s": 9000, "sla_s": 7200, "over_s": 1800})
    assert "“our &lt;b&gt;order&lt;/b&gt; never came”" in row[3] and "customer service" in row[3]
