"""The `lanes` table: a copy of the configured lanes so SQL views and Datasette know the SLAs."""

from __future__ import annotations

from socialscale.models import Config
from socialscale.store.database import Database
from socialscale.store.db import transaction


def sync_lanes(db: Database, config: Config) -> None:
    """Make the table say what the config says, touching only the lanes that differ: a lane that changes
    whether it expects a response lists its conversations for new figures (store/figures.py), so a
    change of SLA must not delete and re-insert every lane."""
    wanted = {lane.name: (lane.sla_s, lane.owner, int(lane.respond)) for lane in config.lanes.values()}
    have = {str(row[0]): tuple(row[1:]) for row in db.execute("SELECT name, sla_s, owner, respond FROM lanes").fetchall()}
    if wanted == have:
        return
    with transaction(db):
        for name in sorted(have.keys() - wanted.keys()):
            db.execute("DELETE FROM lanes WHERE name = ?", [name])
        for name, values in sorted(wanted.items()):
            if have.get(name) != values:
                db.execute("INSERT INTO lanes (name, sla_s, owner, respond) VALUES (?, ?, ?, ?) ON CONFLICT (name) "
                           "DO UPDATE SET sla_s = excluded.sla_s, owner = excluded.owner, respond = excluded.respond",
                           [name, *values])
