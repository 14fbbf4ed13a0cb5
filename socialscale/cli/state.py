"""What every command shares: the global options, the config and database they name, output flags."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from socialscale.models import Config
    from socialscale.session import Session
    from socialscale.store.database import Database


class Format(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    ids = "ids"


# The one definition of the output flags (sqlite-utils' output_options, as typer annotations).
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
ListFormatOption = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format; `ids` prints one id per line.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
NowOption = Annotated[str | None, typer.Option("--now", help="Report as of this time (ISO-8601), for reproducible output.")]


def item_id(value: str) -> int:
    """An item id argument: a whole number an item can have, else a usage error (exit 2)."""
    from socialscale.workflow import MAX_ITEM_ID

    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_ITEM_ID:
        raise typer.BadParameter(f"{value!r} is not an item id (expected a number from 1 to {MAX_ITEM_ID}, "
                                 "see `socialscale items`)")
    return int(text)


ItemIdArgument = Annotated[int, typer.Argument(metavar="ID", parser=item_id, help="The item's id (see `socialscale items`).")]


def output_format(fmt: Enum, as_json: bool) -> str:
    return "json" if as_json else str(fmt.value)


@dataclass
class AppState:
    """Global options, and the session (config and database) they name, opened lazily and once."""

    config_path: str | None = None
    db_path: str | None = None
    quiet: bool = False
    verbose: bool = False
    _session: Session | None = field(default=None, repr=False)

    def session(self) -> Session:
        if self._session is None:
            import socialscale

            self._session = socialscale.open(self.config_path, self.db_path)
        return self._session

    def config(self) -> Config:
        return self.session().config

    def db(self) -> Database:
        return self.session().db

    def loaded_config(self) -> Config | None:
        """The config if it was read (error messages name its database), else None."""
        return self._session.config if self._session is not None else None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def read_ids(ids: list[str]) -> list[str]:
    """`ID...` arguments, with `-` meaning: read more ids from stdin, one per line."""
    out: list[str] = []
    for value in ids:
        if value == "-":
            out.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            out.append(value)
    return out


def resolve_now(st: AppState, text: str | None) -> datetime:
    """`--now` as an instant (in the configured timezone when it has no offset); the clock when not given."""
    from socialscale.timeutil import now_utc, parse_at

    now = now_utc()
    return parse_at(text, now=now, tz=st.config().timezone, what="--now") if text else now


def filters(st: AppState, lane: str | None, owner: str | None, source: str | None) -> dict[str, str | None]:
    """The filters, refusing a name that is neither configured nor on any item (most likely a typo)."""
    from socialscale.errors import UsageError, unknown
    from socialscale.store.reports import known_value

    config = st.config()
    known = {"lane": list(config.lanes), "owner": list(config.team), "source": [s.name for s in config.sources]}
    given = {"lane": lane, "owner": owner, "source": source}
    for key, value in given.items():
        if value is None or value in known[key] or known_value(st.db(), key, value):
            continue
        raise UsageError(unknown(key, value, known[key], option=f"--{key}", label=f"{key}s"))
    return given
