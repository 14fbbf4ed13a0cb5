"""The SQL behind the reports: GROUP BY aggregates over the covering indexes, and sorted values for percentiles.

Times are compared as text: every timestamp is `YYYY-MM-DDTHH:MM:SSZ`, so `start_at < '...'` orders
exactly like the instants. The caller turns "age > SLA" into "start_at < now - SLA" once per lane, which
keeps the scans on the index (no date arithmetic per row). Lane settings come in from the config as
CASE expressions, the same values the `lanes` table (and so the SQL views) holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from socialscale.models import HANDOFF_VIAS
from socialscale.store import figures
from socialscale.store.database import Database
from socialscale.store.dialect import Dialect, dialect_of
from socialscale.store.filters import ItemFilter as Filters

# `responder` (who answered) is a latency grouping only; `owner` is whose item it was.
GROUP_COLUMNS = {"lane": "i.lane", "owner": "i.owner", "source": "i.source", "responder": "i.responded_by"}
_HANDOFF = f"i.response_via IN ({', '.join(repr(v) for v in sorted(HANDOFF_VIAS))})"


def _latency_sql(d: Dialect) -> str:
    """Seconds from start to first response, as the `first_responses` view computes them."""
    return f"CAST({d.seconds_between('i.responded_at', 'i.start_at')} AS INTEGER)"


def _lag_sql(d: Dialect) -> str:
    return f"CAST({d.seconds_between('i.first_seen_at', 'i.start_at')} AS INTEGER)"


ITEM_FIELDS = ("id", "source", "lane", "owner", "title", "text", "url", "author", "start_at", "sentiment", "reach",
               "followup")


def _lane_case(values: Mapping[str, Any], params: list[Any]) -> str:
    """`CASE i.lane WHEN 'a' THEN x ... END` (NULL for other lanes), its values bound as parameters."""
    if not values:
        return "NULL"
    parts = []
    for lane, value in values.items():
        parts.append("WHEN ? THEN ?")
        params.extend((lane, value))
    return f"(CASE i.lane {' '.join(parts)} END)"


WAITING_SQL = "i.status = 'open' AND i.duplicate_of IS NULL AND i.ours IS NULL"


def waiting_lanes(db: Database, quiet_lanes: Sequence[str], filters: Filters) -> list[str | None]:
    """The lanes that have waiting items, except those that expect no response (None: items not tagged yet).

    Found by skipping through the items_backlog index one lane at a time, so that every later query
    can seek to `status = 'open' AND lane = ?` instead of scanning the open items of quiet lanes too.
    """
    if filters.lane is not None:
        return [] if filters.lane in quiet_lanes else [filters.lane]
    base = f"SELECT MIN(i.lane) FROM items i WHERE {WAITING_SQL}"
    lanes: list[str | None] = []
    lane = db.execute(base).fetchone()[0]
    while lane is not None:
        lanes.append(lane)
        lane = db.execute(f"{base} AND i.lane > ?", [lane]).fetchone()[0]
    if db.execute(f"SELECT 1 FROM items i WHERE {WAITING_SQL} AND i.lane IS NULL LIMIT 1").fetchone():
        lanes.append(None)
    return [name for name in lanes if name not in quiet_lanes]


def _segments(lanes: Sequence[str | None]) -> list[tuple[str, list[Any]]]:
    """WHERE fragments covering these lanes, each one an index seek (`IN` and `IS NULL` do not mix in one)."""
    named = [name for name in lanes if name is not None]
    out: list[tuple[str, list[Any]]] = []
    if named:
        out.append((f"i.lane IN ({','.join('?' * len(named))})", list(named)))
    if None in lanes:
        out.append(("i.lane IS NULL", []))
    return out


def backlog_counts(db: Database, *, by: str, lanes: Sequence[str | None], younger_than: Sequence[str],
                   breach_before: Mapping[str, str], filters: Filters) -> list[dict[str, Any]]:
    """Per lane and group: open, unassigned, oldest start, breached, and `younger[k]` = items started after
    `younger_than[k]` (cumulative; the caller turns them into buckets and adds up a group's lanes).

    What needs every waiting item (how many, unassigned, follow-ups) is one pass along the items_backlog
    index; what depends on the time (the age buckets, and breaches: breached = open - those started at
    or after the lane's cut) reads only the recent end of each lane's range, from the earliest of the
    bucket edges and the SLA cuts; and by lane, each lane's oldest start is one seek. Counting those in
    the one pass cost each of a million items' index entries seven comparisons more
    (benchmarks/README.md, "Reports, third round")."""
    out: list[dict[str, Any]] = []
    for segment, segment_params in _segments(lanes):
        params: list[Any] = list(segment_params)
        where = f"{WAITING_SQL} AND {segment}{filters.sql(params)}"
        # A segment's parameters are its lane names; the segment of items without a lane has none.
        out += _backlog_segment(db, by, where, params, lanes=segment_params or [None], younger_than=younger_than,
                                breach_before=breach_before, filters=filters)
    return out


def _backlog_segment(db: Database, by: str, where: str, params: list[Any], *, lanes: Sequence[str | None],
                     younger_than: Sequence[str], breach_before: Mapping[str, str],
                     filters: Filters) -> list[dict[str, Any]]:
    """backlog_counts for the waiting items that meet `where` (one index segment: these lanes)."""
    d = dialect_of(db)
    group_by = "i.lane" if by == "lane" else f"i.lane, {GROUP_COLUMNS[by]}"  # by lane: the index order
    oldest = "NULL" if by == "lane" else "MIN(i.start_at)"  # by lane: sought below
    rows = db.execute(f"SELECT i.lane, {GROUP_COLUMNS[by]} AS grp, COUNT(*), {d.count_if('i.owner IS NULL')}, "
                      f"{oldest}, {d.count_if('i.followup = 1')} FROM items i WHERE {where} GROUP BY {group_by}",
                      params).fetchall()
    found = {(row[0], row[1]): {"lane": row[0], "group": row[1], "open": row[2], "unassigned": row[3],
                                "oldest_start": row[4], "breached": row[2] if row[0] in breach_before else 0,
                                "followups": row[5], "younger": [0] * len(younger_than)}
             for row in rows}
    if by == "lane":  # one lane's range only (with the segment's `IN` too, SQLite would read the whole range)
        for (lane, _), entry in found.items():
            lane_params: list[Any] = [] if lane is None else [lane]
            lane_where = f"{WAITING_SQL} AND i.lane " + ("IS NULL" if lane is None else "= ?") + filters.sql(lane_params)
            entry["oldest_start"] = db.execute(f"SELECT MIN(i.start_at) FROM items i WHERE {lane_where}",
                                               lane_params).fetchone()[0]
    cuts = [*younger_than, *(breach_before[n] for n in lanes if n is not None and n in breach_before)]
    if not found or not cuts:
        return list(found.values())
    recent_params: list[Any] = []
    breach = _lane_case(breach_before, recent_params)
    younger = "".join(f", {d.count_if('i.start_at > ?')}" for _ in younger_than)
    recent_params += [*younger_than, *params, min(cuts)]
    for row in db.execute(f"SELECT i.lane, {GROUP_COLUMNS[by]} AS grp, {d.count_if(f'i.start_at >= {breach}')}"
                          f"{younger} FROM items i WHERE {where} AND i.start_at >= ? GROUP BY {group_by}",
                          recent_params).fetchall():
        entry = found[(row[0], row[1])]
        entry["breached"] -= row[2]
        entry["younger"] = list(row[3:])
    return list(found.values())


def merge_counts(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Two backlog_counts rows as one (a group spread over several segments, or the total)."""
    return {"group": a.get("group"), "open": a["open"] + b["open"], "unassigned": a["unassigned"] + b["unassigned"],
            "oldest_start": min(a["oldest_start"], b["oldest_start"]), "breached": a["breached"] + b["breached"],
            "followups": a["followups"] + b["followups"],
            "younger": [x + y for x, y in zip(a["younger"], b["younger"], strict=True)]}


def _oldest_first(rows: Iterable[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    ordered = sorted(rows, key=lambda r: (r["start_at"], r["id"]))
    return ordered if limit is None else ordered[:limit]


def waiting_items(db: Database, *, lanes: Mapping[str | None, str | None], filters: Filters,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """Waiting items of these lanes, oldest first; a lane's value, when given, keeps only items that started
    before it (now - SLA: the breached ones). One index range per lane, merged here."""
    rows: list[dict[str, Any]] = []
    for lane, before in lanes.items():
        params: list[Any] = []
        where = f"{WAITING_SQL} AND " + ("i.lane IS NULL" if lane is None else "i.lane = ?")
        params += [] if lane is None else [lane]
        if before is not None:
            where += " AND i.start_at < ?"
            params.append(before)
        where += replace(filters, lane=None).sql(params)
        sql = f"SELECT {', '.join('i.' + f for f in ITEM_FIELDS)} FROM items i WHERE {where} ORDER BY i.start_at, i.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows += [dict(zip(ITEM_FIELDS, row, strict=True)) for row in db.execute(sql, params).fetchall()]
    return _oldest_first(rows, limit)


def backlog_oldest(db: Database, *, by: str, present: Mapping[str | None, Mapping[Any, int]],
                   filters: Filters, per_group: int) -> list[dict[str, Any]]:
    """The `per_group` oldest waiting items of each group. `present` says how many items each group has
    in each lane (from backlog_counts): each lane is read oldest first along the index and left as soon
    as every group in it has its items, which is usually after a few rows."""
    found: list[tuple[Any, int]] = []
    for lane, groups in present.items():
        need = {group: min(per_group, count) for group, count in groups.items()}
        params: list[Any] = [] if lane is None else [lane]
        where = f"{WAITING_SQL} AND " + ("i.lane IS NULL" if lane is None else "i.lane = ?") + filters.sql(params)
        wanted = sum(need.values())
        for item_id, group in _oldest_pages(db, GROUP_COLUMNS[by], where, params):
            if need.get(group, 0) > 0:
                need[group] -= 1
                found.append((group, item_id))
                wanted -= 1
                if not wanted:
                    break
    details = {}
    for k in range(0, len(found), 500):
        chunk = [item_id for _, item_id in found[k:k + 500]]
        rows = db.execute(f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE id IN ({','.join('?' * len(chunk))})",
                          chunk)
        details.update({row[0]: dict(zip(ITEM_FIELDS, row, strict=True)) for row in rows.fetchall()})
    by_group: dict[Any, list[dict[str, Any]]] = {}
    for group, item_id in found:
        by_group.setdefault(group, []).append(details[item_id])
    return [{"group": group, **row} for group, rows in by_group.items() for row in _oldest_first(rows, per_group)]


OLDEST_PAGE = 200


def _oldest_pages(db: Database, column: str, where: str, params: list[Any]) -> Iterable[tuple[int, Any]]:
    """(id, column) of the items meeting `where`, oldest first (start_at, id), read a page at a time, each
    ten times the last, so that a caller who stops after a few rows has read a few rows from the database.
    (A PostgreSQL cursor sends the whole result at once: 135,000 rows for a backlog of a million items.)"""
    size, after = OLDEST_PAGE, None
    while True:
        page_where, page_params = where, list(params)
        if after is not None:  # strictly after the last row read, in (start_at, id) order
            page_where += " AND i.start_at >= ? AND (i.start_at > ? OR i.id > ?)"
            page_params += [after[0], after[0], after[1]]
        rows = db.execute(f"SELECT i.start_at, i.id, {column} FROM items i WHERE {page_where} "
                          f"ORDER BY i.start_at, i.id LIMIT {size}", page_params).fetchall()
        yield from ((item_id, value) for _, item_id, value in rows)
        if len(rows) < size:
            return
        size, after = size * 10, (rows[-1][0], rows[-1][1])


# --- latency -------------------------------------------------------------------------------------------

def _latency_rows(d: Dialect, by: str, since: str, until: str, slas: Mapping[str, int], filters: Filters,
                  periods: Sequence[tuple[str, str, str]], params: list[Any]) -> str:
    """A subquery: one row per first response in [since, until) (not duplicates, not ours, not ignored),
    with its group, latency, detection lag, lane SLA and whether it was a handoff."""
    if by == "week":
        # Each week is its own index range; the weeks already cover exactly [since, until).
        rows = ", ".join("(?, ?, ?)" for _ in periods) or "(NULL, NULL, NULL)"
        for period in periods:
            params.extend(period)
        with_ = f"WITH periods(label, lo, hi) AS (VALUES {rows}) "
        from_ = "periods p JOIN items i ON i.responded_at >= p.lo AND i.responded_at < p.hi"
        group, window = "p.label", ""
    else:
        with_, from_, group, window = "", "items i", GROUP_COLUMNS[by], " AND i.responded_at >= ? AND i.responded_at < ?"
    sla = _lane_case(slas, params)
    if window:
        params.extend((since, until))
    where = ("i.responded_at IS NOT NULL AND i.duplicate_of IS NULL AND i.ours IS NULL AND i.status != 'ignored'"
             + window + filters.sql(params))
    if by == "week" and d.postgres:
        # PostgreSQL's planner cannot know that the weeks do not overlap: it took each answer to fall in
        # several, read the window once and compared every answer with every week (a year: 100,000 x 53,
        # ~0.6 s). A LATERAL subquery kept whole (OFFSET 0) reads each week's range of items_responded.
        columns = "i.lane, i.start_at, i.responded_at, i.first_seen_at, i.response_via, i.followup"
        from_ = (f"periods p CROSS JOIN LATERAL (SELECT {columns} FROM items i WHERE i.responded_at >= p.lo "
                 f"AND i.responded_at < p.hi AND {where} OFFSET 0) AS i")
        where = "TRUE"
    return (f"{with_}SELECT {group} AS grp, {_latency_sql(d)} AS lat, {_lag_sql(d)} AS lag, {sla} AS sla, "
            f"{d.as_int(_HANDOFF)} AS handoff, i.start_at, i.responded_at, i.followup AS fu FROM {from_} WHERE {where}")


def latency_groups(db: Database, *, by: str, since: str, until: str, slas: Mapping[str, int],
                   filters: Filters, periods: Sequence[tuple[str, str, str]] = ()) -> list[dict[str, Any]]:
    """Per group and kind (`followup` 0: first contacts, 1: follow-ups): responded, max latency, answers
    within SLA out of those with an SLA, handoffs, and the sorted latencies and detection lags (for
    medians and percentiles), all in one pass.

    The values travel as one group_concat string per group: materialising 100,000 rows as Python tuples
    costs more than the query itself.
    """
    params: list[Any] = []
    d = dialect_of(db)
    # LIMIT -1 keeps the subquery a co-routine, so each row's latency is computed once, not once per use.
    rows = _latency_rows(d, by, since, until, slas, filters, periods, params) + d.no_limit()
    # `lat <= sla` is NULL without an SLA: such rows are not counted.
    sql = (f"SELECT grp, COUNT(*), MAX(lat), {d.count_if('lat <= sla')}, COUNT(sla), SUM(handoff), "
           f"{d.joined('lat')}, {d.joined('lag')}, fu FROM ({rows}) AS r GROUP BY grp, fu")
    return [{"group": r[0], "responded": r[1], "max_s": r[2], "within": r[3], "with_sla": r[4], "handoffs": int(r[5]),
             "values": sorted(map(int, r[6].split(","))), "lags": sorted(map(int, r[7].split(","))),
             "followup": bool(r[8])}
            for r in db.execute(sql, params).fetchall()]


def latency_items(db: Database, *, by: str, since: str, until: str, slas: Mapping[str, int],
                  filters: Filters, periods: Sequence[tuple[str, str, str]] = ()) -> Iterable[tuple[Any, ...]]:
    """(group, start, first response, lag, sla, handoff, followup) per first response, the two instants as
    POSIX seconds, for business-hours latency, which has to be computed response by response."""
    params: list[Any] = []
    d = dialect_of(db)
    rows = _latency_rows(d, by, since, until, slas, filters, periods, params)
    return db.execute(f"SELECT grp, {d.epoch('start_at')}, {d.epoch('responded_at')}, lag, sla, handoff, fu "
                      f"FROM ({rows}) AS r", params)


# --- conversations --------------------------------------------------------------------------------------

def conversation_groups(db: Database, *, by: str, since: str, until: str, quiet_lanes: Sequence[str],
                        filters: Filters, started_by_us: bool = False) -> list[dict[str, Any]]:
    """Per group of the root: conversations started in [since, until) and what their messages (duplicates
    left out) add up to: joined, follow-ups and catalyzed replies (not ignored) and how many of them were
    answered, conversations with a handoff, conversations waiting for an answer.

    Read from the per-conversation figures (store/figures.py), the conversations listed as stale first
    recomputed (when the database may be written) or else computed here from `items`; a caller whose
    quiet lanes are not the `lanes` table's gets the same definition computed from `items` alone."""
    if by not in ("lane", "owner", "source"):
        raise ValueError(by)
    d = dialect_of(db)
    window_params: list[Any] = [since, until]
    window = "i.start_at >= ? AND i.start_at < ?" + filters.sql(window_params)
    quiet = sorted(quiet_lanes)
    if figures.uses_stored(db, quiet):
        _refresh_figures(db)
        rows = figures.totals(db, by, window, window_params, started_by_us=started_by_us, quiet_lanes=quiet)
    else:
        roots = window + (" AND i.ours IS NOT NULL" if started_by_us else "")
        rows = db.execute(f"SELECT c.{by}, {figures.SUMS} FROM ({figures.per_conversation_sql(d, roots, len(quiet))}) "
                          f"AS c GROUP BY c.{by}", [*quiet, *window_params]).fetchall()
    keys = ("group", "conversations", "joined", "followups", "followups_answered", "catalyzed", "catalyzed_answered",
            "catalyzed_waiting", "handoffs", "waiting")
    return [dict(zip(keys, (row[0], *(int(v or 0) for v in row[1:])), strict=True)) for row in rows]


def _refresh_figures(db: Database) -> None:
    """Recompute the conversations listed as stale, unless the database is read-only (then figures.totals
    computes them for this report). A cache written by a report: a command that only reads may write here,
    in one short transaction, as it syncs the lanes."""
    from socialscale.store.db import is_read_only, transaction

    if is_read_only(db) or not figures.has_stale(db):
        return
    with transaction(db):
        figures.refresh(db)


# --- volume, new items, remembered state ------------------------------------------------------------------

def volume_counts(db: Database, *, periods: Sequence[tuple[str, str, str]],
                  filters: Filters) -> list[tuple[str, str | None, int]]:
    """(period, lane, items started in it), duplicates and our own posts left out."""
    if not periods:
        return []
    params: list[Any] = [value for period in periods for value in period]
    rows = ", ".join("(?, ?, ?)" for _ in periods)
    sql = (f"WITH periods(label, lo, hi) AS (VALUES {rows}) SELECT p.label, i.lane, COUNT(*) FROM periods p JOIN items i "
           "ON i.start_at >= p.lo AND i.start_at < p.hi "
           f"WHERE i.duplicate_of IS NULL AND i.ours IS NULL{filters.sql(params)} GROUP BY p.label, i.lane")
    return [(r[0], r[1], r[2]) for r in db.execute(sql, params).fetchall()]


def new_counts(db: Database, *, after: str, until: str, filters: Filters) -> dict[str | None, int]:
    """Items first seen in (after, until], per lane, duplicates and our own posts left out."""
    params: list[Any] = [after, until]
    sql = ("SELECT i.lane, COUNT(*) FROM items i WHERE i.first_seen_at > ? AND i.first_seen_at <= ? "
           f"AND i.duplicate_of IS NULL AND i.ours IS NULL{filters.sql(params)} GROUP BY i.lane")
    return {r[0]: r[1] for r in db.execute(sql, params).fetchall()}


def get_state(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def set_state(db: Database, key: str, value: str) -> None:
    """Call inside `transaction(db)`."""
    db.execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
               [key, value])


def known_value(db: Database, column: str, value: str) -> bool:
    """Whether any item has this lane/owner/source (a filter naming nothing is most likely a typo)."""
    if column not in ("lane", "owner", "source"):
        raise ValueError(column)
    return db.execute(f"SELECT 1 FROM items WHERE {column} = ? LIMIT 1", [value]).fetchone() is not None
