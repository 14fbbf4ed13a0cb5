"""The results that cross from core to cli/ and output/, as types: the JSON shapes of docs/json.md.

Each is a TypedDict, so a result is still the plain dict that `--format json` writes (its keys in
the order the code builds them) while mypy checks every key read or written on either side. A
field of a closed set takes its Literal from socialscale.models. A new report adds its shape here
and returns it (docs/extending.md).

`group` is None for the items without a value (no lane, no owner); the JSON writes it as null.
"""

from __future__ import annotations

from typing import TypedDict

from socialscale.models import SentimentLabel, Status

# --- items in reports ------------------------------------------------------------------------------


class _ItemFields(TypedDict):
    """An item as the reports list it (socialscale.store.reports.ITEM_FIELDS), with its age."""

    id: int
    source: str
    lane: str | None
    owner: str | None
    title: str | None
    text: str | None
    url: str | None
    author: str | None
    start_at: str
    sentiment: float | None
    reach: int | None
    followup: bool
    age_s: int
    sla_s: int | None


class WaitingItem(_ItemFields):
    """A waiting item: backlog's `oldest`, the summary's `oldest`."""

    breached: bool
    priority: float | None


class BreachedItem(_ItemFields):
    """One of `report breaches`: past its lane's SLA by `over_s`."""

    priority: float | None
    over_s: int


# --- report backlog --------------------------------------------------------------------------------


class BacklogFigures(TypedDict):
    open: int
    unassigned: int
    buckets: dict[str, int]  # reports.BUCKETS, in order
    oldest_age_s: int | None
    breached: int
    followups: int


class BacklogGroup(BacklogFigures):
    group: str | None
    oldest: list[WaitingItem]


class Backlog(TypedDict):
    now: str
    by: str
    groups: list[BacklogGroup]
    total: BacklogFigures


# --- report latency --------------------------------------------------------------------------------


class LatencyFigures(TypedDict):
    responded: int
    median_s: int | None
    p90_s: int | None
    max_s: int | None
    within_sla: float | None
    handoff_share: float | None
    median_detection_lag_s: int | None


class NextFigures(TypedDict):
    """The same figures over follow-ups: the next response after one of ours."""

    next_responded: int
    next_median_s: int | None
    next_p90_s: int | None
    next_within_sla: float | None


class LatencyTotal(LatencyFigures, NextFigures):
    negative_share: float | None


class LatencyGroup(LatencyTotal):
    group: str | None


class _LatencyUntil(TypedDict, total=False):
    until: str  # the summary's previous week only: where its window ends


class Latency(_LatencyUntil):
    now: str
    by: str
    since: str
    groups: list[LatencyGroup]
    total: LatencyTotal


# --- report conversations --------------------------------------------------------------------------


class ConversationFigures(TypedDict):
    conversations: int
    joined: float | None
    followups: int
    followups_answered: float | None
    catalyzed: int
    catalyzed_answered: float | None
    handoffs: int
    waiting: int


class ConversationGroup(ConversationFigures):
    group: str | None


class Conversations(TypedDict):
    now: str
    by: str
    since: str
    groups: list[ConversationGroup]
    total: ConversationFigures


class StartedByUs(TypedDict):
    """The conversations we started and the catalyzed replies they drew (HTML report, summary)."""

    since: str
    conversations: int
    catalyzed: int
    catalyzed_answered: int
    catalyzed_waiting: int


# --- report volume ---------------------------------------------------------------------------------


class VolumePeriod(TypedDict):
    period: str
    lanes: dict[str, int]  # every lane, reports.NO_LANE for items not tagged yet


class Volume(TypedDict):
    by: str
    since: str
    periods: list[VolumePeriod]


# --- report summary --------------------------------------------------------------------------------


class NegativeShares(TypedDict):
    total: float | None
    lanes: dict[str, float | None]


class NewItems(TypedDict):
    total: int
    lanes: dict[str, int]
    negative_share: NegativeShares


class LatencyWeeks(TypedDict):
    current: Latency
    previous: Latency


class Summary(TypedDict):
    now: str
    last_digest_at: str | None
    since: str
    new: NewItems
    backlog: Backlog
    latency: LatencyWeeks
    conversations: ConversationFigures
    oldest: list[WaitingItem]


# --- report spikes, report voice -------------------------------------------------------------------


class Spike(TypedDict):
    group: str
    count: int
    baseline_mean: float
    baseline_sd: float
    threshold: float


class SpikeFigures(Spike):
    spike: bool
    baseline: list[int]  # the baseline windows' counts, the latest first


class Spikes(TypedDict):
    now: str
    by: str
    window_s: int
    baseline_s: int
    baseline_windows: int
    k: float
    spikes: list[Spike]
    groups: list[SpikeFigures]


class BrandShare(TypedDict):
    brand: str
    ours: bool
    mentions: int
    share: float | None
    negative_share: float | None


class VoiceWeek(TypedDict):
    period: str
    brands: list[BrandShare]


class _VoiceWeeks(TypedDict, total=False):
    weeks: list[VoiceWeek]  # by="week" only


class Voice(_VoiceWeeks):
    now: str
    since: str
    by: str
    brands: list[BrandShare]


# --- priority, why, rules test, rules list ---------------------------------------------------------


class PriorityPart(TypedDict):
    value: float  # 0..1 before weighting
    weight: float
    points: float


class Priority(TypedDict):
    priority: float
    breached: bool
    age_s: int
    sla_s: int | None
    parts: dict[str, PriorityPart]  # time, negativity, reach, followup, breached


class FoundText(TypedDict):
    """A term (or regex) found in one field, with the original text around it (rules.explain.Found)."""

    kind: str  # any | all | none | regex
    term: str
    field: str
    before: str
    text: str
    after: str


class ExplainedRule(TypedDict):
    """One rule's outcome for an item (rules.explain.RuleExplanation)."""

    index: int
    name: str
    lane: str
    matched: bool
    outcome: str  # rules.explain.Outcome
    reason: str
    found: list[FoundText]
    blocked_by: list[FoundText]
    missing: list[str]
    regex_failed: list[str]
    source_ok: bool
    score: float


class StoredTagging(TypedDict):
    lane: str | None
    lanes: str | None  # as stored: JSON text
    tags: str | None
    rules: str | None
    owner: str | None
    owner_set_by: str | None
    status: Status | None
    current: bool  # tagged by the rules as they are now


class WhyResult(TypedDict):
    lane: str
    lanes: list[str]
    tags: list[str]
    rules: list[str]
    owner: str | None
    owner_from: str
    lane_from_conversation: int | None  # the conversation whose lane a reply took


class SentimentOf(TypedDict):
    score: float | None
    label: SentimentLabel | None
    lang: str | None


class Why(TypedDict):
    """`socialscale why`: why a stored item is (or would now be) in its lane."""

    id: int
    source: str
    title: str | None
    url: str | None
    stored: StoredTagging
    result: WhyResult
    winner: str | None
    winner_reason: str
    rules: list[ExplainedRule]
    sentiment: SentimentOf
    reach: int | None
    priority: Priority | None


class RuleHit(TypedDict):
    name: str
    lane: str
    terms: list[str]


class RuleTest(TypedDict):
    """`rules test`: what the rules make of one text."""

    lane: str
    lanes: list[str]
    owner: str | None
    tags: list[str]
    rules: list[RuleHit]
    sentiment: float | None


class RuleStat(TypedDict):
    index: int  # 1-based, config order
    name: str
    lane: str
    owner: str | None
    any: list[str]
    all: list[str]
    none: list[str]
    regex: list[str]
    fields: list[str]
    sources: list[str]
    tags: list[str]
    matches: int


# Items a tagging run moved from one lane to another, with a few of their ids. `from` is a Python
# keyword, so this one is declared in the functional form.
LaneMove = TypedDict("LaneMove", {"from": str | None, "to": str, "count": int, "examples": list[int]})


class TagResult(TypedDict):
    """`socialscale tag`: what a tagging run did (or, with --dry-run, would do)."""

    dry_run: bool
    rules_version: str
    checked: int
    changed: int
    moved: int
    kept_owner: int
    rescored: int
    scored: int
    moves: list[LaneMove]


class RuleStats(TypedDict):
    """`rules list`: each rule with how many items since `since` it matched."""

    since: str
    items: int
    stale: int
    rules: list[RuleStat]
