"""An item's event history as short sentences, for `show` (JSON keeps each event's `detail` object)."""

from __future__ import annotations

from typing import Any

from socialscale.output.render import full_time


def _names(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) else str(values)


def _created(d: dict[str, Any]) -> str:
    text = f"stored from {d['source']}" if d.get("source") else "stored"
    if d.get("duplicate_of"):
        text += f"; a duplicate of #{d['duplicate_of']}, so it stays out of the backlog"
    return text


def _tagged(d: dict[str, Any]) -> str:
    rules = d.get("rules") or []
    lane = d.get("lane") or "no lane"
    if rules:
        text = f"rule{'s' if len(rules) > 1 else ''} {_names(rules)} put it in {lane}"
    else:
        text = f"no rule matched: {lane}"
    if d.get("previous_lane"):
        text += f" (was {d['previous_lane']})"
    others = [n for n in d.get("lanes") or [] if n != d.get("lane")]
    if others:
        text += f"; also matches {_names(others)}"
    if d.get("tags"):
        text += f"; tagged {_names(d['tags'])}"
    if d.get("owner_kept"):
        text += f"; owner {d['owner_kept']} kept (chosen by a person)"
    elif d.get("owner"):
        text += f"; owner {d['owner']}"
    return text


def _assigned(d: dict[str, Any]) -> str:
    text = f"assigned to {d.get('owner')}"
    if d.get("confirmed"):
        return text + f" (confirming the {d['confirmed']}'s choice)"
    return text + (f" (was {d['previous']})" if d.get("previous") else "")


_VIA = {"reply": "a reply", "dm": "a direct message", "email": "an email", "phone": "a phone call",
        "meeting": "a meeting"}


def _responded(d: dict[str, Any], tz: str | None) -> str:
    how = _VIA.get(str(d.get("via")), str(d.get("via") or "a response"))
    if d.get("automatic"):
        text = f"answered by {how} seen automatically" + (f": {d['url']}" if d.get("url") else "")
    else:
        text = f"answered by {how}"
    if d.get("first") is False:
        text += " (a later response; the first one stands)"
    elif d.get("replaces"):
        text += f" (earlier than the one recorded at {full_time(d['replaces'], tz)}, so now the first)"
    if d.get("handoff"):
        text += "; the conversation moved off the public thread"
    if d.get("status") == "closed":
        text += "; the item stays closed"
    return text


def _status(verb: str) -> Any:
    def sentence(d: dict[str, Any]) -> str:
        return verb + (f" (was {d['previous']})" if d.get("previous") else "")
    return sentence


_SENTENCES = {"created": _created, "tagged": _tagged, "assigned": _assigned,
              "closed": _status("closed"), "ignored": _status("ignored"), "reopened": _status("reopened")}


def describe(kind: str, detail: dict[str, Any], tz: str | None = None) -> str:
    """One event as a short sentence: `assigned to bob (was alice)`, `answered by a direct message`;
    times in the configured timezone `tz`."""
    if kind == "noted":
        return str(detail.get("note") or detail.get("text") or "")
    if kind == "responded":
        text = _responded(detail, tz)
    elif kind in _SENTENCES:
        text = _SENTENCES[kind](detail)
    else:
        text = "; ".join(f"{k} {v}" for k, v in detail.items())
    if kind != "noted" and detail.get("note"):
        text += f". Note: {detail['note']}"
    return text
