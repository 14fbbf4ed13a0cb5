"""Hostile HTTP: oversized and endless bodies, compression bombs, tricklers, redirect games,
error statuses, dead ports, TLS failures and a Retry-After of a year."""

from __future__ import annotations

import functools
import resource
import shutil
import ssl
import subprocess
import threading
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import rss
from hostiletools import (
    assert_one_clean_error,
    configure,
    free_port,
    pull,
    rows,
    send,
    stream_forever,
    trickle,
)

GOOD = rss([{"title": "healthy", "guid": "ok-1"}])
BIG = rss([{"title": "x" * 1000, "guid": str(i)} for i in range(200)])  # ~220 kB


@functools.cache
def bomb(wbits: int) -> bytes:
    """256 MiB of zeros compressed to ~260 kB (gzip: wbits 31; zlib deflate: 15)."""
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = b"\0" * (1 << 20)
    return b"".join([z.compress(zeros) for _ in range(256)] + [z.flush()])


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_body_caps_declared_streamed_and_decoded(server, cli, write_config, tmp_path):
    gz, deflate = bomb(31), bomb(15)
    assert len(gz) < 1024 * 1024 and len(deflate) < 1024 * 1024  # the wire size is under the cap
    configure(write_config, [
        {"name": "declared", "url": server.add("/declared", BIG), "max_bytes": "64KiB"},
        {"name": "endless", "url": server.add("/endless", handler=stream_forever()), "max_bytes": "1MiB"},
        {"name": "gzip-bomb", "url": server.add("/gz", gz, headers={"Content-Encoding": "gzip"}), "max_bytes": "1MiB"},
        {"name": "deflate-bomb", "url": server.add("/df", deflate, headers={"Content-Encoding": "deflate"}),
         "max_bytes": "1MiB"},
        {"name": "corrupt-gzip", "url": server.add("/bad-gz", b"\x1f\x8b\x08\x00garbage" * 10,
                                                   headers={"Content-Encoding": "gzip"})},
        {"name": "brotli", "url": server.add("/br", b"\x0b\x02\x80ok\x03", headers={"Content-Encoding": "br"})},
        {"name": "good", "url": server.add("/good", GOOD, gzip_body=True)},
    ])
    before = maxrss_mb()
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "declared", "response of 208,856 bytes", "over the 65,536-byte cap (fetch.max_bytes)")
    assert_one_clean_error(result, by_name, "endless", "response is over the 1,048,576-byte cap")
    assert_one_clean_error(result, by_name, "gzip-bomb", "over the 1,048,576-byte cap", "after decompression")
    assert_one_clean_error(result, by_name, "deflate-bomb", "over the 1,048,576-byte cap", "after decompression")
    assert_one_clean_error(result, by_name, "corrupt-gzip", "corrupt gzip response body")
    assert_one_clean_error(result, by_name, "brotli", "unsupported Content-Encoding 'br'")
    assert by_name["good"]["new"] == 1
    # Decoding was incremental: 2 x 256 MiB of zeros never sat in memory at once.
    assert maxrss_mb() - before < 64


def test_a_trickling_server_is_cut_off_by_the_source_deadline(server, cli, write_config, tmp_path):
    configure(write_config, [{"name": "trickle", "url": server.add("/trickle", handler=trickle(0.1)), "timeout": "1s"},
                             {"name": "good", "url": server.add("/good", GOOD)}], read_timeout="30s")
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "trickle", "gave up after 1s")
    assert by_name["good"]["new"] == 1


def test_redirect_games(server, cli, write_config):
    server.add("/loop", status=302, headers={"Location": "/loop"})
    for i in range(10):
        server.add(f"/hop{i}", status=307, headers={"Location": f"/hop{i + 1}"})
    server.add("/hop10", GOOD)
    server.add("/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    server.add("/to-ftp", status=301, headers={"Location": "ftp://127.0.0.1/feed"})
    server.add("/to-garbage", status=302, headers={"Location": "http://[::1"})
    server.add("/to-idna", status=302, headers={"Location": "http://xn--/"})
    server.add("/no-location", status=302)
    configure(write_config, [
        {"name": "loop", "url": server.url("/loop")},
        {"name": "long-chain", "url": server.url("/hop0")},
        {"name": "to-file", "url": server.url("/to-file")},
        {"name": "to-ftp", "url": server.url("/to-ftp")},
        {"name": "to-garbage", "url": server.url("/to-garbage")},
        {"name": "to-idna", "url": server.url("/to-idna")},
        {"name": "no-location", "url": server.url("/no-location")},
        {"name": "good", "url": server.add("/good", GOOD)},
    ])
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "loop", "redirect loop or more than 5 redirects")
    assert_one_clean_error(result, by_name, "long-chain", "redirect loop or more than 5 redirects")
    assert len(server.hits("/hop0")) == 1 and not server.hits("/hop7")  # stopped after 5 hops
    assert_one_clean_error(result, by_name, "to-file", "cannot follow", "unsupported protocol 'file://'")
    assert_one_clean_error(result, by_name, "to-ftp", "cannot follow", "unsupported protocol 'ftp://'")
    assert_one_clean_error(result, by_name, "to-garbage", "cannot follow a redirect")
    assert_one_clean_error(result, by_name, "to-idna", "invalid URL or redirect")
    assert_one_clean_error(result, by_name, "no-location", "HTTP 302 Found without a Location to follow")
    assert "passwd" not in result.stdout.replace("file:///etc/passwd", "")
    assert by_name["good"]["new"] == 1


def test_error_statuses_dead_ports_and_tls(server, cli, write_config):
    statuses = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 410: "Gone", 500: "Internal Server Error",
                503: "Service Unavailable", 599: ""}
    sources = [{"name": f"http-{code}", "url": server.add(f"/s{code}", "<html>oops</html>", status=code)}
               for code in statuses]
    dead = free_port()
    configure(write_config, [
        *sources,
        {"name": "refused", "url": f"http://127.0.0.1:{dead}/feed"},
        {"name": "tls", "url": server.base.replace("http://", "https://") + "/good"},
        {"name": "good", "url": server.add("/good", GOOD)},
    ])
    result, by_name = pull(cli)
    for code, phrase in statuses.items():
        assert_one_clean_error(result, by_name, f"http-{code}", f"HTTP {code}{' ' + phrase if phrase else ''}")
    assert_one_clean_error(result, by_name, "refused", "connection refused")
    assert_one_clean_error(result, by_name, "tls", "TLS error")
    assert by_name["good"]["new"] == 1


def test_retries_then_a_clean_error(server, cli, write_config):
    configure(write_config, [{"name": "down", "url": server.add("/down", status=502)}], retries=2)
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "down", "HTTP 502 Bad Gateway (gave up after 3 attempts)")
    assert len(server.hits("/down")) == 3


def test_a_retry_after_of_a_year_is_capped_reported_and_remembered(server, cli, write_config, tmp_path):
    year = timedelta(days=365)
    date = format_datetime(datetime.now(timezone.utc) + year, usegmt=True)
    configure(write_config, [
        {"name": "seconds", "url": server.add("/seconds", status=429, headers={"Retry-After": str(int(year.total_seconds()))})},
        {"name": "date", "url": server.add("/date", status=503, headers={"Retry-After": date})},
    ], retries=1, max_retry_after="2h", per_host=1)
    result, by_name = pull(cli)
    assert result.exit_code == 1
    first = next(n for n in ("seconds", "date") if by_name[n]["status"] == "error")
    error = by_name[first]["error"]
    assert "capped to 2h (fetch.max_retry_after)" in error and "365d" in error
    assert "will not ask 127.0.0.1 again before" in error
    (host, not_before), = rows(tmp_path / "test.db", "SELECT host, not_before FROM hosts")
    until = datetime.fromisoformat(not_before.replace("Z", "+00:00"))
    assert host == "127.0.0.1"
    assert timedelta(hours=1, minutes=59) < until - datetime.now(timezone.utc) <= timedelta(hours=2)
    hits = len(server.requests)
    again, by_name = pull(cli)
    assert {s["status"] for s in by_name.values()} == {"skipped"}
    assert all("asked not to be contacted before" in s["error"] for s in by_name.values())
    assert len(server.requests) == hits  # the next run did not ask the host at all
    assert again.exit_code == 0


@pytest.fixture
def tls_server(tmp_path):  # type: ignore[no-untyped-def]
    """An HTTPS server on 127.0.0.1 with a self-signed certificate nobody trusts."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            send(self, GOOD.encode())

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_untrusted_certificate_is_a_tls_error(tls_server, server, cli, write_config):
    configure(write_config, [{"name": "self-signed", "url": tls_server + "/feed"},
                             {"name": "good", "url": server.add("/good", GOOD)}], retries=2)
    result, by_name = pull(cli)
    assert_one_clean_error(result, by_name, "self-signed", "TLS error", "CERTIFICATE_VERIFY_FAILED")
    assert "gave up after" not in by_name["self-signed"]["error"]  # not retried: it will not fix itself
    assert by_name["good"]["new"] == 1
