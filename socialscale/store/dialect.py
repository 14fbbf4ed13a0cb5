"""Where SQLite and PostgreSQL differ: the one module that knows both dialects.

The store writes one SQL text for both backends, in SQLite's spelling with `?` placeholders, and asks
the dialect for the few fragments that differ: seconds between timestamps, string aggregation, counting
rows that meet a condition, `IS NOT` with a parameter, `MAX` of two values, a JSON array's elements,
full-text search, and the DDL types. `Dialect.sql()` turns the text into the backend's own (placeholders).

Timestamps stay ISO-8601 text on both (`YYYY-MM-DDTHH:MM:SSZ`), and PostgreSQL's text columns use the
"C" collation, so ordering and comparison are byte-wise on both: the same rows sort the same way, and the
reports give the same figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SEARCH_CONFIG = "english"  # Snowball stemming, as FTS5's porter tokenizer stems on SQLite (store/search.py)
# The text search document of an item (PostgreSQL), as PG_SEARCH_TABLE holds it.
# Punctuation becomes a space first, as FTS5's unicode61 tokenizer reads it: PostgreSQL's parser would
# otherwise keep e-mail addresses, URLs, "3.5", "-7" and hyphenated words as tokens of their own, and
# "INV-7" or "alternative-to" would not match the same items on both backends.
def pg_search_document(title: str = "title", text: str = "text") -> str:
    """The text search document of an item, from its title and text columns (or a trigger's NEW.title, NEW.text)."""
    return (f"to_tsvector('{SEARCH_CONFIG}', regexp_replace(coalesce({title}, '') || ' ' || coalesce({text}, ''), "
            "'[[:punct:]]', ' ', 'g'))")


# The documents live in a table of their own (schema.m003_search_table), kept by triggers that fire only
# when an item is added or its title or text change: a GIN index on `items` itself gained entries (and
# recomputed the document) on every update of an indexed column, so tagging and threading each paid
# for the search index again (benchmarks/README.md, "Pull into PostgreSQL"). SQLite's FTS5 table is
# kept the same way.
PG_SEARCH_TABLE = "items_search"
# Items added but not yet given a document (PostgreSQL): the insert trigger only lists them here; a pull's
# second connection computes their documents beside its writer (store/search.py, index_pending), and a
# search reads them from `items` meanwhile, so nothing added is ever unsearchable (schema.m010).
PG_SEARCH_PENDING = "items_search_pending"

# Advisory lock keys (PostgreSQL): one 64-bit number per purpose, the same on every machine.
LOCK_WRITE = 0x5C5C_0001  # held by every write transaction: writers take turns, as under SQLite's BEGIN IMMEDIATE
LOCK_MIGRATE = 0x5C5C_0002  # held while the schema is checked and brought up to date
LOCK_PULL = 0x5C5C_0003  # held by a pull for its whole run (store/lock.py)


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" | "postgresql"

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def sql(self, text: str) -> str:
        """The statement in this backend's placeholder style."""
        return _pg_sql(text) if self.postgres else text

    # --- expressions ---------------------------------------------------------------------------------

    def epoch(self, expr: str) -> str:
        """Whole POSIX seconds of an ISO-8601 UTC text timestamp.

        PostgreSQL: `date_part`, a double, not `EXTRACT`, a numeric since PostgreSQL 14, whose arithmetic
        cost `report latency` ~1.7 us per call, four per answer (benchmarks/README.md, "Reports, fifth
        round"). The timestamps are whole seconds, which a double holds exactly, so the integers are the same."""
        if self.postgres:
            return f"CAST(date_part('epoch', CAST({expr} AS timestamptz)) AS bigint)"
        return _SQLITE_EPOCH.format(expr)

    def epoch_now(self) -> str:
        return "CAST(EXTRACT(EPOCH FROM now()) AS bigint)" if self.postgres else "strftime('%s', 'now')"

    def seconds_between(self, later: str, earlier: str) -> str:
        """Whole seconds from `earlier` to `later`, both ISO-8601 text."""
        return f"({self.epoch(later)} - {self.epoch(earlier)})"

    def count_if(self, condition: str) -> str:
        """How many rows of the group meet `condition` (0 for none; rows where it is NULL do not count).

        An aggregate FILTER on both (SQLite 3.30+): on SQLite, `SUM(condition)` evaluated and added up the
        condition for every row, ~18% more of `report backlog`'s pass over a million items' backlog index
        (benchmarks/README.md, "Reports, fifth round"). The SQL views use the portable `SUM(CASE ...)`."""
        return _COUNT_IF.format(condition) if not self.postgres else f"COUNT(*) FILTER (WHERE {condition})"

    def as_int(self, condition: str) -> str:
        """A condition as 1/0 (SQLite's booleans are integers already; PostgreSQL's are not)."""
        return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)" if self.postgres else f"({condition})"

    def joined(self, expr: str) -> str:
        """The group's values as one comma-separated string (group_concat / string_agg)."""
        return f"string_agg(CAST({expr} AS text), ',')" if self.postgres else f"group_concat({expr})"

    def is_not(self, column: str) -> str:
        """`column` differs from the parameter, NULL counting as a value."""
        return f"{column} IS DISTINCT FROM ?" if self.postgres else f"{column} IS NOT ?"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgres else f"MAX({a}, {b})"

    def no_limit(self) -> str:
        """A LIMIT that limits nothing (SQLite: keeps a subquery a co-routine)."""
        return " LIMIT ALL" if self.postgres else " LIMIT -1"

    def json_array_text(self, column: str, alias: str) -> str:
        """A FROM item: the elements of a JSON array column as rows of `alias.value` text."""
        if self.postgres:
            return f"json_array_elements_text(CAST({column} AS json)) AS {alias}(value)"
        return f"json_each({column}) {alias}"

    def index_definition(self) -> str:
        """A query for the `CREATE INDEX` statement of the index named by the parameter (no row, or NULL,
        when there is none)."""
        if self.postgres:
            return "SELECT pg_get_indexdef(to_regclass(?))"
        return "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"

    # --- schema --------------------------------------------------------------------------------------

    def covering(self, keys: str, carried: str) -> str:
        """An index's column list, `(keys)`, that also carries the `carried` columns so that a query
        reading only these is answered from the index alone: PostgreSQL's INCLUDE; on SQLite trailing
        key columns, without `id` (the rowid is in every SQLite index already)."""
        if self.postgres:
            return f"({keys}) INCLUDE ({carried})"
        extra = [c.strip() for c in carried.split(",") if c.strip() != "id"]
        return f"({', '.join([keys, *extra])})"

    def ddl(self, script: str) -> str:
        """SQLite DDL (as the migrations write it) in this backend's types."""
        return _pg_ddl(script) if self.postgres else script


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgresql")


def dialect_of(db: Any) -> Dialect:
    """The dialect of an open database (store.postgres.PgDatabase carries its own; the rest are SQLite)."""
    return getattr(db, "dialect", SQLITE)  # type: ignore[no-any-return]

# unixepoch() gives the same integers as strftime('%s') and is twice as fast where SQLite has it (3.38+);
# an aggregate's FILTER clause came in 3.30.
_SQLITE_EPOCH = "unixepoch({})"
_COUNT_IF = "COUNT(*) FILTER (WHERE {})"


def _init_sqlite_dialect() -> None:
    import sqlite3

    global _SQLITE_EPOCH, _COUNT_IF
    if sqlite3.sqlite_version_info < (3, 38):
        _SQLITE_EPOCH = "CAST(strftime('%s', {}) AS INTEGER)"
    if sqlite3.sqlite_version_info < (3, 30):
        _COUNT_IF = "COALESCE(SUM({}), 0)"


_init_sqlite_dialect()

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@lru_cache(maxsize=1024)
def _pg_sql(text: str) -> str:
    """`?` -> `%s` and `%` -> `%%` (psycopg's placeholder style), leaving quoted literals alone except `%`."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return _PLACEHOLDER.sub(swap, text)


# Types are matched in capitals, as the migrations write them, so that a column named `text` stays a name.
_DDL_RULES = [
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bTEXT\b(?! COLLATE)"), 'TEXT COLLATE "C"'),
    # SQLite's clustered tables (a table stored as its primary key's b-tree); PostgreSQL has only heaps.
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
]


@lru_cache(maxsize=64)
def _pg_ddl(script: str) -> str:
    # Comments first: they may hold the very words the rules rewrite.
    out = re.sub(r"--[^\n]*", "", script)
    for pattern, replacement in _DDL_RULES:
        out = pattern.sub(replacement, out)
    return out
