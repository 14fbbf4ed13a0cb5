"""Per-conversation figures kept by root: what `report conversations` adds up, one small row per conversation.

The report's figures (docs/reports.md) are sums over conversations of per-conversation quantities (joined,
follow-ups and how many answered, catalyzed replies, handoff, waiting), each a function of the root's row
and its messages' rows. Computing them means joining every root of the window to its messages: at a
million items, ~0.75 s (benchmarks/README.md, "Reports, fourth round"). `conversation_figures` holds them,
one row per root, clustered by the root's `start_at`, so the report reads the window's rows alone.

They are kept by triggers rather than by the writers: any change to an item's columns the figures read
(insert, delete, an update of one of FIGURE_COLUMNS), and a change of which lanes expect a response,
lists the conversation in `conversations_stale` (a cheap insert that ignores a conversation listed
already). Whatever path wrote (pull, tag, workflow, `db copy`, an upgrade, a hand-written UPDATE), the
listed conversations are recomputed by `refresh` (the same SQL, restricted to them) before the figures
are read, and a reader that may not write reads the listed ones from `items` directly, so the figures
are never out of date.

`waiting` depends on which lanes expect a response: it is computed against the `lanes` table (as the
`conversations` view is), which every command syncs from its config (store/lanes.py); a caller whose
config says otherwise (a read-only database, a library call with another config) gets the
from-scratch query (`uses_stored`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from socialscale.models import HANDOFF_VIAS
from socialscale.store.database import Database
from socialscale.store.dialect import LOCK_WRITE, Dialect, dialect_of

TABLE = "conversation_figures"
STALE = "conversations_stale"

# The columns of an item that any figure reads: of the root (window, grouping, `started_by_us`) or of a
# message (membership, duplicates, ours, follow-up and catalyzed flags, status, answer, lane for waiting).
FIGURE_COLUMNS = ("conversation_id", "duplicate_of", "start_at", "lane", "owner", "source", "ours", "followup",
                  "catalyzed", "status", "responded_at", "response_via")
# The stored quantities, in this order after the root's (id, start_at, lane, owner, source, started_by_us).
QUANTITIES = ("joined", "followups", "followups_answered", "catalyzed", "catalyzed_answered", "catalyzed_waiting",
              "handoff", "waiting")
ROOT_COLUMNS = ("id", "start_at", "lane", "owner", "source", "started_by_us")

_HANDOFF = f"m.response_via IN ({', '.join(repr(v) for v in sorted(HANDOFF_VIAS))})"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    start_at TEXT NOT NULL,          -- the root's: the report's window
    id INTEGER NOT NULL,             -- the root's id (the conversation's id)
    lane TEXT,
    owner TEXT,
    source TEXT NOT NULL,
    started_by_us INTEGER NOT NULL,  -- 1: the root is one of ours
    joined INTEGER NOT NULL,         -- 1: a message of ours is in it
    followups INTEGER NOT NULL,
    followups_answered INTEGER NOT NULL,
    catalyzed INTEGER NOT NULL,
    catalyzed_answered INTEGER NOT NULL,
    catalyzed_waiting INTEGER NOT NULL,
    handoff INTEGER NOT NULL,
    waiting INTEGER NOT NULL,
    PRIMARY KEY (start_at, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_id ON {TABLE} (id);
CREATE TABLE IF NOT EXISTS {STALE} (
    id INTEGER PRIMARY KEY           -- a conversation whose figures are to be recomputed
);
"""


def per_conversation_sql(d: Dialect, roots: str, quiet_lanes: int) -> str:
    """One row per conversation whose root meets `roots` (a condition on `i`), its columns named as the
    table's: ROOT_COLUMNS, then QUANTITIES. The `quiet_lanes` placeholders (the lanes that expect no
    response) come before `roots`' in the parameters.

    This is the definition of docs/reports.md: a root not a duplicate; its messages (`m`) the items of its
    conversation that are not duplicates; follow-ups and catalyzed replies not ignored."""
    expects = f"(m.lane IS NULL OR m.lane NOT IN ({','.join('?' * quiet_lanes)}))" if quiet_lanes else "1 = 1"
    live = "m.status != 'ignored'"
    is_open = "m.status = 'open'"
    values = (d.as_int("i.ours IS NOT NULL"), f"MAX({d.as_int('m.ours IS NOT NULL')})",
              d.count_if(f"m.followup = 1 AND {live}"),
              d.count_if(f"m.followup = 1 AND {live} AND m.responded_at IS NOT NULL"),
              d.count_if(f"m.catalyzed = 1 AND {live}"),
              d.count_if(f"m.catalyzed = 1 AND {live} AND m.responded_at IS NOT NULL"),
              d.count_if(f"m.catalyzed = 1 AND {is_open}"),
              f"COALESCE(MAX({d.as_int(_HANDOFF)}), 0)",  # NULL when no message has a response_via
              f"MAX({d.as_int(f'{is_open} AND m.ours IS NULL AND {expects}')})")
    named = ", ".join(f"{v} AS {n}" for v, n in zip(values, ("started_by_us", *QUANTITIES), strict=True))
    return (f"SELECT i.id, i.start_at, i.lane, i.owner, i.source, {named} "
            "FROM items i JOIN items m ON m.conversation_id = i.id AND m.duplicate_of IS NULL "
            f"WHERE i.conversation_id = i.id AND i.duplicate_of IS NULL AND {roots} "
            "GROUP BY i.id, i.start_at, i.lane, i.owner, i.source, i.ours")


def stored_quiet_lanes(db: Database) -> list[str]:
    """The lanes that expect no response, as the `lanes` table says (the stored `waiting` follows it)."""
    return sorted(str(r[0]) for r in db.execute("SELECT name FROM lanes WHERE respond = 0").fetchall())


def uses_stored(db: Database, quiet_lanes: Sequence[str]) -> bool:
    """Whether the stored figures answer for these quiet lanes (the config's; the `lanes` table's unless a
    caller passes a config the database was not synced with)."""
    return sorted(quiet_lanes) == stored_quiet_lanes(db)


def has_stale(db: Database) -> bool:
    return db.execute(f"SELECT 1 FROM {STALE} LIMIT 1").fetchone() is not None


def refresh(db: Database) -> int:
    """Recompute the listed conversations and empty the list; how many were listed. Call inside
    `transaction(db)`: writers take turns (store/db.py), so no write lands between the recomputation
    and the emptying of the list."""
    d = dialect_of(db)
    count = int(db.execute(f"SELECT COUNT(*) FROM {STALE}").fetchone()[0])
    if not count:
        return 0
    quiet = stored_quiet_lanes(db)
    listed = f"i.id IN (SELECT s.id FROM {STALE} s)"
    db.execute(f"DELETE FROM {TABLE} WHERE id IN (SELECT s.id FROM {STALE} s)")
    db.execute(f"INSERT INTO {TABLE} ({', '.join((*ROOT_COLUMNS, *QUANTITIES))}) "
               f"{per_conversation_sql(d, listed, len(quiet))}", quiet)
    db.execute(f"DELETE FROM {STALE}")
    return count


SUMS = "COUNT(*), " + ", ".join(f"SUM({q})" for q in QUANTITIES)


def totals(db: Database, by: str, window: str, params: Sequence[Any], *, started_by_us: bool,
           quiet_lanes: Sequence[str]) -> list[tuple[Any, ...]]:
    """(group, conversations, *sums of QUANTITIES) per group of the conversations whose root meets `window`
    (a condition on `i`'s start_at, lane, owner and source, with `params`), from the stored figures.

    By lane on SQLite, each lane present is a range of the lane index, read in lane order, so the GROUP BY
    needs no sort (at a million items a month's 84,000 rows: ~33 ms against ~75 with the sort). Where the
    list of stale conversations is not empty (a database this reader may not write), those are computed
    from `items` instead of read."""
    if by not in ("lane", "owner", "source"):
        raise ValueError(by)
    d = dialect_of(db)
    where = window + (" AND i.started_by_us = 1" if started_by_us else "")
    if has_stale(db):
        roots = f"i.id IN (SELECT s.id FROM {STALE} s) AND {window}" + (" AND i.ours IS NOT NULL" if started_by_us else "")
        stored = (f"SELECT i.{by} AS grp, {', '.join('i.' + q for q in QUANTITIES)} FROM {TABLE} i WHERE {where} "
                  f"AND NOT EXISTS (SELECT 1 FROM {STALE} s WHERE s.id = i.id)")
        listed = (f"SELECT c.{by}, {', '.join('c.' + q for q in QUANTITIES)} "
                  f"FROM ({per_conversation_sql(d, roots, len(quiet_lanes))}) AS c")
        return list(db.execute(f"SELECT grp, {SUMS} FROM ({stored} UNION ALL {listed}) AS i GROUP BY grp",
                               [*params, *quiet_lanes, *params]).fetchall())
    if by != "lane" or d.postgres:  # PostgreSQL's hash aggregate needs no order
        return list(db.execute(f"SELECT i.{by}, {SUMS} FROM {TABLE} i WHERE {where} GROUP BY i.{by}", params).fetchall())
    lanes: list[Any] = []
    lane = db.execute(f"SELECT MIN(lane) FROM {TABLE}").fetchone()[0]
    while lane is not None:  # the lanes present, one seek each
        lanes.append(lane)
        lane = db.execute(f"SELECT MIN(lane) FROM {TABLE} WHERE lane > ?", [lane]).fetchone()[0]
    out = []
    if lanes:  # `IN` and `IS NULL` do not mix in one index range
        out += db.execute(f"SELECT i.lane, {SUMS} FROM {TABLE} i WHERE i.lane IN ({','.join('?' * len(lanes))}) "
                          f"AND {where} GROUP BY i.lane", [*lanes, *params]).fetchall()
    out += db.execute(f"SELECT i.lane, {SUMS} FROM {TABLE} i WHERE i.lane IS NULL AND {where} GROUP BY i.lane",
                      params).fetchall()
    return out


# --- the triggers that list conversations ---------------------------------------------------------------

def _changed(old: str, new: str, d: Dialect) -> str:
    op = "IS DISTINCT FROM" if d.postgres else "IS NOT"
    return " OR ".join(f"{old}.{c} {op} {new}.{c}" for c in FIGURE_COLUMNS)


# The open messages of a lane that changes between expecting a response and not (their `waiting` flips).
_LANE_MEMBERS = ("SELECT DISTINCT conversation_id FROM items WHERE status = 'open' AND lane = {name} "
                 "AND duplicate_of IS NULL AND ours IS NULL AND conversation_id IS NOT NULL")


def create(db: Database) -> None:
    """The figures table, the list of stale conversations and the triggers that fill it (idempotent), with
    every conversation stored so far listed, then computed."""
    d = dialect_of(db)
    db.conn.executescript(SCHEMA)
    carried = ", ".join(("started_by_us", *QUANTITIES))
    if d.postgres:
        # A heap in the order rows were written: the window's rows, read by the primary key, were 20,000
        # random pages (0.34 s at a million items); from this index alone, a contiguous range (0.08 s).
        db.conn.executescript(f"CREATE INDEX IF NOT EXISTS {TABLE}_window ON {TABLE} "
                              f"(start_at) INCLUDE (lane, owner, source, {carried});")
    else:
        # The table is clustered by start_at already; by lane, each lane's range in lane order (totals).
        db.conn.executescript(f"CREATE INDEX IF NOT EXISTS {TABLE}_lane ON {TABLE} (lane, start_at, {carried});")
    create_triggers(db)
    if d.postgres:
        db.execute("SELECT pg_advisory_xact_lock(?)", [LOCK_WRITE])  # the migration's transaction: writers wait
    db.execute(f"INSERT INTO {STALE} (id) SELECT id FROM items WHERE conversation_id = id ON CONFLICT (id) DO NOTHING")
    refresh(db)


def create_triggers(db: Database) -> None:
    """(Re)create the triggers that list conversations (idempotent). On SQLite the list is a rowid table:
    the triggers' upsert into a WITHOUT ROWID one cost a pull's writes about three times as much
    (benchmarks/README.md, "Reports, fourth round"); a list made so by schema 11 is made again."""
    if dialect_of(db).postgres:
        _create_pg_triggers(db)
        return
    made = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [STALE]).fetchone()
    if made and "WITHOUT ROWID" in made[0].upper():
        # Its triggers go first: a rename checks every trigger that names the table.
        db.conn.executescript("".join(f"DROP TRIGGER IF EXISTS {TABLE}_{t};\n"
                                      for t in ("ai", "ad", "au", "lanes_ai", "lanes_ad", "lanes_au")))
        db.conn.executescript(f"""
CREATE TABLE IF NOT EXISTS {STALE}_new (id INTEGER PRIMARY KEY);
INSERT INTO {STALE}_new (id) SELECT id FROM {STALE};
DROP TABLE {STALE};
ALTER TABLE {STALE}_new RENAME TO {STALE};
""")
    _create_sqlite_triggers(db)


def _create_sqlite_triggers(db: Database) -> None:
    """Each insert is an upsert that does nothing on a conversation listed already: a trigger's own
    `INSERT OR IGNORE` would be overridden by the conflict clause of an upsert that fires it, and a guard
    reading the list (`NOT EXISTS`) makes SQLite copy the SELECT into a temporary table first, twice the
    cost (benchmarks/README.md, "Reports, fourth round"). NULL is left out by the WHERE: into a rowid
    table it would insert a new rowid."""
    def mark(value: str, unless: str = "") -> str:
        return (f"INSERT INTO {STALE} (id) SELECT {value} WHERE {value} IS NOT NULL{unless} "
                "ON CONFLICT (id) DO NOTHING")

    def mark_lanes(*names: str) -> str:
        return (f"INSERT INTO {STALE} (id) SELECT DISTINCT conversation_id FROM items WHERE status = 'open' "
                f"AND lane IN ({', '.join(names)}) AND duplicate_of IS NULL AND ours IS NULL "
                "AND conversation_id IS NOT NULL ON CONFLICT (id) DO NOTHING")

    db.conn.executescript(f"""
DROP TRIGGER IF EXISTS {TABLE}_ai;
CREATE TRIGGER {TABLE}_ai AFTER INSERT ON items WHEN NEW.conversation_id IS NOT NULL BEGIN
  {mark('NEW.conversation_id')};
END;
DROP TRIGGER IF EXISTS {TABLE}_ad;
CREATE TRIGGER {TABLE}_ad AFTER DELETE ON items WHEN OLD.conversation_id IS NOT NULL BEGIN
  {mark('OLD.conversation_id')};
END;
DROP TRIGGER IF EXISTS {TABLE}_au;
CREATE TRIGGER {TABLE}_au AFTER UPDATE OF {', '.join(FIGURE_COLUMNS)} ON items
WHEN {_changed('OLD', 'NEW', dialect_of(db))} BEGIN
  {mark('NEW.conversation_id')};
  {mark('OLD.conversation_id', ' AND OLD.conversation_id IS NOT NEW.conversation_id')};
END;
DROP TRIGGER IF EXISTS {TABLE}_lanes_ai;
CREATE TRIGGER {TABLE}_lanes_ai AFTER INSERT ON lanes WHEN NEW.respond = 0 BEGIN
  {mark_lanes('NEW.name')};
END;
DROP TRIGGER IF EXISTS {TABLE}_lanes_ad;
CREATE TRIGGER {TABLE}_lanes_ad AFTER DELETE ON lanes WHEN OLD.respond = 0 BEGIN
  {mark_lanes('OLD.name')};
END;
DROP TRIGGER IF EXISTS {TABLE}_lanes_au;
CREATE TRIGGER {TABLE}_lanes_au AFTER UPDATE OF name, respond ON lanes
WHEN OLD.respond IS NOT NEW.respond OR OLD.name IS NOT NEW.name BEGIN
  {mark_lanes('OLD.name', 'NEW.name')};
END;
""")


def _create_pg_triggers(db: Database) -> None:
    """PostgreSQL: inserts and deletes of items list their conversations once per statement (a pull inserts
    20,000 rows in one); an update, row by row, only when a column the figures read changed (the WHEN is
    evaluated without calling the function). Written directly: plpgsql bodies are not SQLite's DDL."""
    mark = f"INSERT INTO {STALE} (id)"
    conflict = "ON CONFLICT (id) DO NOTHING"
    lane = _LANE_MEMBERS
    for statement in (
        f"""CREATE OR REPLACE FUNCTION {TABLE}_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            {mark} SELECT DISTINCT conversation_id FROM added WHERE conversation_id IS NOT NULL {conflict};
            RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION {TABLE}_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            {mark} SELECT DISTINCT conversation_id FROM removed WHERE conversation_id IS NOT NULL {conflict};
            RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION {TABLE}_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF OLD.conversation_id IS NOT NULL THEN {mark} VALUES (OLD.conversation_id) {conflict}; END IF;
            IF NEW.conversation_id IS DISTINCT FROM OLD.conversation_id AND NEW.conversation_id IS NOT NULL THEN
                {mark} VALUES (NEW.conversation_id) {conflict};
            END IF;
            RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION {TABLE}_lane_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF TG_OP = 'UPDATE' AND (OLD.respond IS DISTINCT FROM NEW.respond OR OLD.name IS DISTINCT FROM NEW.name)
                    OR TG_OP = 'DELETE' AND OLD.respond = 0 THEN
                {mark} {lane.format(name='OLD.name')} {conflict};
            END IF;
            IF TG_OP = 'UPDATE' AND (OLD.respond IS DISTINCT FROM NEW.respond OR OLD.name IS DISTINCT FROM NEW.name)
                    OR TG_OP = 'INSERT' AND NEW.respond = 0 THEN
                {mark} {lane.format(name='NEW.name')} {conflict};
            END IF;
            RETURN NULL; END $$""",
        f"DROP TRIGGER IF EXISTS {TABLE}_ai ON items",
        f"CREATE TRIGGER {TABLE}_ai AFTER INSERT ON items REFERENCING NEW TABLE AS added "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_added()",
        f"DROP TRIGGER IF EXISTS {TABLE}_ad ON items",
        f"CREATE TRIGGER {TABLE}_ad AFTER DELETE ON items REFERENCING OLD TABLE AS removed "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_removed()",
        f"DROP TRIGGER IF EXISTS {TABLE}_au ON items",
        f"CREATE TRIGGER {TABLE}_au AFTER UPDATE OF {', '.join(FIGURE_COLUMNS)} ON items FOR EACH ROW "
        f"WHEN ({_changed('OLD', 'NEW', dialect_of(db))}) EXECUTE FUNCTION {TABLE}_changed()",
        f"DROP TRIGGER IF EXISTS {TABLE}_lanes ON lanes",
        f"CREATE TRIGGER {TABLE}_lanes AFTER INSERT OR DELETE OR UPDATE OF name, respond ON lanes FOR EACH ROW "
        f"EXECUTE FUNCTION {TABLE}_lane_changed()",
    ):
        db.pg.raw.execute(statement)  # type: ignore[attr-defined]


