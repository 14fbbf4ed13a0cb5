"""The plain data the pipeline passes around: items and the parsed configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_LANES: tuple[str, ...] = (
    "listening",
    "customer_service",
    "client_relations",
    "social_marketing",
    "sales_prospecting",
    "publishing",
)
# The closed sets: each a Literal type for mypy and the tuple of its values for the checks at runtime.
Status = Literal["open", "responded", "closed", "ignored"]
STATUSES: tuple[Status, ...] = ("open", "responded", "closed", "ignored")
ResponseVia = Literal["reply", "dm", "email", "phone", "meeting"]
RESPONSE_VIAS: tuple[ResponseVia, ...] = ("reply", "dm", "email", "phone", "meeting")
HANDOFF_VIAS: frozenset[ResponseVia] = frozenset({"dm", "email", "phone", "meeting"})
RULE_FIELDS: tuple[str, ...] = ("title", "text", "author", "url")
# Sentiment labels (docs/insight.md): negative <= -0.05 < neutral < 0.05 <= positive.
SentimentLabel = Literal["negative", "neutral", "positive"]
SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
# One source's outcome in a pull (`pull` JSON's `status`, `sources.last_status`).
RunStatus = Literal["ok", "not_modified", "skipped", "error"]
RUN_STATUSES: tuple[RunStatus, ...] = ("ok", "not_modified", "skipped", "error")
NEGATIVE_BELOW = -0.05
POSITIVE_FROM = 0.05


@dataclass
class Item:
    """One post, comment or entry, normalised from any source kind."""

    source: str
    guid: str
    title: str = ""
    text: str = ""
    url: str | None = None
    author: str | None = None
    published_at: str | None = None  # UTC ISO-8601 with Z, or None when unknown
    in_reply_to: str | None = None  # guid (same source) or URL of the parent
    extra: dict[str, Any] = field(default_factory=dict)
    canonical_url: str | None = None
    lang: str | None = None  # the language the source gives (primary subtag: "en", "de"), when it gives one
    reach: int | None = None  # attention the source reports (docs/insight.md, per kind); None: it says nothing

    def __reduce__(self) -> tuple[type[Item], tuple[Any, ...]]:
        # Items cross from the parser processes to the pull's main process by the ten thousand: rebuilt
        # from their fields in order, an item unpickles about three times faster than from its __dict__.
        return Item, (self.source, self.guid, self.title, self.text, self.url, self.author, self.published_at,
                      self.in_reply_to, self.extra, self.canonical_url, self.lang, self.reach)


@dataclass(frozen=True)
class FetchSettings:
    """`fetch:` in the config: how politely and how far the HTTP engine goes."""

    concurrency: int = 16
    per_host: int = 2
    timeout_s: float = 60.0  # total deadline for one source
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 3
    max_retry_after_s: float = 3600.0  # a Retry-After beyond this is capped (and reported)
    parse_timeout_s: float = 30.0  # one payload's parsing in the parser pool; an overrunning worker is killed
    parse_memory: int = 1024 * 1024 * 1024  # address space a parser worker may add (RLIMIT_AS)
    pull_timeout_s: float = 600.0  # how long a source may wait for a slot on its host before it is skipped
    # Redirects to private, loopback or link-local addresses: False (refused), True (followed), or
    # the hosts and networks (`127.0.0.1`, `10.0.0.0/8`) that may be.
    allow_private: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class Source:
    """One configured source; `options` holds the kind-specific keys (instance, query, ...)."""

    name: str
    type: str = "feed"
    url: str | None = None
    every_s: int | None = None
    timeout_s: float | None = None
    max_bytes: int | None = None
    keep: tuple[str, ...] = ()  # store only items matching one of these terms (and replies to kept ones)
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Rule:
    """A keyword rule: which lane an item belongs to, and which tags/owner it gets."""

    name: str
    lane: str
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    fields: tuple[str, ...] = ("title", "text")
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owner: str | None = None
    sentiment: tuple[str, ...] = ()  # negative/neutral/positive: the item's sentiment must be one of these


@dataclass(frozen=True)
class Brand:
    """A brand for share of voice: its terms, matched as a rule's `any` terms (minus `none`)."""

    name: str
    terms: tuple[str, ...]
    none: tuple[str, ...] = ()
    ours: bool = False
    fields: tuple[str, ...] = ("title", "text")


@dataclass(frozen=True)
class Lane:
    """A lane of work; `respond=False` lanes are monitored only and never in the backlog."""

    name: str
    sla_s: int | None = None
    owner: str | None = None
    respond: bool = True


@dataclass(frozen=True)
class Member:
    """A team member and their accounts on the sources (`kind:name` or `@name@host`)."""

    name: str
    handles: tuple[str, ...] = ()


@dataclass(frozen=True)
class BusinessHours:
    """Working time for --business-hours: blocks per weekday (0=Monday) and holidays."""

    blocks: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)  # minutes from midnight
    holidays: frozenset[str] = frozenset()  # ISO dates
    # A country's public holidays (the `holidays` package), every year: ISO 3166 codes such as GB, ENG.
    holiday_country: str | None = None
    holiday_subdivision: str | None = None


@dataclass(frozen=True)
class NotifyTarget:
    """One `notify:` target: an Apprise URL read from an environment variable."""

    name: str
    url_env: str
    on: tuple[str, ...] = ("new", "breach", "digest")  # and "spike" when asked for
    lanes: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    quiet_hours: tuple[int, int] | None = None  # minutes from midnight, local time; may wrap midnight
    min_priority: float | None = None  # new and breach alerts only for items of at least this priority


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path | None
    database: Path | str  # an SQLite file, or a postgresql:// URL (socialscale.dburl)
    timezone: str = "UTC"
    default_lane: str = "listening"
    fetch: FetchSettings = FetchSettings()
    business_hours: BusinessHours = BusinessHours()
    team: dict[str, Member] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    rules: tuple[Rule, ...] = ()
    notify: tuple[NotifyTarget, ...] = ()
    brands: dict[str, Brand] = field(default_factory=dict)

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)
