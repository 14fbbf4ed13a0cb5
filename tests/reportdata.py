"""A fixed dataset for the report tests: items stored through upsert_items, the workflow done through the CLI.

NOW is Wednesday 2024-03-06 12:00 UTC (Europe/London is on GMT, so local = UTC). Every figure the
tests expect is worked out by hand from the table below.

| key | source | lane              | published        | first seen       | then                                   |
|-----|--------|-------------------|------------------|------------------|----------------------------------------|
| A   | blog   | customer_service  | 03-06 11:30      | 03-06 11:35      | open, age 30m                          |
| B   | blog   | customer_service  | 03-06 09:00      | 03-06 09:10      | assigned alice; open, age 3h, breached |
| C   | forum  | customer_service  | -                | 03-05 20:00      | open, age 16h (start = first seen)     |
| D   | forum  | sales_prospecting | 03-04 12:00      | 03-04 12:30      | assigned bob; open, age exactly 2d     |
| E   | blog   | sales_prospecting | 03-01 12:00      | 03-01 13:00      | open, age 5d                           |
| F   | blog   | sales_prospecting | 02-20 12:00      | 02-20 12:00      | open, age 15d; title with Markdown     |
| G   | blog   | sales_prospecting | 03-06 11:00      | 03-06 11:00      | open, age exactly 1h                   |
| H   | blog   | listening         | 03-06 08:00      | 03-06 08:00      | open, but listening expects no answer  |
| I   | forum  | customer_service  | 03-06 11:30      | 03-06 11:40      | duplicate of A; answered 11:45         |
| J   | blog   | customer_service  | 03-06 10:30      | 03-06 10:30      | ours (alice wrote it)                  |
| K   | forum  | customer_service  | 03-06 13:00      | 03-06 10:00      | published after seen: start 10:00, age exactly 2h = SLA |
| L   | blog   | customer_service  | 03-05 09:00      | 03-05 09:05      | alice; answered 10:00 (1h), reply      |
| M   | forum  | customer_service  | 03-05 10:00      | 03-05 10:20      | alice; answered 13:00 (3h), dm         |
| N   | forum  | customer_service  | -                | 03-04 08:00      | bob; answered 08:30 (30m) email, again 09:30 |
| O   | blog   | sales_prospecting | 03-02 12:00      | 03-02 12:00      | bob; answered 03-03 18:00 (30h); closed |
| P   | blog   | customer_service  | 03-05 11:00      | 03-05 11:00      | answered 11:10, then ignored           |
| Q   | blog   | listening         | 03-05 12:00      | 03-05 12:00      | answered 14:00 (2h)                    |
| R   | blog   | customer_service  | 01-10 10:00      | 01-10 10:00      | answered 11:00 (1h): before --since 30d |
| S   | blog   | client_relations  | 02-26 10:00      | 02-26 10:00      | answered 10:30 (30m)                   |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import socialscale
from socialscale.models import Item
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items

NOW = "2024-03-06T12:00:00Z"
F_TITLE = "[click](javascript:alert(1)) *bold* <b>"
CONFIG: dict[str, Any] = {
    "timezone": "Europe/London",
    "team": {"alice": {}, "bob": {}},
    "lanes": {
        "listening": {"respond": False},
        "customer_service": {"sla": "2h", "owner": "alice"},
        "client_relations": {"sla": "4h"},
        "sales_prospecting": {"sla": "1d"},
        "publishing": {"sla": "3d"},
    },
    "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["09:00-12:30", "13:30-17:30"]},
    "sources": [{"name": "blog", "type": "feed", "url": "https://example.com/feed"},
                {"name": "forum", "type": "feed", "url": "https://forum.example.com/feed"}],
}


def add_item(db_path: Path | str, source: str, guid: str, *, seen: str, published: str | None, lane: str | None,
             canonical: str | None = None, ours: str | None = None, title: str | None = None, text: str = "",
             author: str | None = None) -> int:
    """Store one item the way a pull does (upsert_items in a transaction). The lane and `ours` stand in
    for the rules engine, which is not under test here."""
    db = open_db(db_path)
    try:
        with transaction(db):
            item = Item(source=source, guid=guid, title=f"item {guid}" if title is None else title, text=text,
                        author=author, url=f"https://example.com/{guid}", published_at=published,
                        canonical_url=canonical)
            result = upsert_items(db, source, [item], seen)
            item_id = result.new_ids[0]
            db.execute("UPDATE items SET lane = ?, lanes = ?, ours = ? WHERE id = ?",
                       [lane, json.dumps([lane] if lane else []), ours, item_id])
    finally:
        db.conn.close()
    return item_id


def build(cli: Callable[..., Any], tmp_path: Path, database: str | None = None) -> dict[str, int]:
    """The dataset of the module docstring; returns item ids by key. `database` (an SQLite file or a
    PostgreSQL URL) must be the one the config names; by default the config's `test.db`."""
    db: Path | str = database or tmp_path / "test.db"
    d = "2024-03-"
    spec = {
        "A": ("blog", d + "06T11:35:00Z", d + "06T11:30:00Z", "customer_service", {"canonical": "https://example.com/a"}),
        "B": ("blog", d + "06T09:10:00Z", d + "06T09:00:00Z", "customer_service", {}),
        "C": ("forum", d + "05T20:00:00Z", None, "customer_service", {}),
        "D": ("forum", d + "04T12:30:00Z", d + "04T12:00:00Z", "sales_prospecting", {}),
        "E": ("blog", d + "01T13:00:00Z", d + "01T12:00:00Z", "sales_prospecting", {}),
        "F": ("blog", "2024-02-20T12:00:00Z", "2024-02-20T12:00:00Z", "sales_prospecting", {"title": F_TITLE}),
        "G": ("blog", d + "06T11:00:00Z", d + "06T11:00:00Z", "sales_prospecting", {}),
        "H": ("blog", d + "06T08:00:00Z", d + "06T08:00:00Z", "listening", {}),
        "I": ("forum", d + "06T11:40:00Z", d + "06T11:30:00Z", "customer_service", {"canonical": "https://example.com/a"}),
        "J": ("blog", d + "06T10:30:00Z", d + "06T10:30:00Z", "customer_service", {"ours": "alice"}),
        "K": ("forum", d + "06T10:00:00Z", d + "06T13:00:00Z", "customer_service", {}),
        "L": ("blog", d + "05T09:05:00Z", d + "05T09:00:00Z", "customer_service", {}),
        "M": ("forum", d + "05T10:20:00Z", d + "05T10:00:00Z", "customer_service", {}),
        "N": ("forum", d + "04T08:00:00Z", None, "customer_service", {}),
        "O": ("blog", d + "02T12:00:00Z", d + "02T12:00:00Z", "sales_prospecting", {}),
        "P": ("blog", d + "05T11:00:00Z", d + "05T11:00:00Z", "customer_service", {}),
        "Q": ("blog", d + "05T12:00:00Z", d + "05T12:00:00Z", "listening", {}),
        "R": ("blog", "2024-01-10T10:00:00Z", "2024-01-10T10:00:00Z", "customer_service", {}),
        "S": ("blog", "2024-02-26T10:00:00Z", "2024-02-26T10:00:00Z", "client_relations", {}),
    }
    ids = {key: add_item(db, source, key.lower(), seen=seen, published=published, lane=lane, **extra)
           for key, (source, seen, published, lane, extra) in spec.items()}

    def run(*args: str) -> None:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)

    i = {key: str(value) for key, value in ids.items()}
    run("assign", i["B"], i["L"], i["M"], "--to", "alice", "--at", d + "06T09:30:00Z")
    run("assign", i["D"], i["N"], i["O"], "--to", "bob", "--at", d + "04T12:40:00Z")
    run("respond", i["I"], "--at", d + "06T11:45:00Z")
    run("respond", i["L"], "--at", d + "05T10:00:00Z")
    run("respond", i["M"], "--at", "2024-03-05 13:00", "--via", "dm")  # naive: Europe/London, GMT in March
    run("respond", i["N"], "--at", d + "04T08:30:00Z", "--by", "bob", "--via", "email")
    run("respond", i["N"], "--at", d + "04T09:30:00Z")  # a later response: an event only
    run("respond", i["O"], "--at", d + "03T18:00:00Z", "--by", "bob")
    run("close", i["O"], "--at", d + "04T09:00:00Z")
    run("respond", i["P"], "--at", d + "05T11:10:00Z")
    run("ignore", i["P"], "--at", d + "05T11:20:00Z")
    run("respond", i["Q"], "--at", d + "05T14:00:00Z")
    run("respond", i["R"], "--at", "2024-01-10T11:00:00Z")
    run("respond", i["S"], "--at", "2024-02-26T10:30:00Z")
    return ids


def report(cli: Callable[..., Any], *args: str) -> Any:
    """`socialscale report ... --format json` at NOW, parsed."""
    result = cli("report", *args, "--now", NOW, "--format", "json")
    assert result.exit_code in (0, 3), (args, result.stdout, result.stderr)
    return json.loads(result.stdout)


@dataclass
class Seed:
    """One item to seed straight into the store: started `age_h` hours before `now`, answered
    `answer_h` hours after its start (or not at all)."""

    lane: str
    owner: str | None
    age_h: float
    answer_h: float | None = None
    title: str = ""
    url: str | None = None
    via: str = "reply"


def seed_items(config_path: Path, now: datetime, seeds: list[Seed]) -> None:
    """Store `seeds` through the real store and workflow paths (upsert, then respond), seen a minute before `now`."""
    from socialscale import workflow
    from socialscale.timeutil import utc_iso

    with socialscale.open(config_path) as session:
        db, config = session.db, session.config
        items = [Item(source="seed", guid=f"g{i}", title=s.title or f"item {i}", url=s.url,
                      published_at=utc_iso(now - timedelta(hours=s.age_h))) for i, s in enumerate(seeds)]
        with transaction(db):
            ids = upsert_items(db, "seed", items, utc_iso(now - timedelta(minutes=1))).new_ids
            for item_id, s in zip(ids, seeds, strict=True):
                db.execute("UPDATE items SET lane = ?, owner = ? WHERE id = ?", (s.lane, s.owner, item_id))
        for item_id, s in zip(ids, seeds, strict=True):
            if s.answer_h is not None:
                workflow.respond(db, config, [item_id], by="alice", now=now,
                                 at=now - timedelta(hours=s.age_h - s.answer_h), via=s.via)
