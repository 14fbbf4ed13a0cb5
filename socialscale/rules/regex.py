"""User regexes (a rule's `regex:`), compiled with RE2: matching time is linear in the text, so no
pattern can hang a pull (`(a+)+$` against 34 `a`s and a `!` takes Python's `re` for ever).

The one place a user's pattern is compiled: config validation, the matcher, `why` and `rules test`
all come here, so what `check` accepts is exactly what runs. RE2 has no backreferences, no
lookaround, no atomic groups or possessive quantifiers (Miniflux's filters, on Go's RE2, have the
same limits); `\\b`, `\\w` and `\\d` are ASCII, `\\pL` is any letter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, Protocol

import re2

# Patterns RE2 refuses, with a reason a user can act on (RE2's own message is terse).
_UNSUPPORTED: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), why) for p, why in (
    (r"\\[1-9]|\(\?P=", "backreferences (\\1, (?P=name)) are not supported"),
    (r"\(\?<?[=!]", "lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported"),
    (r"\(\?>", "atomic groups (?>…) are not supported"),
    (r"[*+?}]\+", "possessive quantifiers (*+, ++, ?+) are not supported"),
    (r"\\Z", "\\Z is not supported (use \\z or $)"),
    (r"\(\?#", "comments (?#…) are not supported"),
    (r"\(\?[a-zA-Z]*x", "verbose mode (?x) is not supported"),
))
MAX_PATTERN_MEMORY = 8 << 20  # RE2's own default; a pattern whose program needs more is refused


class Match(Protocol):
    def span(self, group: int = 0) -> tuple[int, int]: ...
    def start(self, group: int = 0) -> int: ...
    def end(self, group: int = 0) -> int: ...
    def __getitem__(self, group: int) -> Any: ...


class Pattern(Protocol):
    """What the rules use of a compiled pattern (re2's objects have no type stubs)."""

    pattern: str

    def search(self, text: str) -> Match | None: ...
    def finditer(self, text: str) -> Iterator[Match]: ...


class RegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why."""


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would print every refused pattern to stderr itself
    options.max_mem = MAX_PATTERN_MEMORY
    return options


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> Pattern:
    """The pattern compiled case-insensitively with RE2; RegexError names the reason it cannot be."""
    try:
        compiled: Pattern = re2.compile(pattern, _options())
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        why = next((why for probe, why in _UNSUPPORTED if probe.search(pattern)), None)
        if why:
            raise RegexError(f"{why} (rules run on RE2: linear time, no backtracking)") from None
        raise RegexError(detail if len(detail) <= 200 else detail[:199] + "…") from None
    except (TypeError, UnicodeEncodeError) as exc:
        raise RegexError(str(exc)) from None
    return compiled


def regex_problem(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern`, or None."""
    try:
        compile_regex(pattern)
    except RegexError as exc:
        return str(exc)
    return None
