"""Load `socialscale.yaml` with a safe YAML loader and validate it into typed objects.

Every problem is collected before anything is raised, so a user fixes the file in one go;
each names the file, the key path (`sources[2].url`) and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from socialscale import sources as source_kinds
from socialscale.configcheck import (  # noqa: F401 - parse_size is part of this module's API
    Checker,
    join_path,
    kind_name,
    parse_clock_range,
    parse_size,
    shown,
)
from socialscale.dburl import has_password, is_url
from socialscale.errors import ConfigError, unknown
from socialscale.models import (
    DEFAULT_LANES,
    RULE_FIELDS,
    SENTIMENT_LABELS,
    Brand,
    BusinessHours,
    Config,
    FetchSettings,
    Lane,
    Member,
    NotifyTarget,
    Rule,
    Source,
)
from socialscale.rules.text import term_problem
from socialscale.text import http_url_problem

CONFIG_NAME = "socialscale.yaml"
TOP_KEYS = ("database", "timezone", "default_lane", "fetch", "business_hours", "team", "lanes",
            "sources", "rules", "notify", "brands")
FETCH_KEYS = ("concurrency", "per_host", "timeout", "connect_timeout", "read_timeout", "max_bytes",
              "retries", "max_retry_after", "parse_timeout", "parse_memory", "pull_timeout", "allow_private")
SOURCE_COMMON_KEYS = ("name", "type", "url", "every", "timeout", "max_bytes", "keep")
RULE_KEYS = ("name", "lane", "any", "all", "none", "regex", "fields", "sources", "tags", "owner", "sentiment")
BRAND_KEYS = ("terms", "none", "ours", "fields")
LANE_KEYS = ("sla", "owner", "respond")
MEMBER_KEYS = ("handles",)
BH_KEYS = ("days", "start", "end", "hours", "per_day", "holidays")
HOLIDAY_KEYS = ("country", "subdivision", "dates")
NOTIFY_KEYS = ("name", "url_env", "on", "lanes", "owners", "quiet_hours", "min_priority")
NOTIFY_EVENTS = ("new", "breach", "digest")  # the default subscription
NOTIFY_ALL_EVENTS = (*NOTIFY_EVENTS, "spike")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_LANE_SETTINGS = {"listening": {"respond": False}}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "socialscale" / CONFIG_NAME


def find_config(explicit: str | Path | None) -> Path | None:
    """The config file to use: --config/SOCIALSCALE_CONFIG, else ./socialscale.yaml, else the user dir."""
    if explicit:
        return Path(explicit)
    for candidate in (Path.cwd() / CONFIG_NAME, user_config_path()):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None, db_override: str | Path | None = None) -> Config:
    """Read and validate the config at `path` (None: built-in defaults, no sources)."""
    if path is None:
        data: Any = {}
        file = "(no config file)"
        base = Path.cwd()
    else:
        file = str(path)
        base = path.parent
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{file}: no such file (run `socialscale init` to write one)"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{file}: cannot read ({exc})"]) from None
        try:
            data = parse_yaml(raw)
        except RecursionError:
            raise ConfigError([f"{file}: invalid YAML (nested too deeply)"]) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError([f"{file}: {where}invalid YAML ({reason})"]) from None
        try:
            expanded = _expanded_size(data, {})
        except RecursionError:  # libyaml reads up to 1,000 levels, more than a walk in Python may go
            raise ConfigError([f"{file}: invalid YAML (nested too deeply)"]) from None
        if expanded > MAX_EXPANDED_NODES:
            raise ConfigError([f"{file}: YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                               "(an alias bomb?); refused"])
    return validate(data, file=file, base=base, db_override=db_override, path=path)


MAX_EXPANDED_NODES = 1_000_000


class _KeysAreNames(yaml.constructor.SafeConstructor):
    """A mapping key is never a boolean.

    YAML 1.1 reads a bare `on`, `off`, `yes`, `no`, `y`, `n`, `true`, `false` as booleans, so the
    documented `on: [new, breach]` came out as `{True: [...]}`. A key in this file is always a name;
    values keep the usual reading (`respond: no` is still false).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:bool":
                key_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep=deep)


class ConfigLoader(_KeysAreNames, yaml.SafeLoader):
    """yaml.SafeLoader, except that a mapping key is never a boolean (see `_KeysAreNames`)."""


try:
    from yaml import CSafeLoader as _LibyamlSafeLoader
except ImportError:  # PyYAML built without libyaml: its pure loader does it all
    _LibyamlSafeLoader = yaml.SafeLoader  # type: ignore[assignment, misc]


class FastConfigLoader(_KeysAreNames, _LibyamlSafeLoader):
    """ConfigLoader on libyaml's parser. PyYAML's own parser is pure Python: about 3 CPU-s for a
    config of a thousand sources. The constructors are the same Python classes (safe tags only, keys
    as names), so the data is the same."""


def parse_yaml(raw: str) -> Any:
    """`raw` read by ConfigLoader's rules, on libyaml's parser when it is there.

    When libyaml refuses the text, the pure loader reads it again, so a broken file is reported as
    it always was (PyYAML's wording, line and column; its "nested too deeply"), and a text only the
    pure parser accepts still loads.
    """
    try:
        return yaml.load(raw, Loader=FastConfigLoader)  # noqa: S506 - a CSafeLoader subclass
    except (yaml.YAMLError, RecursionError):
        return yaml.load(raw, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def _expanded_size(value: Any, memo: dict[int, int]) -> int:
    """How many values `value` holds once YAML aliases are expanded (as repr() or a walk would).

    safe_load shares aliased nodes, so the parsed object is small, but nine nested aliases of nine
    make anything that walks it (an error message's repr) take 9**9 steps. Memoised per node.
    """
    if not isinstance(value, (dict, list)):
        return 1
    key = id(value)
    if key not in memo:
        memo[key] = MAX_EXPANDED_NODES + 1  # a self-referencing alias counts as too big
        children = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        total = 1
        for k, v in children:
            total += _expanded_size(k, memo) + _expanded_size(v, memo)
            if total > MAX_EXPANDED_NODES:
                break
        memo[key] = total
    return memo[key]


def validate(data: Any, *, file: str, base: Path, db_override: str | Path | None = None,
             path: Path | None = None) -> Config:
    """Convert parsed YAML into a Config, raising ConfigError with every problem found."""
    c = Checker(file)
    if data is None:
        data = {}
    top = c.mapping(data, "", TOP_KEYS)
    if not isinstance(data, dict):
        raise ConfigError(c.problems)

    db_path = _database(c, c.string(top.get("database"), "database"), base, db_override)

    tz = c.string(top.get("timezone"), "timezone") or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tz directory such as "America"
        c.problem("timezone", f"unknown time zone {tz!r} (expected a name such as Europe/London)")
        tz = "UTC"

    fetch = _fetch(c, top.get("fetch"))
    team = _team(c, top.get("team"))
    lanes = _lanes(c, top.get("lanes"), team)
    default_lane = c.string(top.get("default_lane"), "default_lane") or "listening"
    if default_lane not in lanes:
        c.problem("default_lane", f"unknown lane {default_lane!r} (lanes: {', '.join(lanes)})")
    business_hours = _business_hours(c, top.get("business_hours"))
    sources = _sources(c, top.get("sources"))
    _handle_kinds(c, team, sources)
    rules = _rules(c, top.get("rules"), lanes, team, {s.name for s in sources})
    notify = _notify(c, top.get("notify"), lanes, team)
    brands = _brands(c, top.get("brands"))
    if c.problems:
        raise ConfigError(c.problems)
    return Config(path=path, database=db_path, timezone=tz, default_lane=default_lane, fetch=fetch,
                  business_hours=business_hours, team=team, lanes=lanes, sources=sources, rules=rules,
                  notify=notify, brands=brands)


def _database(c: Checker, value: str | None, base: Path, override: str | Path | None) -> Path | str:
    """An SQLite file (relative to the config file) or a `postgresql://` URL, which may not hold a password."""
    raw, key = (str(override), "--db / SOCIALSCALE_DB") if override else (value or "socialscale.db", "database")
    if is_url(raw):
        if has_password(raw):  # the message never repeats the URL: it holds the password
            c.problem(key, "a password in the database URL is refused (it would be stored in the file or seen "
                           "in process lists); give it in PGPASSWORD or ~/.pgpass instead")
        return raw
    return Path(raw) if override else base / Path(raw).expanduser()


def _fetch(c: Checker, value: Any) -> FetchSettings:
    d = c.mapping(value, "fetch", FETCH_KEYS)
    defaults = FetchSettings()
    return FetchSettings(
        concurrency=c.integer(d.get("concurrency"), "fetch.concurrency", defaults.concurrency, 1),
        per_host=c.integer(d.get("per_host"), "fetch.per_host", defaults.per_host, 1),
        timeout_s=float(c.duration(d.get("timeout"), "fetch.timeout") or defaults.timeout_s),
        connect_timeout_s=float(c.duration(d.get("connect_timeout"), "fetch.connect_timeout")
                                or defaults.connect_timeout_s),
        read_timeout_s=float(c.duration(d.get("read_timeout"), "fetch.read_timeout") or defaults.read_timeout_s),
        max_bytes=c.size(d.get("max_bytes"), "fetch.max_bytes") or defaults.max_bytes,
        retries=c.integer(d.get("retries"), "fetch.retries", defaults.retries, 0),
        max_retry_after_s=float(c.duration(d.get("max_retry_after"), "fetch.max_retry_after")
                                or defaults.max_retry_after_s),
        parse_timeout_s=float(c.duration(d.get("parse_timeout"), "fetch.parse_timeout") or defaults.parse_timeout_s),
        parse_memory=c.size(d.get("parse_memory"), "fetch.parse_memory") or defaults.parse_memory,
        pull_timeout_s=float(c.duration(d.get("pull_timeout"), "fetch.pull_timeout") or defaults.pull_timeout_s),
        allow_private=_allow_private(c, d.get("allow_private")),
    )


def _allow_private(c: Checker, value: Any) -> bool | tuple[str, ...]:
    """`true`, `false`, or the hosts and networks redirects may reach inside the network."""
    if value is None or isinstance(value, bool):
        return bool(value)
    entries = c.strings(value, "fetch.allow_private")
    for i, entry in enumerate(entries):
        if not re.match(r"^[A-Za-z0-9.:\-\[\]/]+$", entry):
            c.problem(f"fetch.allow_private[{i}]", f"expected a host name, an address or a network such as "
                                                    f"10.0.0.0/8, got {entry!r}")
    return entries


def _team(c: Checker, value: Any) -> dict[str, Member]:
    team: dict[str, Member] = {}
    for name, path, d in c.named(value, "team", "member", MEMBER_KEYS, _NAME):
        handles = c.strings(d.get("handles"), f"{path}.handles")
        for i, handle in enumerate(handles):
            if not (handle.startswith("@") or ":" in handle):
                c.problem(f"{path}.handles[{i}]", f"expected kind:name (reddit:acme_bob) or @name@host, got {handle!r}")
        team[name] = Member(name=name, handles=handles)
    return team


def _handle_kinds(c: Checker, team: dict[str, Member], sources: tuple[Source, ...]) -> None:
    """A `kind:name` handle must name a source type or a configured source: a typo there would make
    reply tracking miss the member's replies without a word."""
    names = {s.name.lower(): s.name for s in sources}
    kinds: dict[str, str] = {}  # read from the installed entry points only when a handle needs it
    for member in team.values():
        for i, handle in enumerate(member.handles):
            if handle.startswith("@") or ":" not in handle:
                continue
            kind = handle.partition(":")[0].strip()
            kinds = kinds or {k.lower(): k for k in source_kinds.KINDS}
            if kind.lower() not in names and kind.lower() not in kinds:
                c.problem(f"team.{member.name}.handles[{i}]",
                          unknown("source or source type", kind, [*kinds.values(), *names.values()]))


def _lanes(c: Checker, value: Any, team: dict[str, Member]) -> dict[str, Lane]:
    if value is None:
        value = {name: DEFAULT_LANE_SETTINGS.get(name, {}) for name in DEFAULT_LANES}
    if not isinstance(value, dict):
        c.problem("lanes", f"expected a mapping of lane names, got {kind_name(value)}")
        return {name: Lane(name) for name in DEFAULT_LANES}
    lanes: dict[str, Lane] = {}
    for name, spec in value.items():
        path = f"lanes.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            c.problem(path, "a lane name is letters, digits, '-', '_' or '.'")
            continue
        d = c.mapping(spec, path, LANE_KEYS)
        owner = c.string(d.get("owner"), f"{path}.owner")
        if owner is not None and owner not in team:
            c.problem(f"{path}.owner", unknown("team member", owner, team))
        lanes[name] = Lane(name=name, sla_s=c.duration(d.get("sla"), f"{path}.sla"), owner=owner,
                           respond=c.boolean(d.get("respond"), f"{path}.respond", True))
    return lanes


def _business_hours(c: Checker, value: Any) -> BusinessHours:
    d = c.mapping(value, "business_hours", BH_KEYS)
    blocks = _hour_blocks(c, d)
    week: dict[int, tuple[tuple[int, int], ...]] = {n: tuple(sorted(blocks)) for n in _weekdays(c, d)}
    per_day = c.mapping(d.get("per_day"), "business_hours.per_day", WEEKDAYS)
    for day, ranges in per_day.items():
        if day not in WEEKDAYS:
            continue
        parsed_blocks = []
        for i, block in enumerate(c.strings(ranges, f"business_hours.per_day.{day}")):
            parsed = c.clock_range(block, f"business_hours.per_day.{day}[{i}]")
            if parsed:
                parsed_blocks.append(parsed)
        week[WEEKDAYS.index(day)] = tuple(sorted(parsed_blocks))
    dates, country, subdivision = _holidays(c, d)
    return BusinessHours(blocks=week, holidays=dates, holiday_country=country, holiday_subdivision=subdivision)


def _weekdays(c: Checker, d: dict[str, Any]) -> list[int]:
    days = c.strings(d.get("days"), "business_hours.days") or WEEKDAYS[:5]
    day_numbers = []
    for i, day in enumerate(days):
        if day.lower()[:3] not in WEEKDAYS:
            c.problem(f"business_hours.days[{i}]", f"expected a weekday (mon..sun), got {day!r}")
        else:
            day_numbers.append(WEEKDAYS.index(day.lower()[:3]))
    return day_numbers


def _hour_blocks(c: Checker, d: dict[str, Any]) -> list[tuple[int, int]]:
    blocks: list[tuple[int, int]] = []
    if d.get("hours") is not None:
        for i, block in enumerate(c.strings(d.get("hours"), "business_hours.hours")):
            parsed = c.clock_range(block, f"business_hours.hours[{i}]")
            if parsed:
                blocks.append(parsed)
    else:
        start, end = d.get("start", "09:00"), d.get("end", "17:30")
        parsed = c.clock_range(f"{start}-{end}", "business_hours.start/end")
        if parsed:
            blocks.append(parsed)
    for i, (a, b) in enumerate(blocks):
        if b <= a:
            c.problem(f"business_hours.hours[{i}]", "a block must end after it starts")
    return blocks


def _holidays(c: Checker, d: dict[str, Any]) -> tuple[frozenset[str], str | None, str | None]:
    """The explicit holiday dates, and the country and subdivision whose public holidays count too."""
    holidays = set()
    raw_holidays = d.get("holidays") or []
    dates_path = "business_hours.holidays"
    country = subdivision = None
    if isinstance(raw_holidays, dict):  # {country: GB, subdivision: ENG, dates: [...]}
        calendar = c.mapping(raw_holidays, "business_hours.holidays", HOLIDAY_KEYS)
        country, subdivision = _holiday_region(c, calendar)
        raw_holidays = calendar.get("dates") or []
        dates_path = "business_hours.holidays.dates"
    if not isinstance(raw_holidays, list):
        c.problem(dates_path, f"expected a list of dates or {{country: GB, subdivision: ENG, dates: [...]}}, "
                              f"got {kind_name(raw_holidays)}")
        raw_holidays = []
    for i, day in enumerate(raw_holidays):
        text = str(day)
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            c.problem(f"{dates_path}[{i}]", f"expected a date YYYY-MM-DD, got {day!r}")
        holidays.add(text)
    return frozenset(holidays), country, subdivision


def _holiday_region(c: Checker, calendar: dict[str, Any]) -> tuple[str | None, str | None]:
    """`country` and `subdivision` checked against what the `holidays` package knows."""
    from socialscale.timeutil import holiday_regions

    country = c.string(calendar.get("country"), "business_hours.holidays.country", required=True)
    subdivision = c.string(calendar.get("subdivision"), "business_hours.holidays.subdivision")
    if country is None:
        return None, None
    regions = holiday_regions()
    if country.upper() not in regions:
        c.problem("business_hours.holidays.country",
                  f"{unknown('country', country, sorted(regions)).split(' (')[0]} (expected an ISO 3166 code "
                  "the holidays package knows, such as GB, US, DE or FR)")
        return None, None
    country = country.upper()
    if subdivision is not None:
        known = regions[country]
        match = next((s for s in known if s.upper() == subdivision.upper()), None)
        if match is None:
            c.problem("business_hours.holidays.subdivision",
                      f"unknown subdivision {subdivision!r} of {country} (known: {', '.join(known) or 'none'})")
            return country, None
        subdivision = match
    return country, subdivision


def _sources(c: Checker, value: Any) -> tuple[Source, ...]:
    out: list[Source] = []
    seen: set[str] = set()
    for i, path, spec in c.entries(value, "sources", "sources", "name, type and url"):
        kind = spec.get("type", "feed")
        adapter = source_kinds.KINDS.get(kind) if isinstance(kind, str) else None
        if adapter is None:
            c.problem(f"{path}.type", unknown("source type", str(kind), source_kinds.KINDS))
            option_keys: tuple[str, ...] = tuple(k for k in spec if k not in SOURCE_COMMON_KEYS)
        else:
            option_keys = adapter.OPTION_KEYS
        d = c.mapping(spec, path, SOURCE_COMMON_KEYS + option_keys)
        name = c.string(d.get("name"), f"{path}.name", required=True)
        if name is not None:
            if not _NAME.match(name):
                c.problem(f"{path}.name", f"a source name is letters, digits, '-', '_' or '.', got {name!r}")
            elif name in seen:
                c.problem(f"{path}.name", f"duplicate source name {name!r}")
            seen.add(name)
        url = c.string(d.get("url"), f"{path}.url")
        if url is not None and (why := http_url_problem(url)):
            c.problem(f"{path}.url", f"{why}, got {shown(url)}")
        options = {k: v for k, v in d.items() if k not in SOURCE_COMMON_KEYS}
        if adapter is not None:
            for key, message in adapter.validate(url, options):
                c.problem(join_path(path, key), message)
        out.append(Source(name=name or f"source-{i}", type=str(kind), url=url,
                          every_s=c.duration(d.get("every"), f"{path}.every"),
                          timeout_s=c.duration(d.get("timeout"), f"{path}.timeout"),
                          max_bytes=c.size(d.get("max_bytes"), f"{path}.max_bytes"),
                          keep=_keep_terms(c, d.get("keep"), f"{path}.keep"), options=options))
    return tuple(out)


def _keep_terms(c: Checker, value: Any, path: str) -> tuple[str, ...]:
    """`keep:` terms, checked like a rule's `any` terms (the same matching decides)."""
    if isinstance(value, list) and not value:
        c.problem(path, "an empty list would keep nothing; remove `keep` to store every item")
        return ()
    terms = c.strings(value, path)
    for j, term in enumerate(terms):
        if not term.strip(" *"):
            c.problem(f"{path}[{j}]", "an empty term matches nothing")
        elif (why := term_problem(term)) is not None:
            c.problem(f"{path}[{j}]", why)
    return terms


def _rules(c: Checker, value: Any, lanes: dict[str, Lane], team: dict[str, Member],
           source_names: set[str]) -> tuple[Rule, ...]:
    out: list[Rule] = []
    names: set[str] = set()
    for i, path, spec in c.entries(value, "rules", "rules", "name, lane and terms"):
        d = c.mapping(spec, path, RULE_KEYS)
        name = c.string(d.get("name"), f"{path}.name", required=True) or f"rule-{i}"
        label = f"{path} ({name})"
        if name in names:
            c.problem(f"{label}.name", f"duplicate rule name {name!r}")
        names.add(name)
        lane = c.string(d.get("lane"), f"{label}.lane", required=True)
        if lane is not None and lane not in lanes:
            c.problem(f"{label}.lane", unknown("lane", lane, lanes))
        terms = _rule_terms(c, d, label)
        moods = c.strings(d.get("sentiment"), f"{label}.sentiment")
        _known_names(c, moods, f"{label}.sentiment", "sentiment", SENTIMENT_LABELS)
        if not (terms["any"] or terms["all"] or terms["regex"] or moods):
            c.problem(label, "an empty rule: give at least one of any, all, regex or sentiment")
        fields = c.strings(d.get("fields"), f"{label}.fields") or ("title", "text")
        _known_names(c, fields, f"{label}.fields", "field", RULE_FIELDS)
        rule_sources = c.strings(d.get("sources"), f"{label}.sources")
        _known_names(c, rule_sources, f"{label}.sources", "source", sorted(source_names))
        owner = c.string(d.get("owner"), f"{label}.owner")
        if owner is not None and owner not in team:
            c.problem(f"{label}.owner", unknown("team member", owner, team))
        out.append(Rule(name=name, lane=lane or "", any=terms["any"], all=terms["all"], none=terms["none"],
                        regex=terms["regex"], fields=fields, sources=rule_sources,
                        tags=c.strings(d.get("tags"), f"{label}.tags"), owner=owner, sentiment=moods))
    return tuple(out)


def _rule_terms(c: Checker, d: dict[str, Any], label: str) -> dict[str, tuple[str, ...]]:
    """A rule's any/all/none terms and regexes, each checked."""
    terms = {key: c.strings(d.get(key), f"{label}.{key}") for key in ("any", "all", "none", "regex")}
    _check_terms(c, terms, label, ("any", "all", "none"))
    if terms["regex"]:
        # re2 only for a config that has regexes: every command loads the config (docs/design.md, "Start-up")
        from socialscale.rules.regex import regex_problem
    for j, pattern in enumerate(terms["regex"]):
        why = regex_problem(pattern)
        if why:
            c.problem(f"{label}.regex[{j}]", f"invalid regular expression {shown(pattern)}: {why}")
    return terms


def _check_terms(c: Checker, terms: dict[str, tuple[str, ...]], path: str, keys: Sequence[str]) -> None:
    """Rule-language terms (rules' any/all/none, brands' terms/none): none empty, each one well formed."""
    for key in keys:
        for j, term in enumerate(terms[key]):
            if not term.strip(" *"):
                c.problem(f"{path}.{key}[{j}]", "an empty term matches nothing")
            elif (why := term_problem(term)) is not None:
                c.problem(f"{path}.{key}[{j}]", why)


def _known_names(c: Checker, names: Sequence[str], path: str, what: str, known: Sequence[str]) -> None:
    for j, name in enumerate(names):
        if name not in known:
            c.problem(f"{path}[{j}]", unknown(what, name, known))


def _brands(c: Checker, value: Any) -> dict[str, Brand]:
    """`brands: {name: {terms: [...], none: [...], ours: true}}`: share of voice (docs/insight.md)."""
    brands: dict[str, Brand] = {}
    for name, path, d in c.named(value, "brands", "brand", BRAND_KEYS, _NAME):
        terms = {key: c.strings(d.get(key), f"{path}.{key}") for key in ("terms", "none")}
        if not terms["terms"]:
            c.problem(f"{path}.terms", "a brand needs at least one term")
        _check_terms(c, terms, path, ("terms", "none"))
        fields = c.strings(d.get("fields"), f"{path}.fields") or ("title", "text")
        _known_names(c, fields, f"{path}.fields", "field", RULE_FIELDS)
        brands[name] = Brand(name=name, terms=terms["terms"], none=terms["none"],
                             ours=c.boolean(d.get("ours"), f"{path}.ours", False), fields=fields)
    return brands


def _notify(c: Checker, value: Any, lanes: dict[str, Lane], team: dict[str, Member]) -> tuple[NotifyTarget, ...]:
    out = []
    for i, path, spec in c.entries(value, "notify", "targets", "url_env and on"):
        d = c.mapping(spec, path, NOTIFY_KEYS)
        url_env = c.string(d.get("url_env"), f"{path}.url_env", required=True) or ""
        on = c.strings(d.get("on"), f"{path}.on") or NOTIFY_EVENTS
        for j, event in enumerate(on):
            if event not in NOTIFY_ALL_EVENTS:
                c.problem(f"{path}.on[{j}]", unknown("event", event, NOTIFY_ALL_EVENTS))
        target_lanes = c.strings(d.get("lanes"), f"{path}.lanes")
        for j, lane in enumerate(target_lanes):
            if lane not in lanes:
                c.problem(f"{path}.lanes[{j}]", unknown("lane", lane, lanes))
        owners = c.strings(d.get("owners"), f"{path}.owners")
        for j, owner in enumerate(owners):
            if owner not in team:
                c.problem(f"{path}.owners[{j}]", unknown("team member", owner, team))
        quiet = c.clock_range(d["quiet_hours"], f"{path}.quiet_hours") if d.get("quiet_hours") else None
        floor = d.get("min_priority")
        if floor is not None and (isinstance(floor, bool) or not isinstance(floor, (int, float)) or floor < 0):
            c.problem(f"{path}.min_priority", f"expected a priority score (0 or more, such as 100), got {floor!r}")
            floor = None
        out.append(NotifyTarget(name=c.string(d.get("name"), f"{path}.name") or url_env or f"target-{i}",
                                url_env=url_env, on=on, lanes=target_lanes, owners=owners, quiet_hours=quiet,
                                min_priority=float(floor) if floor is not None else None))
    return tuple(out)
