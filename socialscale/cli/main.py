"""The `socialscale` app: global options, error handling, and the command modules it registers."""

from __future__ import annotations

import functools
import importlib
import re
import sys
from typing import TYPE_CHECKING, Annotated, Any, TypeGuard

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from socialscale import __version__
from socialscale.cli.lazy import Lazy, LazyCommands, LazyGroup
from socialscale.cli.state import AppState, state
from socialscale.errors import ConfigError, ExitCode, SocialscaleError

if TYPE_CHECKING:
    import sqlite3


class SocialscaleGroup(TyperGroup):
    """Turns a SocialscaleError into one line on stderr and its exit code (httpie's raw_main).

    Done here rather than in `run()` so the CliRunner sees exactly what a user sees. It also lets
    the global options follow the command (`socialscale pull --quiet`, as cron lines are written).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            _whole_summaries(command)
        self.commands = LazyCommands(COMMANDS, _build, loaded=self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names only: typer's own version builds every command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the table's summaries: `--help` builds no command."""
        commands = self.commands
        if not isinstance(commands, LazyCommands):  # pragma: no cover - set in __init__
            return super().format_commands(ctx, formatter)
        rows = [(name, commands.summary(name)) for name in self.list_commands(ctx)
                if not (commands.is_built(name) and commands[name].hidden)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
        return None

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        return super().main(hoist_global_options(self, argv), *rest, **kwargs)

    def invoke(self, ctx: Any) -> Any:  # typer.Context at run time; typed Any to match click's own Context
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader that went away (`| head -2`) shows up here, not at exit
            return result
        except BrokenPipeError:
            _stdout_gone()
            raise typer.Exit(int(ExitCode.OK)) from None
        except (Exit, Abort, TyperException):
            _flush_or_forget()
            raise
        except SocialscaleError as exc:
            _report(exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _err("interrupted; what was already stored is kept")
            raise typer.Exit(130) from None
        except Exception as exc:
            if isinstance(ctx.obj, AppState) and ctx.obj.verbose:
                raise
            if _is_sqlite_error(exc):  # damaged pages show up on first read, not on open
                from socialscale.store.db import describe

                config = ctx.obj.loaded_config() if isinstance(ctx.obj, AppState) else None
                _err(describe(exc, getattr(config, "database", None) or getattr(ctx.obj, "db_path", None),
                              "database error"))
                raise typer.Exit(int(ExitCode.PARTIAL)) from None
            if type(exc).__module__.startswith("psycopg"):  # a PostgreSQL failure mid-command (psycopg.Error)
                from socialscale.store.postgres import describe as describe_pg

                config = ctx.obj.loaded_config() if isinstance(ctx.obj, AppState) else None
                _err(describe_pg(exc, str(getattr(config, "database", "") or "") or None, "database error"))
                raise typer.Exit(int(ExitCode.PARTIAL)) from None
            _err(f"unexpected error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)")
            raise typer.Exit(int(ExitCode.PARTIAL)) from None
        finally:
            if isinstance(ctx.obj, AppState):
                ctx.obj.close()


def _is_sqlite_error(exc: BaseException) -> TypeGuard[sqlite3.DatabaseError]:
    """Whether `exc` is SQLite's: looked up rather than imported, so `--help` does not load sqlite3 (and
    datetime); a command that never imported it cannot have raised it."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(exc, sqlite3.DatabaseError)


def _whole_summaries(command: Any) -> None:
    """Give `command` (and every command below it) its docstring's first paragraph as the summary in
    command lists: click would cut it at 45 characters, mid-sentence."""
    if not command.short_help and command.help:
        first = command.help.split("\n\n", 1)[0]
        command.short_help = " ".join(first.replace("\b", " ").split())
    subcommands = getattr(command, "commands", {})
    if isinstance(subcommands, LazyCommands):
        return  # each is given its summary as it is built
    for sub in subcommands.values():
        _whole_summaries(sub)


# The root's options that take a value; the flags are --quiet/-q and --verbose/-v.
GLOBAL_VALUE_OPTIONS = ("--config", "-c", "--db")
GLOBAL_FLAGS = ("--quiet", "-q", "--verbose", "-v")


def hoist_global_options(root: Any, args: list[str]) -> list[str]:
    """`args` with the global options found after the command moved in front of it.

    `socialscale pull --quiet` becomes `socialscale --quiet pull`. An option the command defines
    itself (`demo --db`) stays with it, values of the command's own options (`--note -q`) are left
    alone, and nothing after `--` moves.
    """
    i, command = _command_path(root, args)
    if command is root:
        return args
    own: dict[str, bool] = {}  # option name -> takes a value
    for param in getattr(command, "params", ()):
        takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
        for name in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())):
            own[name] = takes_value
    own_short = {name[1] for name in own if len(name) == 2}
    head, tail, moved = args[:i], list[str](), list[str]()
    j = i
    while j < len(args):
        token = args[j]
        name = token.split("=", 1)[0] if token.startswith("--") else token
        if token == "--":
            tail.extend(args[j:])
            break
        if re.fullmatch(r"-[qv]{2,}", token) and not set(token[1:]) & own_short:
            moved.append(token)  # -q and -v together, as -qv
        elif name in own or name in GLOBAL_FLAGS or name in GLOBAL_VALUE_OPTIONS:
            # The command's own options stay; a global one moves, with its value.
            into = tail if name in own else moved
            into.append(token)
            takes_value = own[name] if name in own else name in GLOBAL_VALUE_OPTIONS
            if takes_value and "=" not in token and j + 1 < len(args):
                into.append(args[j + 1])
                j += 1
        else:
            tail.append(token)
        j += 1
    return moved + head + tail


def _command_path(root: Any, args: list[str]) -> tuple[int, Any]:
    """Where the command's own arguments start, and the (leaf) command; the root when there is none
    (or `--` comes first)."""
    i, command = 0, root
    while i < len(args):  # the root's own options, then the command path down to the leaf
        token = args[i]
        if token == "--":
            return i, root
        if token.startswith("-"):
            i += 2 if token in GLOBAL_VALUE_OPTIONS and command is root else 1
            continue
        sub = getattr(command, "commands", {}).get(token)
        if sub is None:
            break
        command, i = sub, i + 1
        if not getattr(command, "commands", None):
            break
    return i, command


def _stdout_gone() -> None:
    """The reader closed the pipe: it has what it wanted. Point stdout at /dev/null so that nothing
    (the interpreter's last flush included) complains about it."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stdout)
        pass


def _flush_or_forget() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_gone()
    except (OSError, ValueError):
        pass


def _err(message: str) -> None:
    from rich.markup import escape

    from socialscale.output.render import clean, err_console

    # escape(): a message may quote a config key or a server's words, and a stray "[/]" would make rich raise.
    err_console().print(f"[red]error:[/red] {escape(clean(message, single_line=False))}", markup=True,
                        highlight=False)


def _report(exc: SocialscaleError) -> None:
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            _err(problem)
    else:
        _err(str(exc))


app = typer.Typer(
    cls=SocialscaleGroup,
    help="Social listening from the command line: pull feeds and APIs into SQLite, sort them into lanes, "
    "track responses and report backlog and response times.\n\nStart with `socialscale demo`. Global options "
    "go before or after the command (`socialscale pull --quiet`)."
    "\n\n\b\nExample:\n  socialscale demo\n  socialscale init\n  socialscale check\n  socialscale pull\n"
    "  socialscale items --status open\n  socialscale report backlog --fail-on-breach",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"socialscale {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[str | None, typer.Option("--config", "-c", envvar="SOCIALSCALE_CONFIG",
                                               help="Config file [default: ./socialscale.yaml, then the user config dir].")] = None,
    db: Annotated[str | None, typer.Option("--db", envvar="SOCIALSCALE_DB",
                                           help="Database file; overrides `database:` in the config.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (for cron).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail, and tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Global options apply to every command, and may also follow it (`socialscale pull --quiet`)."""
    st = state(ctx)
    st.config_path, st.db_path, st.quiet, st.verbose = config, db, quiet, verbose
    # (httpx's URL-logging is quieted where httpx is imported, socialscale/fetch.py: a report loads neither.)
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# The root's commands in the order of `socialscale --help`: getting started, pulling, reading, the
# workflow, the rules, reports, alerts and open data (typer lists plain commands before groups).
# Each names the cli module whose register(app) adds it, and the summary --help shows, which is the
# first paragraph of the command's help (tests/test_startup.py keeps the two equal). A command's
# module is imported when the command is used, so --version and --help import none of them.
COMMANDS = (
    Lazy("demo", "setup", "Run the whole job offline on bundled sample feeds served from 127.0.0.1."),
    Lazy("init", "setup", "Write a starter socialscale.yaml (never overwrites one) and create the database."),
    Lazy("check", "setup", "Validate the config: exit 0 if it is fine, 2 with every problem listed."),
    Lazy("pull", "pull", "Fetch all (or the named) sources concurrently, store new and changed items, tag them."),
    Lazy("sources", "pull", "Each source's health: last success, last error, consecutive failures, items stored."),
    Lazy("items", "items", "List and search stored items, newest first."),
    Lazy("show", "items", "Show one item with its whole event history, and its conversation as a tree."),
    Lazy("assign", "workflow", "Set the owner of items; a person's choice survives re-tagging."),
    Lazy("respond", "workflow", "Record a response; the first one sets the item's first-response time."),
    Lazy("close", "workflow", "Close items: done, out of the backlog (a recorded response still counts in latency)."),
    Lazy("ignore", "workflow", "Ignore items: no answer needed; out of the backlog and out of latency."),
    Lazy("reopen", "workflow", "Reopen items: back into the backlog (their first response, if any, is kept)."),
    Lazy("note", "workflow", "Add a note to an item's history (see `socialscale show ID`)."),
    Lazy("tag", "rules", "Re-apply the rules to stored items after the rules changed."),
    Lazy("why", "rules", "Explain why a stored item is in its lane: matched rules and text, the winner, the owner, "
                         "near misses."),
    Lazy("notify", "notify", "Send breach alerts (and with --digest the daily summary) to the configured notify "
                             "targets."),
    Lazy("datasette", "datasette", "Print a Datasette metadata.json for the database: table and column "
                                   "descriptions, canned queries."),
    Lazy("rules", "rules", "Check the keyword rules: what a text would match, and what each rule caught lately."),
    Lazy("report", "report", "Backlog, response latency, conversations, SLA breaches, volume, the daily summary "
                             "and an HTML report."),
    Lazy("db", "db", "Move the database: copy it into another one, SQLite or PostgreSQL."),
)


@functools.cache
def _build(module_name: str) -> dict[str, Any]:
    """Every command `socialscale.cli.<module_name>` registers, built as the root would build it.

    Built once per process: register() adds to the module's own sub-apps, so a second call would
    add its commands twice.
    """
    module = importlib.import_module(f"socialscale.cli.{module_name}")
    holder = typer.Typer(rich_markup_mode=app.rich_markup_mode, pretty_exceptions_short=app.pretty_exceptions_short,
                         suggest_commands=app.suggest_commands)
    module.register(holder)
    # A LazyGroup's subcommands are left out of typer's build, and built one by one on first look-up.
    deferred: dict[str, list[Any]] = {}
    for info in holder.registered_groups:
        sub = info.typer_instance
        if info.name and sub is not None and isinstance(sub.info.cls, type) and issubclass(sub.info.cls, LazyGroup):
            deferred[info.name], sub.registered_commands = sub.registered_commands, []
    commands = dict(typer.main.get_group(holder).commands)
    for name, infos in deferred.items():
        group = commands[name]
        assert isinstance(group, LazyGroup)
        group.commands = _lazy_subcommands(infos)
    for command in commands.values():
        _whole_summaries(command)
    return commands


def _lazy_subcommands(infos: list[Any]) -> LazyCommands:
    """A LazyGroup's commands (typer CommandInfo, in registration order), each built when first looked up."""
    by_name = {info.name or typer.main.get_command_name(info.callback.__name__): info for info in infos}

    def build(name: str) -> dict[str, Any]:
        command = typer.main.get_command_from_info(by_name[name], pretty_exceptions_short=app.pretty_exceptions_short,
                                                   rich_markup_mode=app.rich_markup_mode)
        _whole_summaries(command)
        return {name: command}

    return LazyCommands([Lazy(name, name, "") for name in by_name], build)


def run() -> None:
    """Console-script entry point."""
    app(prog_name="socialscale")
