"""Helpers for the API source tests: fixture files, per-query routes, pulls, database reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


@dataclass
class Answer:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    data = answer.body.encode() if isinstance(answer.body, str) else answer.body
    handler.send_response(answer.status)
    handler.send_header("Content-Type", answer.content_type)
    for key, value in answer.headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def query(path: str) -> dict[str, str]:
    """A request path's query string as a flat dict (last value wins)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(path).query, keep_blank_values=True).items()}


class Router:
    """Answers one path by its query string: the first case whose pairs are all in the query wins.

    A case may hold a list of answers, given out in turn (the last repeats), for retry tests.
    """

    def __init__(self, cases: list[tuple[dict[str, str] | Callable[[dict[str, str]], bool], Answer | list[Answer]]],
                 default: Answer | None = None) -> None:
        self.cases = cases
        self.default = default or Answer(b'{"error": "no fixture for this query"}', 404)
        self.calls: dict[int, int] = {}

    def keys(self, handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        """What the cases are matched against: the query string (a subclass may read the body)."""
        return query(handler.path)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        q = self.keys(handler)
        for index, (match, answer) in enumerate(self.cases):
            ok = match(q) if callable(match) else all(q.get(k) == v for k, v in match.items())
            if ok:
                if isinstance(answer, list):
                    n = self.calls.get(index, 0)
                    self.calls[index] = n + 1
                    answer = answer[min(n, len(answer) - 1)]
                send(handler, answer)
                return
        send(handler, self.default)


def pull_json(cli: Callable[..., Any], *names: str, exit_code: int = 0) -> dict[str, Any]:
    result = cli("pull", *names, "--format", "json")
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def rows(sql: str, params: tuple[Any, ...] = (), db: str = "test.db") -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def items(source: str | None = None) -> dict[str, dict[str, Any]]:
    """Stored items by guid (optionally of one source), with extra decoded."""
    found = rows("SELECT * FROM items" + (" WHERE source = ?" if source else ""), (source,) if source else ())
    for row in found:
        row["extra"] = json.loads(row["extra"])
    return {r["guid"]: r for r in found}


def cursor(source: str) -> Any:
    found = rows("SELECT cursor FROM sources WHERE name = ?", (source,))
    return json.loads(found[0]["cursor"]) if found and found[0]["cursor"] else None


def database_bytes(db: str = "test.db") -> bytes:
    """The database file with its WAL and shared-memory files: everything on disk."""
    out = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(db + suffix)
        if path.exists():
            out += path.read_bytes()
    return out


def warnings_of(result: dict[str, Any], name: str) -> list[str]:
    return next(s for s in result["sources"] if s["name"] == name)["warnings"]


def source_result(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in result["sources"] if s["name"] == name)
