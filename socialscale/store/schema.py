"""Schema migrations, applied in order and recorded in `PRAGMA user_version` (SQLite) or the
`socialscale_schema` table (PostgreSQL): the same numbers on both backends.

The pattern is llm's: `@migration` appends to MIGRATIONS; `migrate(db)` applies the ones a
database has not seen. A database whose version is higher than len(MIGRATIONS) was
written by a newer socialscale and is refused rather than altered.

A migration is written once for both backends: `db.conn.executescript()` takes SQLite's DDL and
PostgreSQL's connection rewrites its types (dialect.ddl); where SQL differs, ask `dialect_of(db)`.
"""

from __future__ import annotations

from collections.abc import Callable

from socialscale.errors import DatabaseError
from socialscale.store.database import Database
from socialscale.store.dialect import Dialect, dialect_of
from socialscale.store.search import create_index, create_pg_search_table, create_pg_search_triggers

Migration = Callable[[Database], None]
MIGRATIONS: list[Migration] = []
migration = MIGRATIONS.append

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    url TEXT,
    redirected_to TEXT,              -- set after a permanent redirect (301/308)
    etag TEXT,
    last_modified TEXT,
    cursor TEXT,                     -- JSON: the incremental position of an API source
    last_fetch_at TEXT,
    last_ok_at TEXT,
    last_status TEXT,                -- ok | not_modified | error
    last_http_status INTEGER,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    guid TEXT NOT NULL,
    url TEXT,
    canonical_url TEXT,
    title TEXT NOT NULL DEFAULT '',
    author TEXT,
    text TEXT NOT NULL DEFAULT '',
    published_at TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    start_at TEXT NOT NULL,          -- published_at when present and not later than first_seen_at, else first_seen_at
    lane TEXT,
    lanes TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    rules TEXT NOT NULL DEFAULT '[]',
    rules_version TEXT,              -- fingerprint of the rule set that last tagged the item
    owner TEXT,
    owner_set_by TEXT,               -- 'rule' | 'lane' | a person (assign); a person's choice survives re-tagging
    status TEXT NOT NULL DEFAULT 'open',
    responded_at TEXT,
    responded_by TEXT,
    response_via TEXT,
    response_url TEXT,               -- the reply that answered it, when seen automatically
    closed_at TEXT,
    duplicate_of INTEGER REFERENCES items(id),
    in_reply_to TEXT,
    ours TEXT,                       -- the team member who wrote it, when it is one of ours
    parent_id INTEGER,               -- the stored item in_reply_to points at
    conversation_id INTEGER,         -- the root of its parent_id chain (its own id for a root)
    followup INTEGER NOT NULL DEFAULT 0,   -- 1: not ours, and an item of ours came earlier in its conversation
    catalyzed INTEGER NOT NULL DEFAULT 0,  -- 1: a follow-up replying to ours, by someone other than the root's author
    content_hash TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    sentiment REAL,                  -- -1..1 from title and text (docs/insight.md); NULL: no text, not English
    reach INTEGER,                   -- attention the source reports; NULL: it says nothing (feeds)
    lang TEXT,                       -- the language the source gives, primary subtag
    brands TEXT NOT NULL DEFAULT '[]',  -- JSON list of the configured brands it mentions
    sentiment_model TEXT,            -- the model that scored `sentiment` from the current text; NULL: to score
    UNIQUE (source, guid)
);
CREATE INDEX IF NOT EXISTS items_backlog ON items (status, lane, start_at, owner, source)
    WHERE duplicate_of IS NULL AND ours IS NULL;
CREATE INDEX IF NOT EXISTS items_responded ON items (responded_at, lane, start_at, first_seen_at, response_via, owner, source, status)
    WHERE responded_at IS NOT NULL AND duplicate_of IS NULL AND ours IS NULL;
CREATE INDEX IF NOT EXISTS items_start ON items (start_at, lane, owner, source)
    WHERE duplicate_of IS NULL AND ours IS NULL;
CREATE INDEX IF NOT EXISTS items_canonical ON items (canonical_url);
CREATE INDEX IF NOT EXISTS items_in_reply_to ON items (in_reply_to);
CREATE INDEX IF NOT EXISTS items_first_seen ON items (first_seen_at);
CREATE INDEX IF NOT EXISTS items_parent ON items (parent_id);
CREATE INDEX IF NOT EXISTS items_conversation ON items (conversation_id);
CREATE INDEX IF NOT EXISTS items_guid ON items (guid);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,              -- created|tagged|assigned|responded|closed|ignored|reopened|noted
    actor TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_item ON events (item_id, at);
CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms INTEGER,
    http_status INTEGER,
    items_seen INTEGER NOT NULL DEFAULT 0,
    items_new INTEGER NOT NULL DEFAULT 0,
    items_updated INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS fetches_source ON fetches (source, started_at);
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    not_before TEXT NOT NULL,        -- do not ask this host again before this time (Retry-After)
    reason TEXT
);
CREATE TABLE IF NOT EXISTS lanes (
    name TEXT PRIMARY KEY,           -- a copy of the config's lanes, so SQL views know the SLAs
    sla_s INTEGER,
    owner TEXT,
    respond INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,              -- new | breach | digest | test
    key TEXT NOT NULL,               -- item id, or the digest's date
    status TEXT NOT NULL,            -- queued | sending | sent | failed (docs/notify.md)
    at TEXT NOT NULL,
    error TEXT,
    UNIQUE (target, kind, key)
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""

VERSION_TABLE = "socialscale_schema"  # PostgreSQL only: one row, the schema version


def views(d: Dialect) -> dict[str, str]:
    """The SQL views, in the dialect's date arithmetic (SQLite's is strftime('%s'), which every SQLite
    version that may open the file understands)."""
    def secs(later: str, earlier: str) -> str:
        if d.postgres:
            return d.seconds_between(later, earlier)
        return f"(strftime('%s', {later}) - strftime('%s', {earlier}))"

    def count_if(condition: str) -> str:  # not d.count_if: FILTER needs SQLite 3.30, which a reader may not have
        return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    age = secs("'now'", "i.start_at") if not d.postgres else f"({d.epoch_now()} - {d.epoch('i.start_at')})"
    latency = secs("i.responded_at", "i.start_at")
    return {
        # One row per open item waiting for an answer, with its age now and whether its lane's SLA is breached.
        "backlog": f"""
SELECT i.id, i.source, i.lane, i.owner, i.title, i.url, i.start_at, i.conversation_id, i.followup, i.sentiment, i.reach,
       CAST({age} AS INTEGER) AS age_s,
       l.sla_s,
       CASE WHEN l.sla_s IS NOT NULL
             AND {age} > l.sla_s THEN 1 ELSE 0 END AS breached
FROM items i LEFT JOIN lanes l ON l.name = i.lane
WHERE i.status = 'open' AND i.duplicate_of IS NULL AND i.ours IS NULL AND COALESCE(l.respond, 1) = 1
""",
        # One row per answered item with its first-response latency and detection lag, in seconds.
        "first_responses": f"""
SELECT i.id, i.source, i.lane, i.owner, i.responded_by, i.response_via, i.start_at, i.responded_at,
       i.conversation_id, i.followup, i.sentiment,
       CAST({latency} AS INTEGER) AS latency_s,
       CAST({secs("i.first_seen_at", "i.start_at")} AS INTEGER) AS detection_lag_s,
       l.sla_s,
       CASE WHEN l.sla_s IS NULL THEN NULL
            WHEN {latency} <= l.sla_s THEN 1 ELSE 0 END AS within_sla,
       CASE WHEN i.response_via IN ('dm', 'email', 'phone', 'meeting') THEN 1 ELSE 0 END AS handoff
FROM items i LEFT JOIN lanes l ON l.name = i.lane
WHERE i.responded_at IS NOT NULL AND i.duplicate_of IS NULL AND i.ours IS NULL AND i.status != 'ignored'
""",
        # One row per conversation (its root, not a duplicate): what `report conversations` counts, per conversation.
        "conversations": f"""
SELECT r.id, r.source, r.lane, r.owner, r.title, r.url, r.author, r.start_at, r.ours AS started_by,
       COUNT(*) AS messages,
       {count_if("m.ours IS NOT NULL")} AS ours,
       {count_if("m.followup = 1 AND m.status != 'ignored'")} AS followups,
       {count_if("m.followup = 1 AND m.status != 'ignored' AND m.responded_at IS NOT NULL")} AS followups_answered,
       {count_if("m.catalyzed = 1 AND m.status != 'ignored'")} AS catalyzed,
       {count_if("m.catalyzed = 1 AND m.status != 'ignored' AND m.responded_at IS NOT NULL")} AS catalyzed_answered,
       MAX(CASE WHEN m.response_via IN ('dm', 'email', 'phone', 'meeting') THEN 1 ELSE 0 END) AS handoff,
       MAX(CASE WHEN m.status = 'open' AND m.ours IS NULL AND COALESCE(l.respond, 1) = 1 THEN 1 ELSE 0 END)
           AS waiting
FROM items r JOIN items m ON m.conversation_id = r.id AND m.duplicate_of IS NULL
LEFT JOIN lanes l ON l.name = m.lane
WHERE r.conversation_id = r.id AND r.duplicate_of IS NULL
GROUP BY r.id, r.source, r.lane, r.owner, r.title, r.url, r.author, r.start_at, r.ours
""",
    }




def create_views(db: Database) -> None:
    """(Re)create the SQL views in the database's dialect."""
    for name, sql in views(dialect_of(db)).items():
        db.conn.executescript(f"DROP VIEW IF EXISTS {name};\nCREATE VIEW {name} AS {sql.strip()};")


@migration
def m001_initial(db: Database) -> None:
    db.conn.executescript(SCHEMA)
    create_index(db)


@migration
def m002_conversations(db: Database) -> None:
    """Threads: parent_id, conversation_id, followup, catalyzed (docs/schema.md), and the views that use them.

    The columns start empty; the items already stored are threaded, and the lane, owner and answer
    rules applied to them, by `socialscale.conversations.upgrade` the first time a command opens the
    database with its config (it needs the team's lanes), marked by the state key below.
    """
    d = dialect_of(db)
    have = ({str(r[0]) for r in db.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'items'").fetchall()} if d.postgres else
            {str(r[1]) for r in db.execute("PRAGMA table_info(items)").fetchall()})
    for column, decl in (("parent_id", "INTEGER"), ("conversation_id", "INTEGER"),
                         ("followup", "INTEGER NOT NULL DEFAULT 0"), ("catalyzed", "INTEGER NOT NULL DEFAULT 0")):
        if column not in have:
            db.conn.executescript(f"ALTER TABLE items ADD COLUMN {column} {decl};")
    db.conn.executescript(
        "CREATE INDEX IF NOT EXISTS items_parent ON items (parent_id);\n"
        "CREATE INDEX IF NOT EXISTS items_conversation ON items (conversation_id);\n"
        "CREATE INDEX IF NOT EXISTS items_guid ON items (guid);\n")  # a reply's parent, by guid across sources
    if db.execute("SELECT 1 FROM items WHERE conversation_id IS NULL LIMIT 1").fetchone():
        db.execute("INSERT INTO state (key, value) VALUES (?, 'pending') ON CONFLICT (key) DO NOTHING",
                   [UPGRADE_STATE_KEY])


UPGRADE_STATE_KEY = "conversations.upgrade"


@migration
def m003_search_table(db: Database) -> None:
    """PostgreSQL: the search documents move from a GIN index on `items` to a table of their own.

    An update of any indexed column of an item (tagging sets the lane, threading the conversation)
    is not a HOT update, so it gave every index of the row a new entry: the expression index
    recomputed the item's document and added it to the GIN index again, twice for each new item of
    a pull. `items_search` is kept by triggers that fire only when an item is added or deleted, or
    its title or text change, as SQLite's FTS5 triggers are (m001). Nothing changes on SQLite.
    """
    if dialect_of(db).postgres:
        create_pg_search_table(db)


@migration
def m004_search_stemming(db: Database) -> None:
    """The search index rebuilt with stemming (word forms), from the stored items: FTS5's porter
    tokenizer on SQLite, the `english` text search configuration on PostgreSQL."""
    create_index(db)
# Added in m006 to databases made before (a new database has them from SCHEMA).
INSIGHT_COLUMNS = (("sentiment", "REAL"), ("reach", "INTEGER"), ("lang", "TEXT"),
                   ("brands", "TEXT NOT NULL DEFAULT '[]'"))


def add_columns(db: Database, table: str, columns: tuple[tuple[str, str], ...]) -> None:
    """ALTER TABLE ADD COLUMN for the columns not there yet (so a step cut short can run again)."""
    if dialect_of(db).postgres:
        for name, decl in columns:
            db.conn.executescript(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {decl}")
        return
    have = {row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")}
    for name, decl in columns:
        if name not in have:
            db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


@migration
def m005_report_indexes(db: Database) -> None:
    """The indexes `report backlog` and `report latency` read now carry `followup` (and, on PostgreSQL,
    `id`), so both reports are answered from the index alone. Since conversations (m002) split the
    figures by follow-up, each open or answered item was also read from the table: at 1,000,000 items
    the backlog took 0.5 s in SQLite and 0.4 s on PostgreSQL, instead of about 0.15 s."""
    d = dialect_of(db)
    db.conn.executescript(
        "DROP INDEX IF EXISTS items_backlog;\n"
        f"CREATE INDEX items_backlog ON items {d.covering('status, lane, start_at, owner, source', 'followup, id')}\n"
        "    WHERE duplicate_of IS NULL AND ours IS NULL;\n"
        "DROP INDEX IF EXISTS items_responded;\n"
        "CREATE INDEX items_responded ON items "
        f"{d.covering('responded_at, lane, start_at, first_seen_at, response_via, owner, source, status', 'followup')}\n"
        "    WHERE responded_at IS NOT NULL AND duplicate_of IS NULL AND ours IS NULL;\n")


@migration
def m006_insight(db: Database) -> None:
    """Sentiment, reach, language and brands (docs/insight.md); re-tagging fills them in."""
    add_columns(db, "items", INSIGHT_COLUMNS)


@migration
def m007_sparse_indexes(db: Database) -> None:
    """The indexes on `in_reply_to`, `parent_id` and `canonical_url` leave out the items without one (most
    items reply to nothing and are roots). Every query on them asks for values (`IN (...)`), which rules
    NULL out, so both engines still use them. PostgreSQL gives every index a new entry on each update
    of an indexed column (tagging, threading); two or three of the eleven indexes of `items` now take
    none for most items, on insert or update."""
    for name, column in (("items_in_reply_to", "in_reply_to"), ("items_parent", "parent_id"),
                         ("items_canonical", "canonical_url")):
        db.conn.executescript(f"DROP INDEX IF EXISTS {name};\n"
                              f"CREATE INDEX {name} ON items ({column}) WHERE {column} IS NOT NULL;\n")


@migration
def m008_sentiment_in_items_start(db: Database) -> None:
    """`items_start` carries `sentiment`: the negative share that `report latency` and the summary give per
    group (migration 6, insight) counts the items started in the window, and read each of them from the
    table: 0.75 s for 30 days of a million items, 5 s for a year. Now it is read from the index."""
    d = dialect_of(db)
    db.conn.executescript("DROP INDEX IF EXISTS items_start;\n"
                          f"CREATE INDEX items_start ON items {d.covering('start_at, lane, owner, source', 'sentiment')}\n"
                          "    WHERE duplicate_of IS NULL AND ours IS NULL;\n")


@migration
def m009_sentiment_model(db: Database) -> None:
    """`sentiment_model`: which model scored an item's stored `sentiment` from its current text (a pull that
    changes the text clears it). `tag --all` scores only the items whose score is not the current model's,
    instead of every item each time (docs/insight.md). Items stored before have none: the next `tag --all`
    scores them once."""
    add_columns(db, "items", (("sentiment_model", "TEXT"),))


@migration
def m010_search_pending(db: Database) -> None:
    """PostgreSQL: an item added is listed in `items_search_pending` instead of having its search document
    computed by the insert's trigger; a pull gives the documents on a second connection beside its writer,
    where they cost half of the server's work on the writer's path (store/search.py). The documents
    stored stay. Nothing changes on SQLite."""
    if dialect_of(db).postgres:
        create_pg_search_triggers(db)


@migration
def m011_conversation_figures(db: Database) -> None:
    """`conversation_figures`: what `report conversations` adds up, one row per conversation, kept by triggers
    that list a conversation in `conversations_stale` whenever an item or lane it depends on changes
    (store/figures.py). Every conversation stored so far is computed now: a few seconds, once, at a
    million items. The report then reads the window's rows alone instead of joining every root to its
    messages (0.75 s at a million items; benchmarks/README.md, "Reports, fourth round")."""
    from socialscale.store import figures

    figures.create(db)


@migration
def m012_conversation_figures_triggers(db: Database) -> None:
    """SQLite: the triggers of m011 list a conversation with an upsert into a rowid table, instead of an
    insert guarded by `NOT EXISTS` (which made SQLite copy each trigger's SELECT into a temporary table)
    into a WITHOUT ROWID one: ~20 µs more per item a pull writes, now a few (benchmarks/README.md,
    "Reports, fourth round"). PostgreSQL's triggers are made again unchanged."""
    from socialscale.store import figures

    figures.create_triggers(db)


def schema_version(db: Database) -> int:
    if dialect_of(db).postgres:
        if db.execute("SELECT to_regclass(?)", [VERSION_TABLE]).fetchone()[0] is None:
            return 0
        row = db.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
        return int(row[0] or 0)
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, path: str = "") -> None:
    """Bring the database up to this version's schema, or refuse one from a newer version."""
    current = schema_version(db)
    if current > len(MIGRATIONS):
        raise DatabaseError(
            f"{path or 'database'}: schema version {current} was written by a newer socialscale "
            f"(this one knows up to {len(MIGRATIONS)}); upgrade socialscale, the file was not changed"
        )
    # Each step is idempotent (IF NOT EXISTS, replace=True) rather than one transaction:
    # executescript and sqlite-utils' FTS setup commit on their own. A step cut short is
    # simply run again, because user_version is only raised after it completes.
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        apply_step(db, number, step)
        db.execute(f"PRAGMA user_version = {number}")


def apply_step(db: Database, number: int, step: Migration) -> None:
    """Run migration `number`; after the last one, (re)create the views. The views read columns that
    several steps add, so they are made once, when every column is there, and before the version that
    says the schema is complete is written."""
    step(db)
    if number == len(MIGRATIONS):
        create_views(db)
