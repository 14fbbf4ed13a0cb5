"""Parser failures said in words a shop owner can act on, with the parser's own text kept for --verbose.

`expat` says `<unknown>:1:11108: not well-formed (invalid token)`; a person reads "the feed is
broken at line 1, column 11108 (a character or `&` that XML does not allow)". The raw text
travels along after DETAIL, so the message is still one string (it crosses the parser process
boundary and is stored as `last_error`); tables cut it off with `brief()` unless --verbose.
"""

from __future__ import annotations

import json
from typing import Any

DETAIL = " [parser: "

_XML = (  # expat's messages, in words
    ("not well-formed", "a character, `&` or `<` that XML does not allow"),
    ("mismatched tag", "a tag closed in the wrong place"),
    ("no element found", "the document stops early (cut off?)"),
    ("unclosed token", "the document stops inside a tag (cut off?)"),
    ("undefined entity", "an unknown `&name;` entity"),
    ("junk after document element", "more text after the end of the feed"),
    ("syntax error", "text where the feed should start"),
    ("duplicate attribute", "a tag with the same attribute twice"),
    ("unbound prefix", "a tag with an undeclared `prefix:`"),
    ("encoding", "text in another encoding than the one declared"),
)
_JSON = (
    ("Expecting value", "a value is missing or is not JSON"),
    ("Expecting property name", "a key that is not in double quotes"),
    ("Unterminated string", "a text that is never closed"),
    ("Extra data", "more after the end of the document"),
    ("Expecting ',' delimiter", "a missing comma"),
    ("Expecting ':' delimiter", "a missing colon"),
    ("Invalid control character", "a control character inside a text"),
    ("Invalid \\escape", "a bad backslash escape"),
)


def with_detail(words: str, raw: Any) -> str:
    raw_text = " ".join(str(raw).split())
    return f"{words}{DETAIL}{raw_text}]" if raw_text else words


def brief(message: str) -> str:
    """The message without the parser's raw detail (shown only with --verbose)."""
    return message.split(DETAIL, 1)[0]


def _lookup(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    return next((words for key, words in table if key.lower() in text.lower()), None)


def xml_problem(exc: Any) -> str:
    """`broken at line L, column C (what)` for an XML parser exception (SAXParseException or other)."""
    message = exc.getMessage() if hasattr(exc, "getMessage") else str(exc)
    words = _lookup(_XML, str(message)) or str(message)
    try:
        where = f"broken at line {int(exc.getLineNumber())}, column {int(exc.getColumnNumber())}"
    except (AttributeError, TypeError, ValueError):
        where = "broken"
    return with_detail(f"{where} ({words})", exc)


def json_problem(exc: ValueError | UnicodeDecodeError) -> str:
    """`broken at line L, column C (what)` for a JSON decoding error."""
    if isinstance(exc, json.JSONDecodeError):
        words = _lookup(_JSON, exc.msg) or exc.msg
        return with_detail(f"broken at line {exc.lineno}, column {exc.colno} ({words})", exc)
    if isinstance(exc, UnicodeDecodeError):
        return with_detail(f"not valid UTF-8 text at byte {exc.start}", exc)
    return with_detail("not valid JSON", exc)
