"""Shared fixtures: an isolated environment, a real HTTP server on 127.0.0.1, and a CLI runner."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pgserver import PASSWORD as PG_PASSWORD
from pgserver import PgServer, find_bindir
from typer.testing import CliRunner

from socialscale.cli.main import app


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's real config, database or environment (llm's conftest)."""
    home = tmp_path / "home"
    home.mkdir()
    for var in ("SOCIALSCALE_CONFIG", "SOCIALSCALE_DB", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE",
                "PGSERVICE", "PGPASSFILE", "PGSERVICEFILE", "PGSSLMODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server for the whole session, or a skip where none is installed."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = PgServer(bindir)
    saved = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = PG_PASSWORD
    try:
        server.start()
    except (OSError, subprocess.CalledProcessError) as exc:  # e.g. no unprivileged user to run it as
        server.stop()
        detail = " ".join(str(getattr(exc, "stderr", "") or exc).split())[:300]
        pytest.skip(f"the PostgreSQL server binaries are installed but a test server could not start: {detail}")
    except BaseException:
        server.stop()
        raise
    finally:
        if saved is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = saved
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, migrated PostgreSQL database for this test; PGPASSWORD is set as a member would set it."""
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
    return pg_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The `database:` value of a test run on each backend: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "test.db")
    return str(request.getfixturevalue("pg_url"))


@dataclass
class Route:
    """What the server answers for one path: a static response or a handler function."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class LocalServer:
    """A threaded HTTP server bound to 127.0.0.1 on a free port (httpie's tests/utils/http_server.py)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with outer._lock:
                    outer.requests.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                path = self.path.split("?", 1)[0]
                route = outer.routes.get(self.path) or outer.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.handler is not None:
                    route.handler(self)
                    return
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_HEAD = do_GET  # noqa: N815

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with outer._lock:
                    outer.posts.append((self.path, body))
                self.body = body  # for a route handler that answers by what was posted
                self.do_GET()

        self.posts: list[tuple[str, bytes]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # a client hanging up mid-response is not an error
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", status: int = 200, content_type: str = "application/xml",
            headers: dict[str, str] | None = None, gzip_body: bool = False, **kw: Any) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        hdrs = {"Content-Type": content_type, **(headers or {})}
        if gzip_body:
            data = gzip.compress(data)
            hdrs["Content-Encoding"] = "gzip"
        self.routes[path] = Route(body=data, status=status, headers=hdrs, **kw)
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path or r.path == path]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every asyncio.sleep the program asks for, in seconds; the real sleep still happens.

    Lets a test check that a rate-limit wait was honoured, and for how long, without timing anything.
    """
    asked: list[float] = []
    real = asyncio.sleep

    async def recording(delay: float, result: Any = None) -> Any:
        asked.append(float(delay))
        return await real(delay, result)

    monkeypatch.setattr(asyncio, "sleep", recording)
    return asked


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner, tmp_path: Path) -> Callable[..., Any]:
    """Run the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a socialscale.yaml in the test's directory (the default config location)."""

    def write(data: dict[str, Any]) -> Path:
        data = {"database": "test.db", **data}
        path = tmp_path / "socialscale.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write


def rss(items: list[dict[str, str]], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; each item dict may have title, link, guid, description, pubDate, author."""
    parts = [f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
             "<link>http://example.com/</link><description>t</description>"]
    for it in items:
        parts.append("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in it.items()) + "</item>")
    parts.append("</channel></rss>")
    return "".join(parts)
