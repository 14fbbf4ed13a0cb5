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

When an item's keys are many (rules of common words: a post can match a hundred), its rules are
not checked one by one: per key found, bit sets (an int, bit r for rule r) say which rules it
makes match outright, which wait on one of their phrases, and which must be checked; `none` and
`all` terms gate them as bit sets too, and two-word phrases are confirmed all at once from the
item's pairs of words in a row. Deciding an item (`decide_many`) then takes, per lane and per tag,
the lowest rule of those sets that matches, so its cost follows its keys and its lanes and tags,
not the number of rules it matches. Where nearly every word is a key, a chunk's items are split
into words and each word's keys looked up (`_scan_words`) rather than each key handed over by
the automaton.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise
from typing import TYPE_CHECKING, Any

import ahocorasick

from socialscale.insight.sentiment import label
from socialscale.models import RULE_FIELDS, Rule
from socialscale.rules.regex import Pattern, compile_regex
from socialscale.rules.text import SEP, Term, fold, frequency_order, normalise, parse_term
from socialscale.rules.text import term_problem as term_problem  # re-exported: the public name

if TYPE_CHECKING:
    from socialscale.rules.explain import RuleExplanation

TITLE, TEXT, AUTHOR, URL = 1, 2, 4, 8
FIELD_BITS = {"title": TITLE, "text": TEXT, "author": AUTHOR, "url": URL}
# Items matched per scan: small enough for the chunk's text to stay in the CPU caches (a chunk of
# 20,000 items was 25% slower per item than one of 500, measured on ~220-character posts).
CHUNK = 512
# Keys found an item (in the last chunk) above which a group's text is split into words rather than scanned
# by the automaton, and how many distinct words' keys are kept.
DENSE_HITS = 12
WORDS_KEPT = 100_000
# An item with at least this many rules waiting on a two-word phrase has all of them confirmed at once from
# its pairs of words (a split of its text), rather than each by a search.
PAIRS_AT_ONCE = 4
# An item with at most this many keys found has its candidate rules checked one by one (see `_sets`).
FEW_KEYS = 3
# An item with at most this many candidate rules has them checked in config order, every one; with more,
# only the first candidate of each need (a lane, a tag) that matches is looked for.
FEW = 6


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
    pattern: str = ""  # the term as its words in a row (`Term.pattern`): ' doesn t work '


@dataclass
class _Compiled:
    rule: Rule
    regexes: tuple[Pattern, ...]
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
        self.by_word = False  # whether the last chunk found so many keys that words are cheaper (see _scan)
        self.words: dict[str, tuple[int, ...]] = {}  # a folded word -> the keys found in it

    def word_keys(self, word: str) -> tuple[int, ...]:
        """The keys found in one folded word. Every key is a space and one word (or a word's start), so the
        keys of a padded text are those of its words, each found in the word padded alone."""
        found = tuple(k for _, k in self.automaton.iter(f" {word} ") if k >= 0)
        if len(self.words) >= WORDS_KEPT:
            self.words.clear()
        self.words[word] = found
        return found

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
    terms are looked up in the folded text of the few items whose rules are checked. Items with
    more than FEW_KEYS keys are decided by bit sets first (`_bitwise`, `_sets`).
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
            c = _Compiled(rule=rule, regexes=tuple(compile_regex(p) for p in rule.regex))
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
        self._probe_of = {p.id: p for c in self._compiled for probes in c.probes.values() for t in probes for p in t}
        # What a match of each rule decides (see decide_many): its lane, its tags, whether it names an owner.
        self._meta = [(r.lane, frozenset(r.tags), r.owner is not None) for r in self.rules]
        self._alone_deciding = [None if d is None else self._deciding(d) for d in self._alone]
        # Per scanned key, every rule it may make match: its own, and those of the terms it would confirm.
        # The same as bit sets, for decide_many: per key the rules it may make match; per need (each lane,
        # then each tag) the rules that give it; per lane the rules in it that name an owner.
        lanes = list(dict.fromkeys(r.lane for r in self.rules))
        tags = list(dict.fromkeys(t for r in self.rules for t in r.tags))
        self._lane_index = {r: lanes.index(rule.lane) for r, rule in enumerate(self.rules)}
        self._need_bits = [_bits(r for r, rule in enumerate(self.rules) if rule.lane == lane) for lane in lanes] + \
            [_bits(r for r, rule in enumerate(self.rules) if tag in rule.tags) for tag in tags]
        self._owner_bits = [_bits(r for r, rule in enumerate(self.rules) if rule.lane == lane and rule.owner)
                            for lane in lanes]
        self._always_bits = _bits(always)
        self._reach_bits = [_bits(frozenset().union(d, t, *(self._table[c[0]][0] | self._table[c[0]][1]
                                                            for c in self._confirm[k])))
                            for k, (d, t) in enumerate(self._table)]
        self._bitwise()
        # `sentiment:` conditions, checked after the terms: the item's label must be one of the rule's.
        self.moods: dict[int, frozenset[str]] = {i: frozenset(r.sentiment) for i, r in enumerate(self.rules)
                                                  if r.sentiment}

    def _deciding(self, matched: tuple[int, ...]) -> tuple[int, ...]:
        """The deciding subset (decide_many) of a list of matching rules in config order."""
        if len(matched) < 2:
            return matched
        out: list[int] = []
        lanes: set[str] = set()
        tags: frozenset[str] = frozenset()
        primary: str | None = None
        owner_named = False
        for r in matched:
            lane, rule_tags, names_owner = self._meta[r]
            if primary is not None and lane in lanes and rule_tags <= tags \
                    and (owner_named or not names_owner or lane != primary):
                continue
            out.append(r)
            primary = primary or lane
            lanes.add(lane)
            tags |= rule_tags
            owner_named = owner_named or (names_owner and lane == primary)
        return tuple(out)

    def _plan(self, c: _Compiled) -> tuple[Any, ...]:
        """What checking a rule takes: its sources; its `any` terms (None: no `any`), each `all` term
        (one of its probes found is enough) and its `none` terms, each as a pair (ids whose key found
        decides them, ids that need a search); its regexes and fields."""
        def split(probes: Sequence[_Probe]) -> tuple[frozenset[int], tuple[int, ...]]:
            decided = frozenset(p.id for p in probes if p.confirm is None and p.key in self._scanned)
            return decided, tuple(dict.fromkeys(p.id for p in probes if p.id not in decided))

        any_probes = [p for t in c.probes["any"] for p in t]
        return (frozenset(c.rule.sources), split(any_probes) if any_probes else None,
                tuple(split(t) for t in c.probes["all"]), split([p for t in c.probes["none"] for p in t]),
                c.regexes, c.rule.fields)

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
            return _Probe(group, key, term.key, key, None, 0, term.pattern)
        ident = self._terms.get((group, term.pattern, part))
        if ident is None:
            ident = self._terms[(group, term.pattern, part)] = self._new_id()
        return _Probe(group, key, term.key, ident, _confirmer(term), part, term.pattern)

    # -- the fast path -----------------------------------------------------------------------------

    def match_indices(self, source: str, title: str | None, text: str | None, author: str | None = None,
                      url: str | None = None, mood: str | None = None) -> tuple[int, ...]:
        """Config positions of the rules an item matches, in config order (`mood`: its sentiment label)."""
        return self.match_many([(source, title, text, author, url)], [mood])[0]

    def match_many(self, items: Sequence[Sequence[Any]],
                   moods: Sequence[str | None] | None = None) -> list[tuple[int, ...]]:
        """`match_indices` for each of `items` ((source, title, text, author, url) tuples), in order;
        `moods`: each item's sentiment label, for rules with a `sentiment:` condition (without them,
        such rules match nothing).

        Items are matched in chunks of CHUNK: each chunk is joined, folded and scanned once per
        field group, so the per-item Python work is only for the items a key was found in (most
        items hit no key at all).
        """
        if len(items) <= CHUNK:
            out = self._match_chunk(items)
        else:
            out = []
            for start in range(0, len(items), CHUNK):
                out += self._match_chunk(items[start:start + CHUNK])
        if self.moods:
            need = self.moods
            for n, (hits, mood) in enumerate(zip(out, moods or [None] * len(out), strict=True)):
                if hits and not all(mood in need[i] for i in hits if i in need):
                    out[n] = tuple(i for i in hits if i not in need or mood in need[i])
        return out

    def _match_chunk(self, items: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        if not items:
            return []
        return self._decide(items, *self._found(items))

    def _found(self, items: Sequence[Sequence[Any]]) -> tuple[dict[int, list[int]], list[str],
                                                              list[dict[int, tuple[int, int]]], dict[int, list[str]]]:
        """Scan a chunk: per item the keys found, the folded text of each group, each item's span in it, and
        (when title and text were split into words) its words."""
        for clean in (False, True):  # again with NULs in fields made spaces, if some field held one
            found: dict[int, list[int]] = {}
            folded: list[str] = ["", "", ""]
            spans: list[dict[int, tuple[int, int]]] = [{}, {}, {}]  # per group: item -> (start, end) in `folded`
            words: dict[int, list[str]] = {}
            if all([self._scan(s, automaton, items, folded, spans, found, clean, words)
                    for s, automaton in self._active]):
                break
        return found, folded, spans, words

    def _scan(self, s: int, automaton: Any, items: Sequence[Sequence[Any]], folded: list[str],
              spans: list[dict[int, tuple[int, int]]], found: dict[int, list[int]], clean: bool,
              words: dict[int, list[str]]) -> bool:
        """Scan group s of a chunk, adding each item's keys to `found`; False if a field held a NUL.

        The automaton walks the text at C speed but hands over each key found as a Python object
        (about 0.2 us): with rules of common words, nearly every word is a key. So when the last chunk
        found more than DENSE_HITS keys an item, this chunk's items are split into words instead and
        each word's keys are looked up (computed once per distinct word): the same keys, found at a
        cost per word rather than per key."""
        scanner = self._scanners[s]
        folded[s] = text = fold(scanner.batch(items, clean))
        if scanner.by_word:
            return self._scan_words(scanner, text, len(items), spans[s], found, words if s == 0 else None)
        span = spans[s]
        hits = 0
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
                    hits += len(keys)
                    if (earlier := found.get(i)) is None:
                        found[i] = keys
                    else:
                        earlier.extend(keys)
                    keys = None
                start = end + 1
            nth += 1
        scanner.by_word = hits > DENSE_HITS * len(items)
        return nth == len(items) * fields

    def _scan_words(self, scanner: _Scanner, text: str, n: int, span: dict[int, tuple[int, int]],
                    found: dict[int, list[int]], words: dict[int, list[str]] | None) -> bool:
        """`_scan` by words: each item's span (up to the NUL after its last field) split into words, kept
        in `words` (title and text: for `_sets`)."""
        fields = 2 if scanner.fields == TITLE | TEXT else 1
        if text.count(SEP) != n * fields + 1:
            return False  # a field held a NUL
        find, known, word_keys = text.find, scanner.words.get, scanner.word_keys
        hits = 0
        start = find(SEP) + 1
        for i in range(n):
            end = find(SEP, start)
            if fields == 2:
                end = find(SEP, end + 1)
            keys: list[int] = []
            split = text[start:end].split()
            for word in split:
                got = known(word)
                if got is None:
                    got = word_keys(word)
                if got:
                    keys += got
            if keys:
                hits += len(keys)
                span[i] = (start, end)
                if words is not None:
                    words[i] = split
                if (earlier := found.get(i)) is None:
                    found[i] = keys
                else:
                    earlier.extend(keys)
            start = end + 1
        scanner.by_word = hits > DENSE_HITS * n
        return True

    def _bitwise(self) -> None:
        """Tables that decide most rules for every rule at once (an int as a bit set, bit r for rule r).

        A rule is *plain* when its key hits alone decide it: no regex, no `sentiment:`, at most one
        `all` term and `none` terms that are keys the scan finds completely. Per scanned key, `_keyed`
        holds three sets side by side (each `_width` bits): the plain rules it gives an `any` term
        (sure), the plain rules with a phrase of that key (a match once the phrase is confirmed), and
        the other rules it may make match (checked one by one, as `_ItemView.matches` says). `_gates`
        holds, per key, the plain rules its `none` term rules out and those its `all` term lets in.
        So an item's matching plain rules cost one OR per key found, not a check per rule.
        """
        width = len(self.rules)
        ids = len(self._table)
        sure, phrase, ruled_out, let_in = [0] * ids, [0] * ids, [0] * ids, [0] * ids
        plain = no_all = anywhere = paired = unpaired = 0
        by_source: dict[str, int] = {}
        pairs: dict[tuple[str, str], int] = {}  # a two-word phrase of title+text -> the plain rules it gives
        self._phrases: list[tuple[int, ...]] = []  # per plain rule: its `any` terms that need confirming
        for r, (plan, rule) in enumerate(zip(self._plans, self.rules, strict=True)):
            sources, any_terms, all_terms, none_terms, regexes, _ = plan
            bit = 1 << r
            if regexes or rule.sentiment or any_terms is None or len(all_terms) > 1 \
                    or any(searched for _, searched in all_terms) or none_terms[1]:
                self._phrases.append(())
                continue
            plain |= bit
            self._phrases.append(any_terms[1])
            for t in any_terms[0]:
                sure[t] |= bit
            for t in any_terms[1]:
                p = self._probe_of[t]
                phrase[p.key] |= bit
                words = p.pattern.split()
                if p.scanner == 0 and not p.part and len(words) == 2 and p.pattern.endswith(" "):
                    pairs[(words[0], words[1])] = pairs.get((words[0], words[1]), 0) | bit
                    paired |= bit
                else:
                    unpaired |= bit
            for t in none_terms[0]:
                ruled_out[t] |= bit
            if all_terms:
                for t in all_terms[0][0]:
                    let_in[t] |= bit
            else:
                no_all |= bit
            if sources:
                for s in sources:
                    by_source[s] = by_source.get(s, 0) | bit
            else:
                anywhere |= bit
        other = ((1 << width) - 1) & ~plain
        self._width = width
        self._mask = (1 << width) - 1
        self._keyed = [a | p << width | (reach & other) << 2 * width
                       for a, p, reach in zip(sure, phrase, self._reach_bits, strict=True)]
        self._gates = [n | a << width for n, a in zip(ruled_out, let_in, strict=True)]
        self._always_keyed = (self._always_bits & other) << 2 * width
        self._no_all = no_all
        self._anywhere = anywhere
        self._by_source = {s: anywhere | b for s, b in by_source.items()}
        self._pairs = pairs
        self._paired = paired
        self._unpaired = unpaired

    def _sets(self, keys: Sequence[int], source: Any, folded: str, span: tuple[int, int] | None,
              words: list[str] | None = None) -> tuple[int, int, int]:
        """An item's rules as three bit sets: (plain rules that match, plain rules that match if one of their
        phrases is confirmed, other rules to check); for an item with few keys, every candidate is to
        check. With many phrases waiting, the two-word ones of title and text are confirmed at once from
        the pairs of words in a row in the item's text (`folded[span]`)."""
        if len(keys) <= FEW_KEYS:  # the rules of a key or two: checking each is cheaper than the bit sets
            return 0, 0, functools.reduce(operator.or_, map(self._reach_bits.__getitem__, keys), self._always_bits)
        width, mask = self._width, self._mask
        x = functools.reduce(operator.or_, map(self._keyed.__getitem__, keys), self._always_keyed)
        y = functools.reduce(operator.or_, filter(None, map(self._gates.__getitem__, keys)), 0)
        ok = (self._no_all | y >> width) & self._by_source.get(source, self._anywhere) & ~(y & mask)
        sure = x & mask & ok
        pending = (x >> width) & mask & ok & ~sure
        if span is not None and (pending & self._paired).bit_count() >= PAIRS_AT_ONCE:
            # Many phrases to confirm: all two-word ones at once, from the item's pairs of words in a row
            # (" w1 +w2 " in folded text is w1, w2 in a row among its words; the NUL between title and
            # text is a word of its own, so no pair spans two fields). The others are confirmed one by one.
            if words is None:
                words = folded[span[0]:span[1]].split()
            sure |= pending & functools.reduce(
                operator.or_, filter(None, map(self._pairs.get, pairwise(words))), 0)
            pending &= self._unpaired & ~sure
        return sure, pending, x >> 2 * width

    def _decide(self, items: Sequence[Sequence[Any]], found: dict[int, list[int]], folded: list[str],
                spans: list[dict[int, tuple[int, int]]], words: dict[int, list[str]]) -> list[tuple[int, ...]]:
        """Per item, every rule it matches, in config order: the plain rules its keys decide, then each
        phrase and other rule checked."""
        n = len(items)
        out: list[tuple[int, ...]] = [()] * n
        alone, always = self._alone, self._always_bits
        for i in range(n) if always else found:
            keys = found.get(i, [])
            if len(keys) == 1 and not always and (decided := alone[keys[0]]) is not None:
                out[i] = decided
                continue
            sets = self._sets(keys, items[i][0], folded[0], spans[0].get(i), words.get(i))
            out[i] = self._every(items[i], i, folded, spans, keys, *sets)
        return out

    def _every(self, fields: Sequence[Any], i: int, folded: list[str], spans: list[dict[int, tuple[int, int]]],
               keys: list[int], matched: int, pending: int, other: int) -> tuple[int, ...]:
        """Every rule one item matches, in config order: the sure ones, and each other candidate checked."""
        x = pending | other
        if not x:
            return _indices(matched)
        plans, phrases = self._plans, self._phrases
        item = _ItemView(self, fields, i, folded, spans, set(keys))
        if not matched:  # every candidate checked (a few keys): the matches come in order
            out = []
            while x:
                low = x & -x
                r = low.bit_length() - 1
                if item.any_pending(phrases[r]) if low & pending else item.matches(plans[r]):
                    out.append(r)
                x ^= low
            return tuple(out)
        while x:
            low = x & -x
            r = low.bit_length() - 1
            if item.any_pending(phrases[r]) if low & pending else item.matches(plans[r]):
                matched |= low
            x ^= low
        return _indices(matched)

    def _decide_needed(self, items: Sequence[Sequence[Any]], found: dict[int, list[int]], folded: list[str],
                       spans: list[dict[int, tuple[int, int]]], words: dict[int, list[str]]) -> list[tuple[int, ...]]:
        """`decide_many` for one chunk: per item its bit sets (`_sets`), then per need (a lane, a tag) the
        first rule in config order that matches, each rule checked at most once and only when no sure
        match comes before it."""
        n = len(items)
        out: list[tuple[int, ...]] = [()] * n
        alone, always = self._alone_deciding, self._always_bits
        for i in range(n) if always else found:
            keys = found.get(i, [])
            if len(keys) == 1 and not always and (decided := alone[keys[0]]) is not None:
                out[i] = decided
                continue
            sure, pending, other = self._sets(keys, items[i][0], folded[0], spans[0].get(i), words.get(i))
            candidates = sure | pending | other
            if candidates.bit_count() <= FEW:
                out[i] = self._deciding(self._every(items[i], i, folded, spans, keys, sure, pending, other))
            else:
                out[i] = self._decide_item(items[i], i, folded, spans, keys, sure, pending, other)
        return out

    def _decide_item(self, fields: Sequence[Any], i: int, folded: list[str], spans: list[dict[int, tuple[int, int]]],
                     keys: list[int], sure: int, pending: int, other: int) -> tuple[int, ...]:
        """One item's deciding rules: per need, the first candidate that matches (a sure match, or one checked
        when nothing sure comes before it), each rule checked at most once."""
        plans, phrases, owners = self._plans, self._phrases, self._owner_bits
        verdict: dict[int, bool] = {}
        view: list[_ItemView] = []

        def first(x: int) -> int:
            while x:
                low = x & -x
                r = low.bit_length() - 1
                if low & sure:
                    return r
                ok = verdict.get(r)
                if ok is None:
                    if not view:
                        view.append(_ItemView(self, fields, i, folded, spans, set(keys)))
                    ok = verdict[r] = view[0].any_pending(phrases[r]) if low & pending else view[0].matches(plans[r])
                if ok:
                    return r
                x ^= low
            return -1

        candidates = sure | pending | other
        lanes = [r for group in self._need_bits[:len(owners)] if (r := first(candidates & group)) >= 0]
        if not lanes:
            return ()
        kept = set(lanes)
        kept.update(r for group in self._need_bits[len(owners):] if (r := first(candidates & group)) >= 0)
        primary = min(lanes)  # the first match; nothing before it matches
        owner = first(candidates & owners[self._lane_index[primary]] & ~((1 << primary) - 1))
        if owner >= 0:
            kept.add(owner)
        return tuple(sorted(kept))

    def decide_many(self, items: Sequence[Sequence[Any]]) -> list[tuple[int, ...]]:
        """Like `match_many`, but per item only the matching rules that decide its outcome (`tagging.decide`):
        the first match, the first match of each of its lanes, the first to give each of its tags, and
        the first in the primary lane that names an owner. `decide()` gives the same lane, lanes, tags
        and owner from these as from every match. What an item costs follows its keys and what it
        needs (a check only for a candidate with no sure match before it), not its number of matches."""
        out: list[tuple[int, ...]] = []
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            if chunk:
                out += self._decide_needed(chunk, *self._found(chunk))
        return out

    def match(self, item: Mapping[str, Any]) -> list[RuleHit]:
        """The rules `item` (keys source, title, text, author, url) matches, in config order, with terms."""
        found = self.match_indices(str(item.get("source") or ""), item.get("title"), item.get("text"),
                                   item.get("author"), item.get("url"), label(item.get("sentiment")))
        if not found:
            return []
        collapsed = {name: " " + normalise(str(item.get(name) or "")) + " " for name in RULE_FIELDS}
        hits = []
        for i in found:
            c = self._compiled[i]
            terms = [t.text for kind, t in c.terms if kind != "none"
                     and any(t.pattern in collapsed[f] for f in c.rule.fields)]
            terms += [f"/{rx.pattern}/" for rx in c.regexes]
            terms += [f"sentiment: {label(item.get('sentiment'))}"] if c.rule.sentiment else []
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


def item_fields(item: Any) -> tuple[Any, ...]:
    """What the matcher reads of an Item, in the order of a stored row's fields: (source, title, text,
    author, url)."""
    return (item.source, item.title, item.text, item.author, item.url)


def _indices(bits: int) -> tuple[int, ...]:
    """The positions of the set bits of `bits`, lowest first."""
    out: list[int] = []
    if bits.bit_count() < 24:  # a few: one by one; many: a byte at a time
        while bits:
            low = bits & -bits
            out.append(low.bit_length() - 1)
            bits ^= low
        return tuple(out)
    for base, byte in enumerate(bits.to_bytes((bits.bit_length() + 7) // 8, "little")):
        if byte:
            out += map((8 * base).__add__, _BYTE_BITS[byte])
    return tuple(out)


_BYTE_BITS = [tuple(b for b in range(8) if byte >> b & 1) for byte in range(256)]  # a byte's set bits


def _bits(indices: Any) -> int:
    """A set of rule positions as an int, bit r for rule r."""
    out = 0
    for r in indices:
        out |= 1 << r
    return out


class _ItemView:
    """One item of a chunk while its rules are checked: which term ids are in it, each looked for once,
    and only when a rule being checked needs it."""

    __slots__ = ("m", "item", "i", "folded", "spans", "ids", "tried", "where")

    def __init__(self, matcher: Matcher, item: Sequence[Any], i: int, folded: list[str],
                 spans: list[dict[int, tuple[int, int]]], ids: set[int]) -> None:
        self.m, self.item, self.i, self.folded, self.spans = matcher, item, i, folded, spans
        self.ids = ids  # the keys the scans found, then every term found in the item
        self.tried: set[int] = set()  # terms looked for and not found
        self.where: list[tuple[str, int, int] | None] = [None, None, None]

    def has(self, t: int) -> bool:
        """Whether term t, one that finding its key does not decide, is in the item (looked for once)."""
        if t in self.ids:
            return True
        if t in self.tried:
            return False
        self.tried.add(t)
        m = self.m
        p = m._probe_of[t]
        if p.key in m._scanned:  # the scan is complete for this key: the term needs the key found
            if p.key not in self.ids:
                return False
            a, b = self.spans[p.scanner][self.i]
            text = self.folded[p.scanner]
            found = p.confirm is not None and p.confirm(text, *_narrow(text, a, b, p.part)) is not None
        else:
            found = m._look_up(p, self.item, self.i, self.folded, self.spans, self.where)
        if found:
            self.ids.add(t)
        return found

    def any_of(self, terms: tuple[frozenset[int], tuple[int, ...]]) -> bool:
        decided, searched = terms
        if not decided.isdisjoint(self.ids):
            return True
        for t in searched:
            if self.has(t):
                return True
        return False

    def any_pending(self, searched: tuple[int, ...]) -> bool:
        """Whether one of a plain rule's `any` terms that need confirming (its phrases) is in the item."""
        for t in searched:
            if self.has(t):
                return True
        return False

    def matches(self, plan: tuple[Any, ...]) -> bool:
        sources, any_terms, all_terms, none_terms, regexes, fields = plan
        item = self.item
        if sources and item[0] not in sources:
            return False
        if any_terms is not None and not self.any_of(any_terms):
            return False
        for term in all_terms:
            if not self.any_of(term):
                return False
        if self.any_of(none_terms):
            return False
        if regexes:
            raw = dict(zip(RULE_FIELDS, (v or "" for v in item[1:5]), strict=True))
            if not all(any(rx.search(raw[f]) for f in fields) for rx in regexes):
                return False
        return True


def _narrow(text: str, a: int, b: int, part: int) -> tuple[int, int]:
    """Where to look in text[a:b], an item's title, NUL, text: all of it (0), the title (1) or the text (2)."""
    if not part:
        return a, b
    sep = text.find(SEP, a, b)
    return (a, sep) if part == 1 else (sep + 1, b)
