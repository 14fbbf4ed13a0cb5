"""The engine's connection pool: a kept-alive connection is used again while the server keeps it
open, and one the server closed while it sat idle is noticed and not used (socialscale.fetch's
`pooled_transport` answers httpcore's idle check itself)."""

from __future__ import annotations

import asyncio

import pytest

from socialscale.fetch import Fetcher
from socialscale.models import FetchSettings

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


async def _serve(close_after_each: bool) -> tuple[asyncio.Server, list[int]]:
    """A raw HTTP/1.1 server on 127.0.0.1 that counts its connections; with `close_after_each` it
    drops each connection a moment after answering, without saying so (no `Connection: close`)."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
            await writer.drain()
            if close_after_each:
                await asyncio.sleep(0.05)
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


async def _two_requests(close_after_each: bool) -> tuple[list[int], list[int]]:
    server, connections = await _serve(close_after_each)
    port = server.sockets[0].getsockname()[1]
    statuses = []
    try:
        async with Fetcher(FetchSettings(retries=0)) as fetcher:
            for _ in range(2):
                statuses.append((await fetcher.get(f"http://127.0.0.1:{port}/feed.xml")).status)
                await asyncio.sleep(0.3)  # the closing server has long closed by now
    finally:
        server.close()
        await server.wait_closed()
    return statuses, connections


def test_a_kept_alive_connection_is_used_again():
    statuses, connections = asyncio.run(_two_requests(close_after_each=False))
    assert statuses == [200, 200]
    assert len(connections) == 1


def test_a_connection_the_server_closed_while_idle_is_not_used_again():
    # With no retries, a request sent on the dead connection would fail ("server disconnected").
    statuses, connections = asyncio.run(_two_requests(close_after_each=True))
    assert statuses == [200, 200]
    assert len(connections) == 2


def test_the_pool_is_httpcores_with_linear_bookkeeping_only_for_the_release_it_was_written_for(monkeypatch):
    import httpcore

    from socialscale import fetch

    assert type(fetch.pooled_transport(16)._pool) is fetch._Pool
    monkeypatch.setattr(httpcore, "__version__", "1.1.0")
    assert type(fetch.pooled_transport(16)._pool) is httpcore.AsyncConnectionPool


async def _visits(origins: list[int], settings: FetchSettings) -> tuple[list[int], list[list[int]]]:
    servers = [await _serve(close_after_each=False) for _ in range(max(origins) + 1)]
    ports = [server.sockets[0].getsockname()[1] for server, _ in servers]
    try:
        async with Fetcher(settings) as fetcher:
            statuses = [(await fetcher.get(f"http://127.0.0.1:{ports[n]}/feed.xml")).status for n in origins]
    finally:
        for server, _ in servers:
            server.close()
            await server.wait_closed()
    return statuses, [connections for _, connections in servers]


@pytest.mark.parametrize("linear", [True, False])
def test_a_full_pool_gives_an_idle_connections_place_to_a_new_origin_as_httpcore_does(monkeypatch, linear):
    """Two connections at most, origins visited A, B, C, A: C takes the idle A's place, then A takes
    B's (the oldest idle). The same with the linear pool and with httpcore's own."""
    from socialscale import fetch

    if not linear:
        monkeypatch.setattr(fetch._Pool, "fits", staticmethod(lambda: False))
    statuses, connections = asyncio.run(_visits([0, 1, 2, 0], FetchSettings(retries=0, concurrency=2, per_host=2)))
    assert statuses == [200, 200, 200, 200]
    assert [len(c) for c in connections] == [2, 1, 1]


def test_many_requests_in_flight_share_at_most_the_pools_connections():
    async def run() -> tuple[list[int], list[int]]:
        server, connections = await _serve(close_after_each=False)
        port = server.sockets[0].getsockname()[1]
        try:
            async with Fetcher(FetchSettings(retries=0, concurrency=16, per_host=16)) as fetcher:
                results = await asyncio.gather(*(fetcher.get(f"http://127.0.0.1:{port}/feed/{n}.xml")
                                                 for n in range(120)))
        finally:
            server.close()
            await server.wait_closed()
        return [r.status for r in results], connections

    statuses, connections = asyncio.run(run())
    assert statuses == [200] * 120
    assert 1 <= len(connections) <= 16
