"""Exit codes and the errors the CLI turns into one line on stderr."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; scripts rely on these (README.md, docs/guide.md)."""

    OK = 0
    PARTIAL = 1  # some sources or ids failed, the rest were done
    USAGE = 2  # bad arguments or configuration
    BREACH = 3  # --fail-on-breach and an SLA is breached


class SocialscaleError(Exception):
    """An error a user can act on: printed as one line, never as a traceback."""

    exit_code: ExitCode = ExitCode.PARTIAL
    http_status: int | None = None  # the status the server sent, when the error came after a response


class ConfigError(SocialscaleError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class UsageError(SocialscaleError):
    """A command was called with arguments that cannot work."""

    exit_code = ExitCode.USAGE


class DatabaseError(SocialscaleError):
    """The database cannot be opened, read or written."""

    exit_code = ExitCode.PARTIAL


class DatabaseUnavailable(DatabaseError):
    """The database cannot be opened at all (a setup problem): no server, a refused user or name, a missing
    folder, a folder or a junk file where the database file should be."""

    exit_code = ExitCode.USAGE


class FetchError(SocialscaleError):
    """One source could not be fetched (HTTP error, timeout, too large...)."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class ParseError(SocialscaleError):
    """One source's response could not be read as a feed or API payload."""


class WorkflowError(SocialscaleError):
    """A workflow change was refused for one item (unknown id, member, bad time)."""


def unknown(what: str, name: str | Sequence[str], known: Iterable[str], *, option: str | None = None,
            label: str = "known", none: str = "none", hint: bool = True) -> str:
    """The one wording of a name that is not configured: `unknown lane 'x' (did you mean 'y'?)`, else the
    names there are (`(lanes: a, b)`); with `option`, `--lane 'x': unknown lane (...)`."""
    known = list(known)
    names = repr(name) if isinstance(name, str) else ", ".join(map(repr, name))
    head = f"{option} {names}: unknown {what}" if option else f"unknown {what} {names}"
    close = difflib.get_close_matches(name, known, n=1) if hint and isinstance(name, str) else []
    if close:
        return f"{head} (did you mean {close[0]!r}?)"
    return f"{head} ({label}: {', '.join(known) or none})"
