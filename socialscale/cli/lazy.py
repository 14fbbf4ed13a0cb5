"""Commands built when they are used, so a command imports only what it needs.

`socialscale --version` and `--help` import no command module (no rich, httpx, feedparser, psycopg,
no rule matcher), and `socialscale report backlog` imports the report commands and nothing of
`pull`. The root group's command table is a `LazyCommands`: it knows each command's name, the
`socialscale.cli` module whose `register(app)` adds it, and the summary `--help` lists; the module
is imported, and its commands built, the first time one of its names is looked up. A group of
subcommands made with `cls=LazyGroup` (`report`) builds each subcommand the same way, on first
look-up: typer turns a function into a command by inspecting every parameter, and building the
nine report commands to run one of them cost ~20 ms of each report's start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, NamedTuple

from typer.core import TyperGroup


class Lazy(NamedTuple):
    """One command of a group, as the group knows it before it is built."""

    name: str
    module: str  # what build() takes: for the root, the socialscale.cli module whose register(app) adds it
    summary: str  # the first paragraph of the command's own help (a test keeps the two equal)


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands by name, in `--help` order; a command is built on first look-up.

    `build(module)` returns every command a module registers (its siblings come along: building a
    module twice would register its commands twice). Looking a name up that no entry has raises
    KeyError, as the dict click keeps would, so `get_command` and command suggestions work as they
    did. Commands added later (`add_command`) are kept after the table's.
    """

    def __init__(self, entries: Sequence[Lazy], build: Callable[[str], Mapping[str, Any]],
                 loaded: Mapping[str, Any] | None = None) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._build = build
        self._loaded: dict[str, Any] = dict(loaded or {})

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            entry = self._entries[name]
            built = self._build(entry.module)
            if name not in built:
                raise LookupError(f"socialscale.cli.{entry.module} registers no command {name!r}")
            self._loaded.update((key, command) for key, command in built.items() if key in self._entries)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from (name for name in self._loaded if name not in self._entries)

    def __len__(self) -> int:
        return len(self._entries) + sum(1 for name in self._loaded if name not in self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._loaded

    def summary(self, name: str) -> str:
        """What `--help` lists for `name`, without building it when it is not built yet."""
        if name in self._loaded:
            return str(self._loaded[name].get_short_help_str())
        return self._entries[name].summary

    def is_built(self, name: str) -> bool:
        return name in self._loaded


class LazyGroup(TyperGroup):
    """A typer group whose subcommands are built on first look-up: cli.main._build gives it a
    LazyCommands of them. Its listing reads their names only (typer's own reads `.items()`, which
    would build every one)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)
