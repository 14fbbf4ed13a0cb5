"""Explaining a match, for `socialscale why`: every rule's outcome with the matched text in context.

The slow path, one item at a time: each field is folded character by character with the
same `fold` the matcher uses, keeping where each folded character came from, so a term found
in folded text can be shown in the original text around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from socialscale.models import Rule
from socialscale.rules.regex import Pattern, RegexError, compile_regex
from socialscale.rules.text import SEP, Term, fold, parse_term

CONTEXT = 40  # characters of context either side of a found term


@dataclass(frozen=True)
class Found:
    """A term (or regex) found in one field, with the original text around it."""

    kind: str  # any | all | none | regex
    term: str
    field: str
    before: str
    text: str
    after: str


Outcome = Literal["matched", "blocked", "incomplete", "regex", "source", "nothing"]


@dataclass
class RuleExplanation:
    """One rule's outcome for one item: what was found, what was missing, and the verdict."""

    index: int
    name: str
    lane: str
    matched: bool
    outcome: Outcome
    reason: str
    found: list[Found] = field(default_factory=list)
    blocked_by: list[Found] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    regex_failed: list[str] = field(default_factory=list)
    source_ok: bool = True
    score: float = 0.0  # share of the rule's any/all/regex/source conditions met; orders the near misses


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """`" " + normalise(text) + " "` and, for each of its characters, the index in `text` it came from.

    Built character by character with the same `fold`, so it agrees with the fast path.
    """
    chars, pos = [" "], [0]
    for i, ch in enumerate(text):
        for c in fold(ch):
            if c in (" ", SEP):
                if chars[-1] != " ":
                    chars.append(" ")
                    pos.append(i)
            else:
                chars.append(c)
                pos.append(i)
    if chars[-1] != " ":
        chars.append(" ")
        pos.append(len(text))
    return "".join(chars), pos


def find_term(term: Term, folded: str, pos: list[int], text: str) -> list[tuple[int, int]]:
    """Spans of `text` where `term` occurs, found in its `fold_with_map` form."""
    spans, pattern, start = [], term.pattern, 0
    while (k := folded.find(pattern, start)) >= 0:
        end = k + len(pattern) - (0 if term.prefix else 1)
        while end < len(folded) and folded[end] != " ":  # a prefix hit shows its whole word
            end += 1
        spans.append((pos[k + 1], pos[end - 1] + 1))
        start = k + 1
    return spans


def _found(kind: str, term: str, name: str, text: str, span: tuple[int, int]) -> Found:
    a, b = span
    before = text[max(0, a - CONTEXT):a]
    after = text[b:b + CONTEXT]
    return Found(kind, term, name, ("…" if a > CONTEXT else "") + before, text[a:b],
                 after + ("…" if b + CONTEXT < len(text) else ""))


def explain_rule(index: int, rule: Rule, terms: Sequence[tuple[str, Term]], regexes: Sequence[Pattern],
                 source: str, texts: dict[str, str], maps: dict[str, tuple[str, list[int]]]) -> RuleExplanation:
    """One rule's outcome: `terms` and `regexes` as the Matcher compiled them, `maps` from fold_with_map."""
    found: list[Found] = []
    blocked: list[Found] = []
    seen: set[tuple[str, str]] = set()
    for kind, term in terms:
        for name in rule.fields:
            folded, pos = maps[name]
            spans = find_term(term, folded, pos, texts[name])
            if spans:
                (blocked if kind == "none" else found).append(_found(kind, term.text, name, texts[name], spans[0]))
                seen.add((kind, term.text))
                break
    any_ok = not rule.any or any(f.kind == "any" for f in found)
    missing = [t for t in rule.all if ("all", t) not in seen]
    if not any_ok:
        missing.insert(0, "any of: " + ", ".join(rule.any))
    regex_failed = []
    for rx in regexes:
        hit = next(((name, m) for name in rule.fields if (m := rx.search(texts[name]))), None)
        if hit:
            found.append(_found("regex", rx.pattern, hit[0], texts[hit[0]], hit[1].span()))
        else:
            regex_failed.append(rx.pattern)
    source_ok = not rule.sources or source in rule.sources
    matched = any_ok and not missing and not blocked and not regex_failed and source_ok
    outcome, reason = _verdict(rule, source, matched, found, blocked, missing, regex_failed, source_ok)
    positive = ([any_ok] if rule.any else []) + [t not in missing for t in rule.all]
    positive += [rx.pattern not in regex_failed for rx in regexes] + ([source_ok] if rule.sources else [])
    return RuleExplanation(index=index, name=rule.name, lane=rule.lane, matched=matched, outcome=outcome,
                           reason=reason, found=found, blocked_by=blocked, missing=missing,
                           regex_failed=regex_failed, source_ok=source_ok,
                           score=sum(positive) / len(positive) if positive else 1.0)


def _verdict(rule: Rule, source: str, matched: bool, found: list[Found], blocked: list[Found], missing: list[str],
             regex_failed: list[str], source_ok: bool) -> tuple[Outcome, str]:
    """The outcome and its reason, first cause first."""
    # A rule came close only if what would set it off was there: an `any` term, else an `all` term,
    # else (a rule of regexes only) its regexes, on an item from a source it covers.
    if rule.any:
        triggered = any(f.kind == "any" for f in found)
    elif rule.all:
        triggered = any(f.kind == "all" for f in found)
    else:
        triggered = not regex_failed and source_ok
    if matched:
        return "matched", "every condition holds"
    if not triggered:
        return "nothing", "none of the terms that set it off were found"
    if not source_ok:
        return "source", f"only for source(s) {', '.join(rule.sources)}; this item is from {source or 'no source'}"
    if blocked:
        return "blocked", "blocked by none: " + ", ".join(f"{f.term!r} in {f.field}" for f in blocked)
    if missing:
        return "incomplete", "missing " + "; ".join(missing)
    return "regex", "regex did not match: " + ", ".join(regex_failed)


def highlight_spans(text: str, words: Sequence[str], regexes: Sequence[str]) -> list[tuple[int, int]]:
    """Where in `text` these terms and regexes match, merged and in order (for highlighting)."""
    folded, pos = fold_with_map(text)
    spans: list[tuple[int, int]] = []
    for word in words:
        spans += find_term(parse_term(word), folded, pos, text)
    for pattern in regexes:
        try:
            compiled = compile_regex(pattern)
        except RegexError:
            continue  # config validation refuses such a pattern; nothing to highlight
        spans += [m.span() for m in compiled.finditer(text) if m.end() > m.start()]
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
