"""A fixed dataset of two threads (docs/workflow.md's example): Dana's complaint with a follow-up and a
catalyzed reply, and Pat's sales question that Bob answers for the whole thread."""

from __future__ import annotations

from typing import Any

THR = "http://purl.org/syndication/thread/1.0"
NOW = "2025-01-20T12:00:00Z"

CONFIG: dict[str, Any] = {
    "team": {"alice": {}, "sam": {"handles": ["feed:sam"]}, "bob": {"handles": ["feed:bob"]}},
    "lanes": {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "alice"},
              "sales_prospecting": {"sla": "1d", "owner": "bob"}},
    "rules": [{"name": "complaints", "lane": "customer_service", "any": ["refund", "broken"]},
              {"name": "leads", "lane": "sales_prospecting", "any": ["looking for a crm"]}],
}

# (guid, author, published, in reply to, text)
THREADS = [
    ("d1", "dana", "2025-01-10T10:00:00Z", None, "My order arrived broken, I want a refund"),
    ("s1", "sam", "2025-01-10T11:00:00Z", "d1", "Sorry about that! A new one is on its way."),
    ("d2", "dana", "2025-01-13T11:00:00Z", "s1", "Still nothing three days later. Hello?"),
    ("l1", "lee", "2025-01-13T12:00:00Z", "s1", "Same thing happened to me last week"),
    ("s2", "sam", "2025-01-13T13:30:00Z", "d2", "So sorry, a courier brings it today"),
    ("d3", "dana", "2025-01-15T09:00:00Z", "s2", "It arrived, but the lid is missing"),
    ("p1", "pat", "2025-01-14T09:00:00Z", None, "Looking for a CRM for a team of five"),
    ("q1", "quinn", "2025-01-14T09:30:00Z", "p1", "Same question here"),
    ("b1", "bob", "2025-01-14T10:00:00Z", "p1", "Acme CRM does this, happy to show you"),
    ("x1", "max", "2025-01-16T09:00:00Z", None, "The app is broken since the update"),
]
HANDOFF = ("x1", "2025-01-16T10:00:00Z", "alice", "dm")  # answered by a person, by DM


def atom(entries: list[tuple[str, str, str, str | None, str]]) -> str:
    """An Atom feed (RFC 4287) whose replies carry `<thr:in-reply-to ref href>` (RFC 4685, section 3)."""
    parts = [f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' xmlns:thr='{THR}'>"
             "<title>Comments</title><id>urn:comments</id><updated>2025-01-14T10:00:00Z</updated>"]
    for guid, author, at, reply_to, text in entries:
        reply = f"<thr:in-reply-to ref='{reply_to}' href='https://shop.example/c/{reply_to}'/>" if reply_to else ""
        parts.append(f"<entry><id>{guid}</id><title></title><link href='https://shop.example/c/{guid}'/>"
                     f"<author><name>{author}</name></author><updated>{at}</updated>"
                     f"<content type='text'>{text}</content>{reply}</entry>")
    parts.append("</feed>")
    return "".join(parts)
