"""A transaction inside a transaction, the same on both backends (both speak SAVEPOINT).

`store.db.transaction` uses it when it is entered inside another transaction: the pull stores a
group of sources in one transaction, each in its own savepoint, so a source whose batch fails is
undone alone while the others are kept (docs/design.md, "Pull").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from socialscale.errors import DatabaseError

NAME = "socialscale_step"


@contextmanager
def savepoint(conn: Any, errors: type[BaseException], message: Callable[[Any], str]) -> Iterator[None]:
    """Run the block in a savepoint of `conn`'s open transaction. On failure only the block's writes are
    undone and the error goes up (a database error of type `errors` as DatabaseError(message(exc)));
    the block's writes are kept when the outer transaction commits."""
    conn.execute(f"SAVEPOINT {NAME}")
    try:
        yield
    except errors as exc:
        _undo(conn)
        raise DatabaseError(message(exc)) from exc
    except BaseException:
        _undo(conn)
        raise
    conn.execute(f"RELEASE SAVEPOINT {NAME}")


def _undo(conn: Any) -> None:
    conn.execute(f"ROLLBACK TO SAVEPOINT {NAME}")
    conn.execute(f"RELEASE SAVEPOINT {NAME}")
