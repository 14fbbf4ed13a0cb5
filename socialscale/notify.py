"""Alerts through Apprise, each item/target/kind sent once.

Delivery semantics (see docs/notify.md):
- A run *claims* the alerts it is about to send inside one BEGIN IMMEDIATE transaction (store/alerts.py),
  sends outside it, then records `sent` or `failed`. Overlapping runs therefore never send the same alert
  twice: the second run sees the first one's claim and leaves it.
- A failed send is recorded with its (redacted) reason and claimed again by the next run.
- A run that dies between claiming and recording leaves a `sending` claim; after CLAIM_LEASE_S the next
  run takes it over. Only this case can repeat an alert (if the crash came after delivery): for alerts,
  a rare repeat is better than a silently lost breach.
- During a target's quiet hours nothing is sent to it: `new` alerts and the digest stay queued and go out
  with the first run after the quiet hours; breaches are worked out afresh then, so an item answered
  meanwhile is never alerted.

Secrets: the Apprise URL is read from the environment at send time and never returned, stored or logged;
Apprise's own log records are captured (not propagated) and scrubbed of every part of the URL.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

from socialscale import reports
from socialscale.insight import priority
from socialscale.insight.spikes import spikes
from socialscale.models import Config, NotifyTarget
from socialscale.reports import format_share
from socialscale.shapes import BreachedItem, Spike, Spikes
from socialscale.store import alerts as ledger
from socialscale.store.database import Database
from socialscale.store.items import get_items
from socialscale.text import headline, inert_in_chat, inert_link, one_line, safe_link
from socialscale.timeutil import format_duration, parse_iso, utc_iso, zone

MAX_LISTED = 10  # items listed per lane in one message; the rest are counted ("and K more")
TITLE_CHARS = 160
APPRISE_TIMEOUT_S = 30


@dataclass
class Outcome:
    """What one target got for one kind of alert in this run."""

    target: str
    kind: str  # new | breach | digest | test
    status: str  # sent | held | failed | nothing
    items: int = 0
    error: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- delivery ---------------------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except (TypeError, ValueError):
            self.messages.append(str(record.msg))


# Apprise and the HTTP stack beneath it log full URLs (paths hold tokens) at DEBUG and in warnings.
_QUIET_LOGGERS = ("apprise", "urllib3", "requests")


@contextmanager
def _apprise_logs() -> Iterator[_Capture]:
    """Their log records go to us only, never to the root logger (--verbose), so never to a terminal."""
    capture = _Capture()
    saved = []
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level, list(logger.handlers)))
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        logger.handlers = [capture]
    try:
        yield capture
    finally:
        for logger, propagate, level, handlers in saved:
            logger.propagate, logger.handlers = propagate, handlers
            logger.setLevel(level)


def _secret_parts(url: str) -> list[str]:
    """Every piece of the URL that could be a secret (tokens, passwords, hosts, paths), longest first."""
    rest = url.split("://", 1)[-1]  # the scheme (json, mailto, slack) is no secret, and masking it garbles words
    pieces = {url, rest}
    pieces.update(p for p in re.split(r"[/:@?&=#,]+", rest) if len(p) >= 3)
    return sorted(pieces, key=len, reverse=True)


def scrub(message: str, url: str) -> str:
    """`message` with every part of `url` masked: what remains is safe to print and store."""
    from urllib.parse import quote, unquote

    for part in _secret_parts(url):
        for form in {part, unquote(part), quote(part, safe="")}:
            if len(form) >= 3:
                message = message.replace(form, "***")
    return message


def deliver(target: NotifyTarget, title: str, body: str) -> str | None:
    """Send one message to one target. None when it was delivered, else a reason free of secrets."""
    url = os.environ.get(target.url_env, "").strip()
    if not url:
        return f"environment variable {target.url_env} is not set (it must hold the target's Apprise URL)"
    with _apprise_logs() as capture:
        import apprise

        ap = apprise.Apprise()
        try:
            added = ap.add(url)
        except Exception:  # noqa: BLE001 - a bad URL must not crash the pull; the reason is reported below
            added = False
        if not added:
            return f"environment variable {target.url_env} does not hold an Apprise URL that Apprise understands"
        try:
            # Chat services render mentions and Markdown links even in a text message: an item
            # titled "refund @everyone [click](http://evil.example)" must not ping or link.
            ok = bool(ap.notify(body=inert_in_chat(body), title=inert_in_chat(title),
                                body_format=apprise.NotifyFormat.TEXT))
        except Exception as exc:  # noqa: BLE001 - a plugin crash is one failed send, retried next run
            capture.messages.append(f"{type(exc).__name__}: {exc}")
            ok = False
    if ok:
        return None
    reason = "; ".join(dict.fromkeys(m.strip() for m in capture.messages if m.strip())) or "delivery failed"
    return scrub(one_line(reason, 300), url).rstrip(". ")


# --- who gets what ----------------------------------------------------------------------------------


def in_quiet_hours(target: NotifyTarget, config: Config, now: datetime) -> str | None:
    """When `now` falls in the target's quiet hours: the local time they end (HH:MM), else None."""
    if not target.quiet_hours:
        return None
    start, end = target.quiet_hours
    local = now.astimezone(zone(config.timezone))
    minute = local.hour * 60 + local.minute
    quiet = start <= minute < end if start <= end else (minute >= start or minute < end)
    if not quiet:
        return None
    return f"{end // 60 % 24:02d}:{end % 60:02d}"


def wants(target: NotifyTarget, config: Config, item: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether the target cares about this item: its lanes (default: every lane expecting a reply), its owners,
    its `min_priority` (docs/insight.md#priority; an item without a priority is below any threshold)."""
    if target.min_priority is not None:
        found = priority.score(item, config, now or datetime.now(timezone.utc))
        if found is None or found < target.min_priority:
            return False
    lane = item.get("lane")
    if target.lanes:
        if lane not in target.lanes:
            return False
    else:
        spec = config.lanes.get(lane or "")
        if spec is not None and not spec.respond:
            return False
    return not target.owners or item.get("owner") in target.owners


def _lines_by_lane(config: Config, items: Sequence[Mapping[str, Any]], extra: Any = None) -> list[str]:
    order = {name: i for i, name in enumerate(config.lanes)}
    lanes: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        lanes.setdefault(item.get("lane") or "(no lane)", []).append(item)
    lines: list[str] = []
    for lane in sorted(lanes, key=lambda name: (order.get(name, len(order)), name)):
        group = lanes[lane]
        lines.append(f"{one_line(lane, 60)} ({len(group)})")
        for item in group[:MAX_LISTED]:
            lines.append(_item_line(item, extra))
        if len(group) > MAX_LISTED:
            lines.append(f"  and {len(group) - MAX_LISTED} more")
        lines.append("")
    return lines[:-1] if lines else lines


def _item_line(item: Mapping[str, Any], extra: Any) -> str:
    title = one_line(headline(item.get("title"), item.get("text")), TITLE_CHARS)
    parts = [f"  - #{item['id']} {title}"]
    if extra is not None:
        parts.append(extra(item))
    link = safe_link(item.get("url"))
    if link:
        parts.append(inert_link(one_line(link, 300)))
    parts.append(f"owner: {one_line(item.get('owner'), 40) or 'unassigned'}")
    return " | ".join(p for p in parts if p)


def new_message(config: Config, items: Sequence[dict[str, Any]]) -> tuple[str, str]:
    n = len(items)
    title = f"socialscale: {n} new item{'s' if n != 1 else ''}"
    return title, "\n".join(_lines_by_lane(config, items))


def breach_message(config: Config, items: Sequence[BreachedItem]) -> tuple[str, str]:
    """`items` as reports.breaches returns them (with age_s and sla_s)."""
    def age(item: Mapping[str, Any]) -> str:
        return f"waiting {format_duration(item['age_s'])} (SLA {format_duration(item['sla_s'])})"

    n = len(items)
    title = f"socialscale: {n} item{'s' if n != 1 else ''} past the SLA"
    return title, "\n".join(_lines_by_lane(config, items, age))


def digest_message(db: Database, config: Config, now: datetime) -> tuple[str, str]:
    """The daily digest as plain text, from reports.summary (remembered only once sent: see run())."""
    data = reports.summary(db, config, now=now)
    tz = zone(config.timezone)
    day = now.astimezone(tz).strftime("%a %d %b %Y")
    lines = []
    new = data["new"]
    per_lane = ", ".join(f"{one_line(k, 60)} {v}" for k, v in new["lanes"].items() if v)
    lines.append(f"New since {_local(data['since'], tz)}: {new['total']}" + (f" ({per_lane})" if per_lane else ""))
    total = data["backlog"]["total"]
    lines.append(f"Waiting: {total['open']} open, {total['breached']} past the SLA, {total['unassigned']} unassigned"
                 + (f", oldest {format_duration(total['oldest_age_s'])}" if total["oldest_age_s"] is not None else ""))
    for g in data["backlog"]["groups"]:
        if g["open"]:
            lines.append(f"  {one_line(g['group'], 60)}: {g['open']} open, {g['breached']} past the SLA, "
                         f"oldest {format_duration(g['oldest_age_s'])}")
    lines.append("")
    lines.append("First response, last 7 days (the 7 days before in brackets):")
    before = {g["group"]: g for g in data["latency"]["previous"]["groups"]}
    shown = 0
    for lat in data["latency"]["current"]["groups"]:
        prev: Mapping[str, Any] = before.get(lat["group"]) or {}
        if not lat["responded"] and not prev.get("responded"):
            continue
        shown += 1
        lines.append(f"  {one_line(lat['group'], 60)}: {lat['responded']} answered ({prev.get('responded', 0)}), "
                     f"median {format_duration(lat['median_s'])} ({format_duration(prev.get('median_s'))}), "
                     f"p90 {format_duration(lat['p90_s'])} ({format_duration(prev.get('p90_s'))}), "
                     f"within SLA {format_share(lat['within_sla'])} ({format_share(prev.get('within_sla'))})")
    if not shown:
        lines.append("  no responses recorded")
    if data["oldest"]:
        lines.append("")
        lines.append("Oldest waiting:")
        for item in data["oldest"]:
            lines.append(_item_line(item, lambda i: f"{one_line(i.get('lane'), 60)}, waiting "
                                                     f"{format_duration(i['age_s'])}"))
    return f"socialscale summary, {day}", "\n".join(lines)


def _local(stamp: str, tz: tzinfo) -> str:
    return parse_iso(stamp).astimezone(tz).strftime("%a %d %b %H:%M")


# --- the runs ---------------------------------------------------------------------------------------


def send_new(db: Database, config: Config, new_ids: Sequence[int], now: datetime) -> list[str]:
    """After a pull: queue `new` alerts for the new items each target wants, then send what is due.

    One message per target. Returns one error line per target whose send failed (to be retried).
    """
    items = [i for i in get_items(db, list(new_ids)) if _alertable(i)]
    errors = []
    for target in config.notify:
        if "new" not in target.on:
            continue
        keys = [str(i["id"]) for i in items if wants(target, config, i, now)]
        if keys:
            ledger.queue(db, target.name, "new", keys, now)
        outcome = _flush_new(db, config, target, now)
        if outcome.status == "failed":
            errors.append(_error_line(outcome))
    return errors


def run(db: Database, config: Config, *, now: datetime, digest: bool = False) -> list[Outcome]:
    """`socialscale notify`: held/failed `new` alerts, breach alerts, and (with `digest`) the daily digest."""
    outcomes: list[Outcome] = []
    breached: list[BreachedItem] | None = None
    found: Spikes | None = None
    message: tuple[str, str] | None = None
    for target in config.notify:
        if "new" in target.on:
            outcomes.append(_flush_new(db, config, target, now))
        if "breach" in target.on:
            if breached is None:
                breached = reports.breaches(db, config, now=now)
            outcomes.append(_breaches(db, config, target, now, breached))
        if "spike" in target.on:
            if found is None:
                found = spikes(db, config, now=now)
            outcomes.append(_spikes(db, config, target, now, found))
        if "digest" in target.on and (digest or ledger.count_claimable(db, target.name, "digest")):
            if message is None:
                message = digest_message(db, config, now)
            outcomes.append(_digest(db, config, target, now, digest, message))
    if any(o.kind == "digest" and o.status == "sent" for o in outcomes):
        # The next summary counts new items from this one on; a digest that failed everywhere is not remembered.
        reports.remember_digest(db, now)
    return outcomes


def send_test(db: Database, config: Config, now: datetime) -> list[Outcome]:
    """A test message to every target, whatever its quiet hours; each result is logged in `alerts`."""
    outcomes = []
    for target in config.notify:
        error = deliver(target, "socialscale: test message",
                        f"This is a test from socialscale to the notify target '{target.name}' "
                        f"(alerts: {', '.join(target.on)}). If you can read it, the target works.")
        ledger.record(db, target.name, "test", utc_iso(now), now, error)
        outcomes.append(Outcome(target.name, "test", "sent" if error is None else "failed", error=error))
    return outcomes


def _alertable(item: dict[str, Any]) -> bool:
    # Duplicates and the team's own posts are not conversations anyone has to answer.
    return item.get("duplicate_of") is None and not item.get("ours")


def _error_line(outcome: Outcome) -> str:
    return (f"target {outcome.target!r}: sending {outcome.kind} alerts failed ({outcome.error}); "
            "recorded, will retry on the next run")


def _held(target: NotifyTarget, kind: str, until: str, items: int) -> Outcome:
    return Outcome(target.name, kind, "held", items, note=f"quiet hours until {until}")


def _flush_new(db: Database, config: Config, target: NotifyTarget, now: datetime) -> Outcome:
    until = in_quiet_hours(target, config, now)
    if until:
        return _held(target, "new", until, ledger.count_claimable(db, target.name, "new"))
    keys = ledger.claim(db, target.name, "new", now)
    if not keys:
        return Outcome(target.name, "new", "nothing")
    items = get_items(db, [int(k) for k in keys if k.isdigit()])
    title, body = new_message(config, items)
    return _send(db, target, "new", keys, title, body, now)


def _breaches(db: Database, config: Config, target: NotifyTarget, now: datetime,
              breached: list[BreachedItem]) -> Outcome:
    candidates = [i for i in breached if wants(target, config, {**i, "status": "open"}, now)]
    until = in_quiet_hours(target, config, now)
    if until:
        return _held(target, "breach", until, len(ledger.unsent(db, target.name, "breach",
                                                               [str(i["id"]) for i in candidates])))
    keys = set(ledger.claim(db, target.name, "breach", now, [str(i["id"]) for i in candidates]))
    items = [i for i in candidates if str(i["id"]) in keys]
    if not items:
        return Outcome(target.name, "breach", "nothing")
    title, body = breach_message(config, items)
    return _send(db, target, "breach", [str(i["id"]) for i in items], title, body, now)


def spike_key(spike: Spike, found: Spikes) -> str:
    """A spike is sent once per group and window: windows are counted from the epoch (for the default
    1d, UTC days), so the same spike seen by every run of the day is one alert."""
    window = int(parse_iso(found["now"]).timestamp()) // int(found["window_s"])
    return f"{found['by']}:{spike['group']}:{window}"


def spike_message(found: Spikes, spikes_: Sequence[Spike]) -> tuple[str, str]:
    hours = int(found["window_s"]) / 3600
    span = f"{hours / 24:g}d" if hours >= 24 else f"{hours:g}h"
    title = f"socialscale: {len(spikes_)} spike{'s' if len(spikes_) != 1 else ''} in the last {span}"
    lines = [f"{one_line(s['group'], 60)}: {s['count']} items in the last {span} (the {found['baseline_windows']} "
             f"before: mean {s['baseline_mean']:g}, sd {s['baseline_sd']:g}; threshold {s['threshold']:g})"
             for s in spikes_]
    return title, "\n".join(lines)


def _spikes(db: Database, config: Config, target: NotifyTarget, now: datetime,
            found: Spikes) -> Outcome:
    candidates = [s for s in found["spikes"] if not target.lanes or s["group"] in target.lanes]
    keys = [spike_key(s, found) for s in candidates]
    until = in_quiet_hours(target, config, now)
    if until:
        return _held(target, "spike", until, len(ledger.unsent(db, target.name, "spike", keys)))
    claimed = set(ledger.claim(db, target.name, "spike", now, keys))
    chosen = [(k, s) for k, s in zip(keys, candidates, strict=True) if k in claimed]
    if not chosen:
        return Outcome(target.name, "spike", "nothing")
    title, body = spike_message(found, [s for _, s in chosen])
    return _send(db, target, "spike", [k for k, _ in chosen], title, body, now)


def _digest(db: Database, config: Config, target: NotifyTarget, now: datetime,
            requested: bool, message: tuple[str, str]) -> Outcome:
    day = now.astimezone(zone(config.timezone)).date().isoformat()
    if requested:
        ledger.queue(db, target.name, "digest", [day], now)
    until = in_quiet_hours(target, config, now)
    if until:
        return _held(target, "digest", until, 1)
    keys = ledger.claim(db, target.name, "digest", now)
    if not keys:
        return Outcome(target.name, "digest", "nothing", note=f"already sent for {day}")
    title, body = message
    return _send(db, target, "digest", keys, title, body, now)


def _send(db: Database, target: NotifyTarget, kind: str, keys: list[str], title: str, body: str,
          now: datetime) -> Outcome:
    try:
        error = deliver(target, title, body)
    except BaseException:
        # Interrupted mid-send: hand the claim back so the next run sends it (it may repeat this one).
        ledger.finish(db, target.name, kind, keys, now, "interrupted before delivery was confirmed")
        raise
    ledger.finish(db, target.name, kind, keys, now, error)
    return Outcome(target.name, kind, "sent" if error is None else "failed", len(keys), error=error)
