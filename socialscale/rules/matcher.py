"""Keyword rules compiled once into Aho-Corasick automata: which rules an item matches, and why.

Terms and items are folded as `rules.text` says, so a key found in folded text is on word
boundaries. One automaton per field group: title and text are scanned together, author and
url each get their own only when some rule looks at them. Items are matched in chunks: a
chunk's fields are joined with a NUL after each (no key holds a NUL, so no term spans two
fields), folded and scanned once, and each hit is credited to its item by the NULs before it.

Only keys that can decide a rule are scanned: `any` terms, and `all` terms of rules without
`any`. A rule of `any` terms only is decided by the scan alone; any other rule is checked only
for the items where one of those keys was found, its `none` terms and other `all` terms looked
up in that item's folded text. A phrase is keyed on its rarest-looking word and confirmed by a
search that lets its words be apart by several spaces, so no text is ever collapsed.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, Any

import ahocorasick

from socialscale.models import RULE_FIELDS, Rule
from socialscale.rules.text import SEP, Term, fold, frequency_order, normalise, parse_term
from socialscale.rules.text import term_problem as term_problem  # re-exported: the public name

if TYPE_CHECKING:
    from socialscale.rules.explain import RuleExplanation

TITLE, TEXT, AUTHOR, URL = 1, 2, 4, 8
FIELD_BITS = {"title": TITLE, "text": TEXT, "author": AUTHOR, "url": URL}
# Items matched per scan: small enough for the chunk's text to stay in the CPU caches (a chunk of
# 20,000 items was 25% slower per item than one of 500, measured on ~220-character posts).
CHUNK = 512


@dataclass(frozen=True)
class RuleHit:
    """A rule that matched an item: its position in the config and the terms that were found."""

    index: int
    name: str
    lane: str
    terms: tuple[str, ...]
    tags: tuple[str, ...] = ()
    owner: str | None = None


@dataclass(frozen=True)
class _Probe:
    """Where one term is looked for in one field group: a key to find, and what confirms the term."""

    scanner: int  # 0 title+text, 1 author, 2 url
    key: int  # the key's id: one per distinct key text of a group
    text: str  # the key as it appears in folded text
    id: int  # the term's id in this group: the key's id when finding the key decides, else its own
    confirm: Callable[..., Any] | None  # None: finding the key decides; else (text, start, end) finds the term
    part: int  # where `confirm` looks: 0 the whole folded text of the group, 1 the title, 2 the text


@dataclass
class _Compiled:
    rule: Rule
    regexes: tuple[re.Pattern[str], ...]
    terms: list[tuple[str, Term]] = field(default_factory=list)  # (kind, term) for explaining
    probes: dict[str, list[tuple[_Probe, ...]]] = field(default_factory=dict)  # kind -> per term, its probes


_GROUPS = (TITLE | TEXT, AUTHOR, URL)
_TITLE_TEXT = operator.itemgetter(1, 2)
_FIELD_END = f" {SEP} "


class _Scanner:
    """One automaton over one field group (title+text, author or url); its values are key ids."""

    def __init__(self, fields: int) -> None:
        self.fields = fields
        self.keys: dict[str, int] = {}
        self.automaton = ahocorasick.Automaton()
        self.active = False

    def build(self, scanned: set[int]) -> None:
        # pyahocorasick looks for a node's next letter among its children in insertion order:
        # inserting the keys in order of letter frequency makes the common letters come first
        # (about 9% off the scan of English posts).
        for text in sorted((t for t, k in self.keys.items() if k in scanned), key=frequency_order):
            self.automaton.add_word(text, self.keys[text])
            self.active = True
        if self.active:
            self.automaton.add_word(SEP, -1)
            self.automaton.make_automaton()

    def raw(self, item: Sequence[Any]) -> str:
        """One item's text as this group scans it: padded, title and text apart by a NUL."""
        if self.fields == TITLE | TEXT:
            return f" {_clean(item[1])} {SEP} {_clean(item[2])} "
        return f" {_clean(item[3 if self.fields == AUTHOR else 4])} "

    def batch(self, items: Sequence[Sequence[Any]], clean: bool = False) -> str:
        """A batch's text to scan: a NUL, then every field padded and followed by a NUL (title, text,
        next title...). An item's span in it, from its title to its text, reads as its `raw()`.

        Only with `clean` are NULs in the fields themselves made spaces: the scan counts the NULs
        and asks again in the rare batch that has more than it put in.
        """
        if self.fields == TITLE | TEXT:
            values = list(chain.from_iterable(map(_TITLE_TEXT, items)))
        else:
            values = list(map(operator.itemgetter(3 if self.fields == AUTHOR else 4), items))
        values.insert(0, "")
        values.append("")
        if clean:
            return _FIELD_END.join([_clean(v) for v in values])
        try:
            return _FIELD_END.join(values)
        except TypeError:  # a missing field (None), or one that is not text
            return _FIELD_END.join([str(v) if v else "" for v in values])


def _clean(value: Any) -> str:
    return str(value).replace(SEP, " ") if value else ""


@functools.cache
def _confirmer(term: Term) -> Callable[..., Any]:
    """A search for the whole term in folded text, whose words may be apart by several spaces."""
    return re.compile(" " + " +".join(map(re.escape, term.words)) + ("" if term.prefix else " ")).search


class Matcher:
    """Every rule compiled once; `match_many()` is what tagging runs, a batch of items at a time.

    Ids number the keys of the automata and the terms that need confirming (a phrase, or a term
    limited to the title or the text) in one sequence. Per item, the ids found are the keys the
    scans found plus the terms of those keys that `confirm` finds. `_table` maps an id to the rules
    made of `any` terms only that it makes a match (`direct`), and to the other rules it makes
    worth checking (`trigger`: their `any` terms, or their `all` terms when they have no `any`).
    Only keys with rules behind them are scanned; `none` terms and `all` terms next to `any`
    terms are looked up in the folded text of the few items whose rules are checked.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._compiled: list[_Compiled] = []
        self._scanners = [_Scanner(f) for f in _GROUPS]
        self._terms: dict[tuple[int, str, int], int] = {}  # (group, pattern, part) -> id
        self._direct: list[set[int]] = []
        self._trigger: list[set[int]] = []
        always = []
        scanned: set[int] = set()
        confirmed: dict[int, dict[int, _Probe]] = {}  # key id -> id -> a probe confirming a term of that key
        for index, rule in enumerate(self.rules):
            fields = 0
            for name in rule.fields or ("title", "text"):
                fields |= FIELD_BITS[name]
            c = _Compiled(rule=rule, regexes=tuple(re.compile(p, re.IGNORECASE) for p in rule.regex))
            c.probes = {"any": [], "all": [], "none": []}
            for kind in ("any", "all", "none"):
                for text in getattr(rule, kind):
                    term = parse_term(text)
                    if term.words:  # config validation refuses the others; an empty key would match everywhere
                        probes = tuple(self._probe(term, g, fields) for g in range(3) if fields & _GROUPS[g])
                        c.terms.append((kind, term))
                        c.probes[kind].append(probes)
                        for p in probes:
                            if p.confirm is not None:
                                confirmed.setdefault(p.key, {})[p.id] = p
            simple = not (c.probes["all"] or c.probes["none"] or c.regexes or rule.sources)
            for term_probes in c.probes["any"] or c.probes["all"]:
                for p in term_probes:
                    (self._direct if simple else self._trigger)[p.id].add(index)
                    scanned.add(p.key)
            if not (c.probes["any"] or c.probes["all"]):
                always.append(index)  # only regexes: checked on every item
            self._compiled.append(c)
        for scanner in self._scanners:
            scanner.build(scanned)
        self._active = [(i, s.automaton) for i, s in enumerate(self._scanners) if s.active]
        self._scanned = frozenset(scanned)  # for these keys, the ids found are complete: no lookup needed
        self._table = [(frozenset(d), frozenset(t)) for d, t in zip(self._direct, self._trigger, strict=True)]
        # Per scanned key, the terms to confirm when it is found, as (id, confirm, group, part).
        self._confirm = [tuple((p.id, p.confirm, p.scanner, p.part) for p in confirmed.get(k, {}).values()
                               if p.confirm is not None) for k in range(len(self._table))]
        # A key found alone that sets off nothing else decides the item by itself: its rules, sorted.
        self._alone = [None if t or self._confirm[k] else tuple(sorted(d)) for k, (d, t) in enumerate(self._table)]
        self._plans = [self._plan(c) for c in self._compiled]
        self._always = frozenset(always)

    def _plan(self, c: _Compiled) -> tuple[Any, ...]:
        """What checking a rule takes: its sources, the ids of its `any` terms (None: no `any`), a set of
        ids per `all` term (one found is enough), the ids of its `none` terms, the probes to look up
        (terms whose key is not scanned), its regexes and fields."""
        terms = c.probes["all"] + c.probes["none"]
        lookups = {p.id: p for t in terms for p in t if p.key not in self._scanned}
        return (frozenset(c.rule.sources), frozenset(p.id for t in c.probes["any"] for p in t) or None,
                tuple(frozenset(p.id for p in t) for t in c.probes["all"]),
                frozenset(p.id for t in c.probes["none"] for p in t), tuple(lookups.values()), c.regexes,
                c.rule.fields)

    def _new_id(self) -> int:
        self._direct.append(set())
        self._trigger.append(set())
        return len(self._direct) - 1

    def _probe(self, term: Term, group: int, fields: int) -> _Probe:
        keys = self._scanners[group].keys
        key = keys.get(term.key)
        if key is None:
            key = keys[term.key] = self._new_id()
        part = 0 if fields & _GROUPS[group] == _GROUPS[group] else 1 if fields & _GROUPS[group] == TITLE else 2
        if term.key == term.pattern and not part:
            return _Probe(group, key, term.key, key, None, 0)
        ident = self._terms.get((group, term.pattern, part))
        if ident is None:
            ident = self._terms[(group, term.pattern, part)] = self._new_id()
        return _Probe(group, key, term.key, ident, _confirmer(term), part)

    # -- the fast path -----------------------------------------------------------------------------

    def match_indices(self, source: str, title: str | None, text: str | None, author: str | None = None,
                      url: str | None = None) -> tuple[int, ...]:
        """Config positions of the rules an item matches, in config order."""
        return self.match_many([(source, title, text, author, url)])[0]

    def match_many(self, items: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        """`match_indices` for each of `items` ((source, title, text, author, url) tuples), in order.

        Items are matched in chunks of CHUNK: each chunk is joined, folded and scanned once per
        field group, so the per-item Python work is only for the items a key was found in (most
        items hit no key at all).
        """
        if len(items) <= CHUNK:
            return self._match_chunk(items)
        out: list[tuple[int, ...]] = []
        for start in range(0, len(items), CHUNK):
            out += self._match_chunk(items[start:start + CHUNK])
        return out

    def _match_chunk(self, items: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        if not items:
            return []
        for clean in (False, True):  # again with NULs in fields made spaces, if some field held one
            found: dict[int, list[int]] = {}
            folded: list[str] = ["", "", ""]
            spans: list[dict[int, tuple[int, int]]] = [{}, {}, {}]  # per group: item -> (start, end) in `folded`
            if all([self._scan(s, automaton, items, folded, spans, found, clean) for s, automaton in self._active]):
                break
        return self._decide(items, found, folded, spans)

    def _scan(self, s: int, automaton: Any, items: Sequence[Sequence[Any]], folded: list[str],
              spans: list[dict[int, tuple[int, int]]], found: dict[int, list[int]], clean: bool) -> bool:
        """Scan group s of a chunk, adding each item's keys to `found`; False if a field held a NUL."""
        folded[s] = text = fold(self._scanners[s].batch(items, clean))
        span = spans[s]
        last = 1 if s == 0 else 0  # the field that ends an item: its text, or its only field
        fields = 2 if s == 0 else 1
        nth, start = -1, 0  # the first NUL starts the batch: it ends "field -1"
        keys: list[int] | None = None
        for end, k in automaton.iter(text):
            if k >= 0:
                if keys is None:
                    keys = [k]
                else:
                    keys.append(k)
                continue
            if nth % fields == last:  # the NUL after item i's last field
                if keys is not None:
                    i = nth // fields
                    span[i] = (start, end)
                    if (earlier := found.get(i)) is None:
                        found[i] = keys
                    else:
                        earlier.extend(keys)
                    keys = None
                start = end + 1
            nth += 1
        return nth == len(items) * fields

    def _decide(self, items: Sequence[Sequence[Any]], found: dict[int, list[int]], folded: list[str],
                spans: list[dict[int, tuple[int, int]]]) -> list[tuple[int, ...]]:
        n = len(items)
        out: list[tuple[int, ...]] = [()] * n
        alone, table, confirm, always = self._alone, self._table, self._confirm, self._always
        for i in range(n) if always else found:
            keys = found.get(i, [])
            if len(keys) == 1 and not always and (decided := alone[keys[0]]) is not None:
                out[i] = decided
                continue
            ids = set(keys)
            for k in keys:
                for ident, search, group, part in confirm[k]:
                    if ident not in ids:
                        a, b = spans[group][i]  # k was found in this group, so the item has a span there
                        text = folded[group]
                        if part:
                            a, b = _narrow(text, a, b, part)
                        if search(text, a, b):
                            ids.add(ident)
            hits: set[int] = set()
            check = set(always)
            for k in ids:
                direct, trigger = table[k]
                if direct:
                    hits |= direct
                if trigger:
                    check |= trigger
            check -= hits
            if check:
                hits.update(self._check(check, ids, items[i], i, folded, spans))
            out[i] = tuple(sorted(hits)) if hits else ()
        return out

    def match(self, item: Mapping[str, Any]) -> list[RuleHit]:
        """The rules `item` (keys source, title, text, author, url) matches, in config order, with terms."""
        found = self.match_indices(str(item.get("source") or ""), item.get("title"), item.get("text"),
                                   item.get("author"), item.get("url"))
        if not found:
            return []
        collapsed = {name: " " + normalise(str(item.get(name) or "")) + " " for name in RULE_FIELDS}
        hits = []
        for i in found:
            c = self._compiled[i]
            terms = [t.text for kind, t in c.terms if kind != "none"
                     and any(t.pattern in collapsed[f] for f in c.rule.fields)]
            terms += [f"/{rx.pattern}/" for rx in c.regexes]
            r = c.rule
            hits.append(RuleHit(index=i, name=r.name, lane=r.lane, terms=tuple(terms), tags=r.tags, owner=r.owner))
        return hits

    def explain(self, item: Mapping[str, Any]) -> list[RuleExplanation]:
        """Every rule's outcome for `item`, with each term found in context (slow; for `why`)."""
        from socialscale.rules.explain import explain_rule, fold_with_map

        source = str(item.get("source") or "")
        texts = {name: str(item.get(name) or "") for name in RULE_FIELDS}
        maps = {name: fold_with_map(text) for name, text in texts.items()}
        return [explain_rule(i, c.rule, c.terms, c.regexes, source, texts, maps)
                for i, c in enumerate(self._compiled)]

    def _check(self, check: set[int], ids: set[int], item: Sequence[Any], i: int, folded: list[str],
               spans: list[dict[int, tuple[int, int]]]) -> list[int]:
        """The rules in `check` that `item` matches, given the ids found in it (`ids` gains the terms looked up)."""
        looked: set[int] = set()
        where: list[tuple[str, int, int] | None] = [None, None, None]
        out = []
        for r in check:
            sources, any_ids, all_sets, none_ids, lookups, regexes, fields = self._plans[r]
            if (sources and item[0] not in sources) or (any_ids is not None and any_ids.isdisjoint(ids)):
                continue
            for p in lookups:
                if p.id not in looked:
                    looked.add(p.id)
                    if self._look_up(p, item, i, folded, spans, where):
                        ids.add(p.id)
            missing = False
            for term in all_sets:
                if term.isdisjoint(ids):
                    missing = True
                    break
            if missing or not none_ids.isdisjoint(ids):
                continue
            if regexes:
                raw = dict(zip(RULE_FIELDS, (v or "" for v in item[1:5]), strict=True))
                if not all(any(rx.search(raw[f]) for f in fields) for rx in regexes):
                    continue
            out.append(r)
        return out

    def _look_up(self, p: _Probe, item: Sequence[Any], i: int, folded: list[str],
                 spans: list[dict[int, tuple[int, int]]], where: list[tuple[str, int, int] | None]) -> bool:
        """Whether a term whose key is not scanned for (a `none` term, say) is in the item."""
        w = where[p.scanner]
        if w is None:
            span = spans[p.scanner].get(i)
            if span is None:  # no key of that group in this item: fold its text now
                text = fold(self._scanners[p.scanner].raw(item))
                w = where[p.scanner] = (text, 0, len(text))
            else:
                w = where[p.scanner] = (folded[p.scanner], *span)
        text, a, b = w
        if text.find(p.text, a, b) < 0:
            return False
        return p.confirm is None or p.confirm(text, *_narrow(text, a, b, p.part)) is not None


def _narrow(text: str, a: int, b: int, part: int) -> tuple[int, int]:
    """Where to look in text[a:b], an item's title, NUL, text: all of it (0), the title (1) or the text (2)."""
    if not part:
        return a, b
    sep = text.find(SEP, a, b)
    return (a, sep) if part == 1 else (sep + 1, b)
