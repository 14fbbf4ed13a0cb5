"""What a `database:` value names: an SQLite file, or a PostgreSQL server by `postgresql://` URL.

Kept apart from the store so the config can check a URL without loading any database code.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


def is_url(database: object) -> bool:
    """Whether a `database:` value names a PostgreSQL server rather than an SQLite file."""
    return isinstance(database, str) and database.lower().startswith(SCHEMES)


def has_password(url: str) -> bool:
    """A password in the URL's user part (`user:secret@host`) or in its `password=` parameter."""
    parts = urlsplit(url)
    if parts.password:
        return True
    return any(p.split("=", 1)[0].lower() == "password" for p in parts.query.split("&") if p)


def safe_url(url: str) -> str:
    """The URL for messages: any password replaced by `***` (check refuses one, but never print it)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        netloc = f"{user}:***@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(("password=***" if p.split("=", 1)[0].lower() == "password" else p)
                     for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
