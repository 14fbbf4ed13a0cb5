"""Full-text search: the index over items' title and text, and the `--search` query language.

All full-text SQL lives here (the one part of the store each backend does its own way); the dialect's
`search_clause` asks this module. SQLite: FTS5 with the porter stemmer over unicode61 (accents folded).
PostgreSQL: a GIN-indexed table of `to_tsvector('english', ...)` documents (PG_SEARCH_TABLE), whose Snowball
stemmer finds the same word forms; an item added is listed in PG_SEARCH_PENDING until a second connection
gives it its document (index_pending), and a search reads pending items' text directly meanwhile. So `croissant` finds "stale croissants" and `refunds` finds "refund".
The query language is a small, checked subset of FTS5's (docs/guide.md, "Searching"):

    refund                every word must appear (in any form: refund, refunds, refunded)
    stale croissant       both words
    stale OR rude         either word (AND and NOT too; operators in capitals)
    "cold coffee"         a phrase
    croiss*               a prefix
    (stale OR rude) NOT coffee

The query is parsed here into a small tree and written out for the backend: every word and phrase
quoted, so punctuation (`title:`, `-`, `^`, `&`) is never the engine's syntax. A query that does not
parse is a UsageError naming the problem, never an empty result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from socialscale.errors import UsageError
from socialscale.store.dialect import (
    PG_SEARCH_PENDING,
    PG_SEARCH_TABLE,
    SEARCH_CONFIG,
    Dialect,
    dialect_of,
    pg_search_document,
)

if TYPE_CHECKING:
    from socialscale.store.database import Database

TOKENIZE = "porter unicode61 remove_diacritics 2"
OPERATORS = ("AND", "OR", "NOT")
_WORD = re.compile(r"[^\W_]+")
# One token: a quoted phrase (maybe with a trailing *), a bracket, or a run of anything else.
_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*"\*?)|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()"]+)|(?P<bad>"))')


def create_index(db: Database) -> None:
    """(Re)build the search index: on SQLite the FTS5 table with the stemming tokenizer, and the triggers
    that keep it current; on PostgreSQL the table of stemmed documents (create_pg_search_table).

    sqlite-utils' update trigger re-indexes a row on ANY update; tagging and the workflow update other
    columns of many rows, so the index follows only changes of title or text (measured: tagging 200,000
    items took 17.1 s of UPDATEs with the stock trigger, 1.4 s with this one).
    """
    if dialect_of(db).postgres:
        create_pg_search_table(db)
        return
    db.conn.executescript('DROP TRIGGER IF EXISTS "items_ai"; DROP TRIGGER IF EXISTS "items_ad"; '
                          'DROP TRIGGER IF EXISTS "items_au"; DROP TABLE IF EXISTS "items_fts";')
    import sqlite_utils  # only here: its FTS5 set-up, for the migrations that (re)build the index

    sqlite_utils.Database(db.conn, execute_plugins=False).table("items").enable_fts(
        ["title", "text"], fts_version="FTS5", create_triggers=True, replace=True, tokenize=TOKENIZE)
    db.conn.executescript(
        'DROP TRIGGER IF EXISTS "items_au";\n'
        'CREATE TRIGGER "items_au" AFTER UPDATE OF "title", "text" ON "items" BEGIN\n'
        '  INSERT INTO "items_fts" ("items_fts", rowid, "title", "text") VALUES(\'delete\', old.rowid, old."title", old."text");\n'
        '  INSERT INTO "items_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");\n'
        'END;')
    db.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")


def create_pg_search_table(db: Database) -> None:
    """PostgreSQL: the search documents in PG_SEARCH_TABLE (GIN-indexed), (re)computed for every stored item,
    and the triggers that keep them (create_pg_search_triggers)."""
    t = PG_SEARCH_TABLE
    # Written directly, not through executescript's type rewriting: its plpgsql bodies are not SQLite's DDL.
    for statement in (
        f"CREATE TABLE IF NOT EXISTS {t} (id bigint PRIMARY KEY, document tsvector NOT NULL)",
        f"INSERT INTO {t} (id, document) SELECT id, {pg_search_document()} FROM items "
        "ON CONFLICT (id) DO UPDATE SET document = excluded.document",
        f"CREATE INDEX IF NOT EXISTS {t}_document ON {t} USING GIN (document)",
        "DROP INDEX IF EXISTS items_fts",
    ):
        db.pg.raw.execute(statement)  # type: ignore[attr-defined]
    create_pg_search_triggers(db)


def create_pg_search_triggers(db: Database) -> None:
    """PostgreSQL: the triggers that keep the search documents, and PG_SEARCH_PENDING (schema.m010).

    They fire only when an item is added or deleted or its title or text change, as SQLite's FTS5
    triggers do, so tagging and threading never re-index (schema.m003). An item added is only listed
    as pending: computing its document (the `english` parser and stemmer, and a GIN entry) was half of
    the server's work in a pull, on the writer's critical path; index_pending does it on a second
    connection. An edit of an item that has a document updates it at once; one still pending keeps
    waiting: the edit takes its row in the pending list (an upsert that locks it), so index_pending either
    skips it until the edit is committed, or has it already and the edit waits, then lists it again."""
    t, pending = PG_SEARCH_TABLE, PG_SEARCH_PENDING
    for statement in (
        f"CREATE TABLE IF NOT EXISTS {pending} (id bigint PRIMARY KEY)",
        f"""CREATE OR REPLACE FUNCTION {t}_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            INSERT INTO {pending} (id) SELECT id FROM added ON CONFLICT (id) DO NOTHING;
            RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION {t}_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            UPDATE {t} SET document = {pg_search_document('NEW.title', 'NEW.text')} WHERE id = NEW.id;
            IF NOT FOUND THEN
                INSERT INTO {pending} (id) VALUES (NEW.id) ON CONFLICT (id) DO UPDATE SET id = excluded.id;
            END IF;
            RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION {t}_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            DELETE FROM {t} WHERE id IN (SELECT id FROM removed);
            DELETE FROM {pending} WHERE id IN (SELECT id FROM removed);
            RETURN NULL; END $$""",
        f"DROP TRIGGER IF EXISTS {t}_ai ON items",
        f"CREATE TRIGGER {t}_ai AFTER INSERT ON items REFERENCING NEW TABLE AS added "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {t}_added()",
        f"DROP TRIGGER IF EXISTS {t}_au ON items",
        f"CREATE TRIGGER {t}_au AFTER UPDATE OF title, text ON items FOR EACH ROW "
        f"WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.text IS DISTINCT FROM NEW.text) "
        f"EXECUTE FUNCTION {t}_changed()",
        f"DROP TRIGGER IF EXISTS {t}_ad ON items",
        f"CREATE TRIGGER {t}_ad AFTER DELETE ON items REFERENCING OLD TABLE AS removed "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {t}_removed()",
    ):
        db.pg.raw.execute(statement)  # type: ignore[attr-defined]


INDEX_BATCH = 200  # pending items given their documents per statement (index_pending)


def index_pending(db: Database, limit: int | None = INDEX_BATCH) -> int:
    """PostgreSQL: give up to `limit` pending items (None: all) their search documents, in one statement;
    returns how many. Nothing to do on SQLite, whose FTS5 triggers index an item as it is written.

    Safe beside writers without their lock: it takes the pending rows `FOR UPDATE SKIP LOCKED` and never
    waits (no deadlock with a writer). A writer that edits a pending item's title or text locks its
    pending row first (create_pg_search_triggers): the item is skipped until the edit is committed, or,
    if taken already, the edit waits for this statement and lists the item again, so a document made
    from the old text is remade. The document and the item's leaving the list are one statement: a
    search sees one or the other."""
    if not dialect_of(db).postgres:
        return 0
    t, pending = PG_SEARCH_TABLE, PG_SEARCH_PENDING
    # Each step by primary key (`= ANY(ARRAY(...))`): a join let the planner walk `items` from its first row
    # to the first pending one on every call.
    cursor = db.execute(
        f"WITH listed AS (SELECT id FROM {pending} ORDER BY id"
        f"{' LIMIT ' + str(int(limit)) if limit is not None else ''} FOR UPDATE SKIP LOCKED), "
        "batch AS (SELECT id, title, text FROM items WHERE id = ANY(ARRAY(SELECT id FROM listed))), "
        f"done AS (DELETE FROM {pending} WHERE id = ANY(ARRAY(SELECT id FROM listed))) "
        f"INSERT INTO {t} (id, document) SELECT id, {pg_search_document()} FROM batch "
        "ON CONFLICT (id) DO UPDATE SET document = excluded.document")
    return max(int(cursor.rowcount), 0)


def search_clause(d: Dialect, text: str, id_column: str = "id") -> tuple[str, list[str]]:
    """A WHERE fragment and its one parameter: items whose title or text match the `--search` query."""
    tree = parse(text)
    if d.postgres:
        query = f"to_tsquery('{SEARCH_CONFIG}', ?)"
        # Items still pending (create_pg_search_triggers) are matched on their text as stored: a few hundred at
        # most while a pull runs, none after it.
        return (f"{id_column} IN (SELECT id FROM {PG_SEARCH_TABLE} WHERE document @@ {query} UNION ALL "
                f"SELECT i.id FROM {PG_SEARCH_PENDING} p JOIN items i ON i.id = p.id "
                f"WHERE {pg_search_document('i.title', 'i.text')} @@ {query})", [_tsquery(tree)] * 2)
    return f"{id_column} IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)", [_fts5(tree)]


# A parsed query: ("term", text, prefix) | ("phrase", text, prefix) | (op, left, right) for AND/OR/NOT.
Node = tuple[Any, ...]


def _fts5(node: Node) -> str:
    if node[0] in ("term", "phrase"):
        return '"' + str(node[1]).replace('"', '""') + '"' + ("*" if node[2] else "")
    return f"({_fts5(node[1])} {node[0]} {_fts5(node[2])})"


def _tsquery(node: Node) -> str:
    if node[0] in ("term", "phrase"):
        # Words as FTS5's unicode61 reads them (letters and digits; `_` and all else separate), which is
        # also how pg_search_document() is split; the engine's own parser would read punctuation as operators.
        words = _WORD.findall(node[1])
        suffix = ":*" if node[2] else ""
        return "(" + " <-> ".join(f"'{w}'" for w in words[:-1]) + (" <-> " if len(words) > 1 else "") \
            + f"'{words[-1]}'{suffix})"
    op = {"AND": "&", "OR": "|", "NOT": "& !"}[node[0]]
    return f"({_tsquery(node[1])} {op} {_tsquery(node[2])})"


@dataclass
class _Parser:
    text: str
    tokens: list[tuple[str, str]]
    pos: int = 0

    def error(self, problem: str) -> UsageError:
        return UsageError(f"--search {self.text!r}: {problem} (see `docs/guide.md`, Searching)")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expression(self) -> Node:
        # FTS5's precedence, highest first: NOT, AND (also implicit), OR.
        node = self.conjunction()
        while (token := self.peek()) is not None and token == ("op", "OR"):
            self.pos += 1
            self.need_operand("OR")
            node = ("OR", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while (token := self.peek()) is not None and token[0] != "close" and token != ("op", "OR"):
            if token == ("op", "AND"):
                self.pos += 1
                self.need_operand("AND")
            node = ("AND", node, self.negation())
        return node

    def negation(self) -> Node:
        node = self.term()
        while (token := self.peek()) is not None and token == ("op", "NOT"):
            self.pos += 1
            self.need_operand("NOT")
            node = ("NOT", node, self.term())
        return node

    def need_operand(self, op: str) -> None:
        following = self.peek()
        if following is None or following[0] in ("op", "close"):
            raise self.error(f"{op} needs a word or phrase after it")

    def term(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.error("expected a word or phrase")
        kind, value = token
        self.pos += 1
        if kind == "op":
            raise self.error(f"{value} needs a word or phrase before it")
        if kind == "close":
            raise self.error("a ) without its (")
        if kind == "open":
            if (inner := self.peek()) is not None and inner[0] == "close":
                raise self.error("empty brackets")
            inside = self.expression()
            if self.peek() is None:
                raise self.error("a ( without its )")
            self.pos += 1
            return inside
        prefix = value.endswith("*")
        body = value.rstrip("*")
        if kind == "phrase":
            body = body[1:-1]
        if not _WORD.search(body):
            raise self.error(f"{value!r} has no letters or digits to search for")
        if kind == "word" and "*" in body:
            raise self.error(f"{value!r}: * only ends a word (croiss*)")
        return ("phrase" if kind == "phrase" else "term", body, prefix)


def parse(text: str) -> Node:
    """A `--search` query as a tree, or a UsageError saying what is wrong with it."""
    tokens: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "bad"
        value = m.group(kind)
        if kind == "bad":
            raise UsageError(f"--search {text!r}: a \" without its closing \" (see `docs/guide.md`, Searching)")
        if kind == "word" and value in OPERATORS:
            kind = "op"
        tokens.append((kind, value))
    parser = _Parser(text, tokens)
    if not tokens:
        raise parser.error("nothing to search for")
    tree = parser.expression()
    if parser.peek() is not None:  # only a stray ) stops an outermost expression early
        raise parser.error("a ) without its (")
    return tree
