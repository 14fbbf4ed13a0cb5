"""A small, fast HTTP/1.1 server for benchmarks: serves generated RSS feeds with ETags (and 304s).

Run as a separate process so that it does not share the benchmarked process's GIL:
    python benchmarks/feedserver.py PORT FEEDS ITEMS [REPLIES]

REPLIES (0-1, default 0) is the share of items that reply to an earlier item (`thr:in-reply-to`, RFC
4685): seven in ten to one in the same feed, the rest to one in another feed, so some replies are
stored before their parents and threads span sources.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

WORDS = ("coffee beans order refund broken delivery great service looking for alternative quote subscription "
         "grinder espresso roast price wholesale cafe team thanks awful love shipping late invoice contract "
         "renewal review recommend cancel support account website app bug crash slow").split()


def feed(n: int, items: int, feeds: int = 1, replies: float = 0.0) -> bytes:
    rng = random.Random(n)
    now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    parts = ["<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
             f"xmlns:thr='http://purl.org/syndication/thread/1.0'><channel><title>Feed {n}</title>"
             f"<link>https://site{n}.example/</link><description>bench</description>"]
    for i in range(items):
        title = " ".join(rng.choice(WORDS) for _ in range(8))
        text = " ".join(rng.choice(WORDS) for _ in range(60))
        when = now - timedelta(minutes=rng.randint(1, 20000))
        thread = ""
        if replies and rng.random() < replies:
            if i and (feeds == 1 or rng.random() < 0.7):
                parent = f"https://site{n}.example/p/{rng.randrange(i)}"
            else:
                parent = f"https://site{rng.randrange(feeds)}.example/p/{rng.randrange(items)}"
            thread = f"<thr:in-reply-to ref='{parent}' href='{parent}'/>"
        parts.append(f"<item><title>{title}</title><link>https://site{n}.example/p/{i}</link>"
                     f"<guid>https://site{n}.example/p/{i}</guid><pubDate>{format_datetime(when)}</pubDate>"
                     f"<description>&lt;p&gt;{text}&lt;/p&gt;</description>{thread}</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def main() -> None:
    port, feeds, items = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    replies = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    bodies = {f"/feed/{n}.xml": feed(n, items, feeds, replies) for n in range(feeds)}
    etags = {path: '"' + hashlib.md5(body).hexdigest() + '"' for path, body in bodies.items()}  # noqa: S324

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = bodies.get(path)
                if body is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif headers.get("if-none-match") == etags[path]:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etags[path]}\r\nContent-Length: 0\r\n\r\n".encode())
                else:
                    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: {etags[path]}\r\n"
                                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
