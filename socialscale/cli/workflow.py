"""`assign`, `respond`, `close`, `ignore`, `reopen`, `note`: the response workflow.

Who does it: `--by`, else $SOCIALSCALE_USER, else the only team member, else $USER (for `respond`, the
person must be a team member). Each failed id is one line on stderr naming it; exit 1 if any failed.
"""

from __future__ import annotations

import os
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from socialscale.cli import complete
from socialscale.cli.state import AppState, JsonOption, read_ids, state

if TYPE_CHECKING:
    from socialscale.workflow import Change, Outcome

IdsArgument = Annotated[list[str], typer.Argument(metavar="ID", help="Item ids; `-` reads ids from stdin, one per line.")]
AtOption = Annotated[str | None, typer.Option("--at", help="When it happened: ISO-8601, `30m ago`, `yesterday 14:00` "
                                              "(configured timezone) [default: now].")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who does it [default: $SOCIALSCALE_USER, the only team "
                                              "member, or $USER].", autocompletion=complete.members)]
NoteOption = Annotated[str | None, typer.Option("--note", help="A note kept with the event.")]


class Via(str, Enum):
    reply = "reply"
    dm = "dm"
    email = "email"
    phone = "phone"
    meeting = "meeting"


def register(app: typer.Typer) -> None:
    for command in (assign, respond, close, ignore, reopen, note):
        app.command(command.__name__)(command)


def default_actor(st: AppState, by: str | None, *, member: bool = False) -> str:
    """`--by`, else $SOCIALSCALE_USER, else the only team member, else $USER (if `member`, only a team member)."""
    if by:
        return by
    team = st.config().team
    env = os.environ.get("SOCIALSCALE_USER")
    if env:
        return env
    if len(team) == 1:
        return next(iter(team))
    user = os.environ.get("USER") or os.environ.get("USERNAME")
    if user and (not member or user in team):
        return user
    from socialscale.errors import UsageError

    names = ", ".join(team) or "none configured"
    raise UsageError(f"--by is required: say which team member ({names}), or set SOCIALSCALE_USER")


def _times(st: AppState, at: str | None) -> tuple[datetime, datetime | None]:
    from socialscale.timeutil import now_utc, parse_at

    now = now_utc()
    return now, parse_at(at, now=now, tz=st.config().timezone) if at else None


def _finish(st: AppState, outcome: Outcome, as_json: bool) -> None:
    """Print what was done (stdout, unless --quiet), each failure as one line on stderr; exit 1 on any."""
    from socialscale.errors import ExitCode
    from socialscale.output.render import clean, err_console, write_json

    if as_json:
        write_json(outcome.to_json())
    elif not st.quiet:
        for change in outcome.done:
            print(f"{change.id}: {_describe(change, st.config().timezone)}")
    console = err_console()
    for failure in outcome.failed:
        console.print(f"error: {clean(failure.id)}: {clean(failure.error)}", markup=False, highlight=False)
    if outcome.failed:
        raise typer.Exit(int(ExitCode.PARTIAL))


def _describe(change: Change, tz: str) -> str:
    from socialscale.output.render import clean, full_time

    d = change.detail
    if not change.changed:
        kept = "; the note was added" if d.get("note_added") else ""
        if change.action == "assigned":
            return f"already owned by {clean(d['owner'])}: nothing changed{kept}"
        if change.action == "responded":
            return f"this response ({d['via']} at {full_time(d['at'], tz)}) is already recorded: nothing changed{kept}"
        return f"already {d.get('status', change.action)}: nothing changed{kept}"
    if change.action == "assigned":
        confirmed = " (was chosen by the rules; now kept when re-tagging)" if d.get("confirmed") else ""
        return f"assigned to {clean(d['owner'])}" + (f" (was {clean(d['previous'])})" if d.get("previous") else "") \
            + confirmed
    if change.action == "responded":
        kind = "first response" if d.get("first") else "later response (first response unchanged)"
        return (f"{kind} via {d['via']}" + (f", replacing {full_time(d['replaces'], tz)}" if d.get("replaces") else "")
                + ("; the item stays closed (`socialscale reopen` puts it back)" if d.get("status") == "closed" else ""))
    if change.action == "noted":
        return "note added"
    return f"{change.action} (was {d.get('previous')})"


def assign(
    ctx: typer.Context,
    ids: IdsArgument,
    to: Annotated[str, typer.Option("--to", help="The team member who will own them.", autocompletion=complete.members)],
    at: AtOption = None,
    by: ByOption = None,
    note: NoteOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set the owner of items; a person's choice survives re-tagging.

    \b
    Example:
      socialscale assign 42 --to bob
      socialscale items --lane sales_prospecting --status open --format ids |
        socialscale assign - --to bob
    """
    from socialscale import workflow

    st = state(ctx)
    now, when = _times(st, at)
    outcome = workflow.assign(st.db(), st.config(), read_ids(ids), to=to, actor=default_actor(st, by),
                              now=now, at=when, note=note)
    _finish(st, outcome, as_json)


def respond(
    ctx: typer.Context,
    ids: IdsArgument,
    at: AtOption = None,
    by: ByOption = None,
    via: Annotated[Via, typer.Option("--via", help="How: a public reply, or a handoff to dm, email, phone or meeting.")] = Via.reply,
    note: NoteOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a response; the first one sets the item's first-response time.

    \b
    Example:
      socialscale respond 42 --via dm --note "moved to DM"
      socialscale respond 42 43 --at "30m ago" --by alice
    """
    from socialscale import workflow

    st = state(ctx)
    now, when = _times(st, at)
    outcome = workflow.respond(st.db(), st.config(), read_ids(ids), by=default_actor(st, by, member=True),
                               now=now, at=when, via=via.value, note=note)
    _finish(st, outcome, as_json)


def close(ctx: typer.Context, ids: IdsArgument, at: AtOption = None, by: ByOption = None,
          note: NoteOption = None, as_json: JsonOption = False) -> None:
    """Close items: done, out of the backlog (a recorded response still counts in latency).

    \b
    Example:
      socialscale close 42 43
    """
    _status(ctx, "close", ids, at, by, note, as_json)


def ignore(ctx: typer.Context, ids: IdsArgument, at: AtOption = None, by: ByOption = None,
           note: NoteOption = None, as_json: JsonOption = False) -> None:
    """Ignore items: no answer needed; out of the backlog and out of latency.

    \b
    Example:
      socialscale ignore 42 --note "spam"
    """
    _status(ctx, "ignore", ids, at, by, note, as_json)


def reopen(ctx: typer.Context, ids: IdsArgument, at: AtOption = None, by: ByOption = None,
           note: NoteOption = None, as_json: JsonOption = False) -> None:
    """Reopen items: back into the backlog (their first response, if any, is kept).

    \b
    Example:
      socialscale reopen 42
    """
    _status(ctx, "reopen", ids, at, by, note, as_json)


def _status(ctx: typer.Context, action: str, ids: list[str], at: str | None, by: str | None, note: str | None,
            as_json: bool) -> None:
    from socialscale import workflow

    st = state(ctx)
    now, when = _times(st, at)
    outcome = getattr(workflow, action)(st.db(), st.config(), read_ids(ids), actor=default_actor(st, by),
                                        now=now, at=when, note=note)
    _finish(st, outcome, as_json)


def note(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(metavar="ID", help="The item's id.")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The note.")],
    at: AtOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a note to an item's history (see `socialscale show ID`).

    \b
    Example:
      socialscale note 42 "called them back, waiting for the order number"
    """
    from socialscale import workflow

    st = state(ctx)
    now, when = _times(st, at)
    outcome = workflow.note(st.db(), st.config(), item_id, text, actor=default_actor(st, by), now=now, at=when)
    _finish(st, outcome, as_json)
