"""The config checker: converts YAML values while collecting problems with their key paths.

Kept apart from config.py, which walks the sections of the file, so that each stays short.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from socialscale.timeutil import parse_duration

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_size(value: Any) -> int:
    """Bytes in `10MiB`, `512k`, `1048576`."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError
    number, unit = float(m.group(1)), (m.group(2) or "b").lower()
    factor = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit[0]]
    return int(number * factor)


def parse_clock(value: Any) -> int:
    """Minutes after midnight in `HH:MM`."""
    m = _CLOCK.match(str(value).strip())
    if not m or (int(m.group(1)) == 24 and m.group(2) != "00"):
        raise ValueError
    return int(m.group(1)) * 60 + int(m.group(2))


def parse_clock_range(value: Any) -> tuple[int, int]:
    """`09:00-12:30` as minutes after midnight."""
    start, sep, end = str(value).replace("–", "-").partition("-")
    if not sep:
        raise ValueError
    return parse_clock(start), parse_clock(end)


class Checker:
    """Collects problems with their key paths while the config is converted."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        # A value can be megabytes long (a pasted file, a runaway anchor): a message quotes the start.
        path, message = clip_message(path, 200), clip_message(message, MAX_MESSAGE)
        self.problems.append(f"{self.file}: {path}: {message}" if path else f"{self.file}: {message}")

    def mapping(self, value: Any, path: str, allowed: Iterable[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping (key: value), got {kind_name(value)}")
            return {}
        allowed = tuple(allowed)
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else f" (expected one of: {', '.join(allowed)})"
                self.problem(join_path(path, str(key)), f"unknown key{extra}")
        return value

    def named(self, value: Any, section: str, what: str, allowed: Iterable[str],
              name_rule: re.Pattern[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(name, key path, mapping) for each entry of a mapping of named entries (`team:`, `brands:`),
        problems noted: not a mapping, a name that breaks `name_rule`, unknown keys."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.problem(section, f"expected a mapping of {what} names, got {kind_name(value)}")
            return
        for name, spec in value.items():
            path = f"{section}.{name}"
            if not isinstance(name, str) or not name_rule.match(name):
                self.problem(path, f"a {what} name is letters, digits, '-', '_' or '.'")
                continue
            yield name, path, self.mapping(spec, path, allowed)

    def entries(self, value: Any, path: str, what: str, shape: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(index, key path, mapping) for each element of a list of mappings, problems noted."""
        if value is None:
            return
        if not isinstance(value, list):
            self.problem(path, f"expected a list of {what}, got {kind_name(value)}")
            return
        for i, spec in enumerate(value):
            if isinstance(spec, dict):
                yield i, f"{path}[{i}]", spec
            else:
                self.problem(f"{path}[{i}]", f"expected a mapping with {shape}, got {kind_name(spec)}")

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                                  for v in value):
            self.problem(path, f"expected a list of strings, got {kind_name(value)}")
            return ()
        out = tuple(str(v) for v in value)
        for i, text in enumerate(out):
            self._printable(text, f"{path}[{i}]" if len(out) > 1 or not isinstance(value, str) else path)
        return out

    def string(self, value: Any, path: str, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.problem(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(path, f"expected a non-empty string, got {kind_name(value)}")
            return None
        self._printable(value, path)
        return value

    def _printable(self, text: str, path: str) -> None:
        """Names, tags, terms and patterns are shown in terminals, chats and reports: an escape
        sequence, a control character or a bidi override in one is refused here, where it enters."""
        bad = _UNPRINTABLE.search(text)
        if bad:
            self.problem(path, f"holds the control or bidi character U+{ord(bad.group()):04X} "
                               "(escape sequences, control characters and bidi overrides are not allowed here)")

    def integer(self, value: Any, path: str, default: int, minimum: int = 0) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(path, f"expected a whole number >= {minimum}, got {shown(value)}")
            return default
        return value

    def duration(self, value: Any, path: str) -> int | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError:
            self.problem(path, f"expected a duration such as 30m, 2h or 3d, got {shown(value)}")
            return None

    def size(self, value: Any, path: str) -> int | None:
        if value is None:
            return None
        try:
            size = parse_size(value)
            if size <= 0:
                raise ValueError
            return size
        except ValueError:
            self.problem(path, f"expected a size such as 10MiB or 512KiB, got {shown(value)}")
            return None

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"expected true or false, got {shown(value)}")
            return default
        return value

    def clock_range(self, value: Any, path: str) -> tuple[int, int] | None:
        try:
            return parse_clock_range(value)
        except ValueError:
            self.problem(path, f"expected a time range such as 09:00-17:30, got {shown(value)}")
            return None


MAX_MESSAGE = 400


def clip_message(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}… ({len(text):,} characters)"


def shown(value: Any, limit: int = 120) -> str:
    """A value quoted for a message (its repr), cut when long."""
    return clip_message(repr(value), limit)


def kind_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
