"""The `lanes` table: a copy of the configured lanes so SQL views and Datasette know the SLAs."""

from __future__ import annotations

from socialscale.models import Config
from socialscale.store.database import Database
from socialscale.store.db import transaction


def sync_lanes(db: Database, config: Config) -> None:
    wanted = {(lane.name, lane.sla_s, lane.owner, int(lane.respond)) for lane in config.lanes.values()}
    have = {tuple(row) for row in db.execute("SELECT name, sla_s, owner, respond FROM lanes").fetchall()}
    if wanted == have:
        return
    with transaction(db):
        db.execute("DELETE FROM lanes")
        db.conn.executemany("INSERT INTO lanes (name, sla_s, owner, respond) VALUES (?, ?, ?, ?)", sorted(wanted, key=str))
