"""Helpers for the hostile-input suite: a tight config, one-pull-as-data, database reads, byte checks.

(Not a conftest.py: a second conftest module would shadow tests/conftest.py's `rss` helper.)
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

# Limits that keep the suite fast: a hostile feed must hit them within seconds, not minutes.
FAST_FETCH = {"retries": 0, "parse_timeout": "30s", "parse_memory": "256MiB"}
# ESC, C1 controls (also as the raw byte 0x9b), DEL, NUL and the bidi overrides/isolates.
FORBIDDEN_OUTPUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def configure(write_config: Callable[[dict[str, Any]], Path], sources: list[dict[str, Any]],
              **fetch: Any) -> Path:
    """Write socialscale.yaml with the fast limits (overridable) and these sources."""
    return write_config({"fetch": {**FAST_FETCH, **fetch}, "sources": sources})


def pull(cli: Callable[..., Any], *args: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Run `pull --json`; return the result and the per-source JSON by name. Never a traceback."""
    result = cli("pull", "--json", *args)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    data = json.loads(result.stdout)
    return result, {s["name"]: s for s in data["sources"]}


def error_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_one_clean_error(result: Any, by_name: dict[str, dict[str, Any]], name: str, *fragments: str) -> str:
    """The source failed with exactly one stderr line naming it; the pull exited 1 (partial)."""
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    source = by_name[name]
    assert source["status"] == "error", source
    lines = [line for line in error_lines(result) if line.startswith(f"error: {name}:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in source["error"], source["error"]
        assert fragment in lines[0]
    return str(source["error"])


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def items_of(db: Path, source: str) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute("SELECT * FROM items WHERE source = ?", (source,)).fetchall()
        return {r["guid"]: dict(r) for r in found}
    finally:
        conn.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def trickle(interval: float = 0.1, limit_s: float = 30.0) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that sends a valid-looking start and then one byte per `interval`, forever (bounded
    by `limit_s` so a test server thread never outlives the suite)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        end = time.monotonic() + limit_s
        try:
            h.wfile.write(b"1\r\n<\r\n")
            while time.monotonic() < end:
                time.sleep(interval)
                h.wfile.write(b"1\r\n \r\n")
                h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        h.close_connection = True

    return handler


def stream_forever(chunk: bytes = b"A" * 65536, limit: int = 1 << 30) -> Callable[[BaseHTTPRequestHandler], None]:
    """A chunked response with no Content-Length that never ends on its own (up to `limit` bytes)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        sent = 0
        try:
            while sent < limit:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        h.close_connection = True

    return handler


def tree_bytes(root: Path) -> bytes:
    """Every file under `root` (database, WAL, lock, config ...) concatenated, for leak searches."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())
