"""Keyword rules compiled once into Aho-Corasick automata: which rules an item matches, and why.

Matching runs on *folded* text: casefolded, NFKD with combining marks dropped, and every
character that is not a letter, digit or `_` turned into a space. A term is folded the same
way and padded with spaces (" refund ", or " refund" for the prefix `refund*`), so a hit in
the automaton is already on word boundaries and no per-hit boundary check is needed.

One automaton per field group: title and text are scanned as one string (a NUL between
them keeps a term from spanning both), author and url each get their own automaton only
when some rule looks at them. A rule made only of `any` words is decided by the scan alone;
any other rule is checked only when one of its `any` terms (or, without `any`, its `all`
terms) was found. A phrase is keyed on its rarest-looking word and confirmed in the
whitespace-collapsed field, so collapsing whitespace only happens for items that need it.
"""

from __future__ import annotations

import codecs
import operator
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ahocorasick

from socialscale.models import RULE_FIELDS, Rule

if TYPE_CHECKING:
    from socialscale.rules_explain import RuleExplanation

TITLE, TEXT, AUTHOR, URL = 1, 2, 4, 8
FIELD_BITS = {"title": TITLE, "text": TEXT, "author": AUTHOR, "url": URL}
SEP = "\x00"  # between title and text in the scanned string; never produced by folding
STOPWORDS = frozenset("""a about after all also an and any are as at be been but by can could did do does
for from get got had has have he her him his how i if in into is it its just me my no not now of on one or our out
over s she so some t than that the their them then there these they this to too up us was we were what when which
who will with would you your""".split())

# Bytes below 128: letters lower-cased, digits and '_' kept, NUL kept (the field separator),
# everything else a space. Bytes from 128 up are parts of UTF-8 sequences and left alone.
_TABLE = bytes(
    (c if c == 0 or chr(c).isalnum() or c == 95 else 32) if not 65 <= c <= 90 else c + 32 for c in range(128)
) + bytes(range(128, 256))


def _fold_char(ch: str) -> str:
    """One non-ASCII character folded: NFKD, casefold, NFKD again, marks dropped, non-word chars spaces."""
    x = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold()).casefold()
    return "".join(c if c.isalnum() or c == "_" else " " for c in x if unicodedata.category(c)[0] != "M")


class _FoldCache(dict[str, str]):
    """Folded runs of non-ASCII characters (a curly quote, an emoji, an accented letter), computed once."""

    def __missing__(self, run: str) -> str:
        value = _fold_char(run) if len(run) == 1 else "".join([self[c] for c in run])
        if len(run) <= 16 and len(self) < 200_000:
            self[run] = value
        return value


_FOLDED = _FoldCache()  # a pure function's cache, shared by every Matcher: it never changes a result


def _fold_error(exc: UnicodeError) -> tuple[bytes, int]:
    # The ASCII encoder hands over each run of non-ASCII characters at once, and copies the
    # rest at C speed: cheaper than a regex scan for them (measured 1.3 us vs 2.5 us a post).
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return _FOLDED[exc.object[exc.start:exc.end]].encode("utf-8"), exc.end


codecs.register_error("socialscale-fold", _fold_error)


def fold(text: str) -> str:
    """Casefolded, accents dropped, every non-word character a space (NUL kept), not yet collapsed.

    Folding is per character, so only the non-ASCII runs (curly quotes, accents, emoji: a few
    per post) go through the cached Unicode path; the rest is one bytes.translate.
    """
    return text.encode("ascii", "socialscale-fold").translate(_TABLE).decode("utf-8")


def normalise(text: str) -> str:
    """The words of `text` as matching sees them: `Doesn’t  WORK!` -> `doesn t work`."""
    return " ".join(fold(text.replace(SEP, " ")).split())


@dataclass(frozen=True)
class Term:
    """One `any`/`all`/`none` term as written, and its folded words."""

    text: str
    words: tuple[str, ...]
    prefix: bool

    @property
    def pattern(self) -> str:
        """What the term is in padded, collapsed text: ' doesn t work ' or ' refund' for refund*."""
        return " " + " ".join(self.words) + ("" if self.prefix else " ")

    @property
    def key(self) -> str:
        """The automaton key: the whole pattern for one word; for a phrase, its rarest-looking word, padded."""
        if len(self.words) == 1:
            return self.pattern
        # The rarest word makes the fewest hits to confirm: a word that is not a stopword, longest first.
        i = max(range(len(self.words)), key=lambda k: (self.words[k] not in STOPWORDS, len(self.words[k])))
        last = i == len(self.words) - 1
        return " " + self.words[i] + ("" if last and self.prefix else " ")


def parse_term(text: str) -> Term:
    stripped = text.strip()
    prefix = stripped.endswith("*")
    return Term(text=text, words=tuple(normalise(stripped.rstrip("*")).split()), prefix=prefix)


def term_problem(text: str) -> str | None:
    """Why a term can never match, or None (used by config validation)."""
    stripped = text.strip()
    if "*" in stripped.rstrip("*"):
        return f"{text!r}: '*' is only allowed at the end of a term (a prefix such as refund*)"
    if not parse_term(text).words:
        return f"{text!r} has no letters or digits, so it matches nothing (use `regex` for symbols)"
    return None


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
    """Where one term is looked for: a key of one scanner, confirmed in the collapsed fields if needed."""

    scanner: int  # 0 title+text, 1 author, 2 url
    key: int  # the key's id, unique over all scanners
    pattern: str | None  # None: finding the key decides; else this must be in one of `fields`
    fields: int


@dataclass
class _Compiled:
    rule: Rule
    regexes: tuple[re.Pattern[str], ...]
    terms: list[tuple[str, Term]] = field(default_factory=list)  # (kind, term) for explaining
    probes: dict[str, list[tuple[_Probe, ...]]] = field(default_factory=dict)  # kind -> per term, its probes


_SECOND = operator.itemgetter(1)
_GROUPS = (TITLE | TEXT, AUTHOR, URL)


class _Scanner:
    """One automaton over one field group (title+text, author or url); its values are key ids."""

    def __init__(self, fields: int) -> None:
        self.fields = fields
        self.keys: dict[str, int] = {}
        self.automaton = ahocorasick.Automaton()

    def build(self) -> None:
        for text, k in self.keys.items():
            self.automaton.add_word(text, k)
        if self.keys:
            self.automaton.make_automaton()

    def segments(self, folded: str) -> tuple[tuple[int, str], ...]:
        """The collapsed, space-padded text of each field in the scanned string."""
        if self.fields == TITLE | TEXT:
            head, _, tail = folded.partition(SEP)
            return (TITLE, " " + " ".join(head.split()) + " "), (TEXT, " " + " ".join(tail.split()) + " ")
        return ((self.fields, " " + " ".join(folded.split()) + " "),)


class Matcher:
    """Every rule compiled once; `match()` is what tagging runs per item.

    Each key found leads, through `_table`, to the rules made of `any` terms only that it makes a
    match (`direct`), and to the other rules it makes worth checking (`trigger`: their `any`
    terms, or their `all` terms when they have no `any`). A checked rule is decided by set
    operations on the keys found (`_plans`), and only phrases and field-limited terms are
    confirmed in the collapsed text.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._compiled: list[_Compiled] = []
        self._scanners = [_Scanner(f) for f in _GROUPS]
        direct: list[set[int]] = []
        trigger: list[set[int]] = []
        always = []
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
                        c.terms.append((kind, term))
                        c.probes[kind].append(self._probes(term, fields, direct, trigger))
            simple = not (c.probes["all"] or c.probes["none"] or c.regexes or rule.sources)
            for term_probes in c.probes["any"] or c.probes["all"]:
                for p in term_probes:
                    (direct if simple and p.pattern is None else trigger)[p.key].add(index)
            if not (c.probes["any"] or c.probes["all"]):
                always.append(index)  # only regexes: checked on every item
            self._compiled.append(c)
        for scanner in self._scanners:
            scanner.build()
        self._active = [(i, s.automaton) for i, s in enumerate(self._scanners) if s.keys]
        self._table = [(frozenset(d), frozenset(t)) for d, t in zip(direct, trigger, strict=True)]
        self._plans = [self._plan(c) for c in self._compiled]
        self._always = frozenset(always)

    def _probes(self, term: Term, fields: int, direct: list[set[int]], trigger: list[set[int]]) -> tuple[_Probe, ...]:
        out = []
        for i, group in enumerate(_GROUPS):
            if fields & group:
                keys = self._scanners[i].keys
                if term.key not in keys:
                    keys[term.key] = len(direct)
                    direct.append(set())
                    trigger.append(set())
                decided = term.key == term.pattern and fields & group == group
                out.append(_Probe(i, keys[term.key], None if decided else term.pattern, fields & group))
        return tuple(out)

    @staticmethod
    def _plan(c: _Compiled) -> tuple[Any, ...]:
        """What deciding a triggered rule needs, as a flat tuple: mostly sets of key ids."""
        def fast(terms: Sequence[tuple[_Probe, ...]]) -> frozenset[int]:
            return frozenset(p.key for t in terms for p in t if p.pattern is None)

        def slow(terms: Sequence[tuple[_Probe, ...]]) -> tuple[tuple[_Probe, ...], ...]:
            return tuple(u for t in terms if (u := tuple(p for p in t if p.pattern is not None)))

        all_terms = c.probes["all"]
        single = [t for t in all_terms if len(t) == 1 and t[0].pattern is None]
        return (frozenset(c.rule.sources), bool(c.probes["any"]), fast(c.probes["any"]), slow(c.probes["any"]),
                fast(single), tuple(t for t in all_terms if t not in single), fast(c.probes["none"]),
                slow(c.probes["none"]), c.regexes, c.rule.fields)

    # -- the fast path -----------------------------------------------------------------------------

    def match_indices(self, source: str, title: str | None, text: str | None, author: str | None = None,
                      url: str | None = None) -> tuple[int, ...]:
        """Config positions of the rules an item matches, in config order."""
        title, text = title or "", text or ""
        if SEP in title or SEP in text:
            title, text = title.replace(SEP, " "), text.replace(SEP, " ")
        folded = ["", "", ""]
        found: set[int] = set()
        for i, automaton in self._active:
            if i == 0:
                scanned = folded[0] = fold(" " + title + " " + SEP + " " + text + " ")
            else:
                value = author if i == 1 else url
                if not value:
                    continue
                scanned = folded[i] = fold(" " + value.replace(SEP, " ") + " ")
            found.update(map(_SECOND, automaton.iter(scanned)))
        hits: set[int] = set()
        check = set(self._always) if self._always else set()
        table = self._table
        for k in found:
            direct, trigger = table[k]
            if direct:
                hits.update(direct)
            if trigger:
                check.update(trigger)
        check -= hits
        if check:
            segments: list[Any] = [None, None, None]

            def present(probes: tuple[_Probe, ...]) -> bool:
                for p in probes:
                    if p.key in found:
                        if p.pattern is None:
                            return True
                        if segments[p.scanner] is None:
                            segments[p.scanner] = self._scanners[p.scanner].segments(folded[p.scanner])
                        if any(p.pattern in t for f, t in segments[p.scanner] if f & p.fields):
                            return True
                return False

            plans = self._plans
            for i in check:
                (sources, has_any, any_fast, any_slow, all_fast, all_slow, none_fast, none_slow, regexes,
                 fields) = plans[i]
                if sources and source not in sources:
                    continue
                if has_any and any_fast.isdisjoint(found) and not any(present(t) for t in any_slow):
                    continue
                if not all_fast <= found or (all_slow and not all(present(t) for t in all_slow)):
                    continue
                if not none_fast.isdisjoint(found) or (none_slow and any(present(t) for t in none_slow)):
                    continue
                if regexes:
                    raw = {"title": title, "text": text, "author": author or "", "url": url or ""}
                    if not all(any(rx.search(raw[f]) for f in fields) for rx in regexes):
                        continue
                hits.add(i)
        return tuple(sorted(hits)) if hits else ()

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
        from socialscale.rules_explain import explain_rule, fold_with_map

        source = str(item.get("source") or "")
        texts = {name: str(item.get(name) or "") for name in RULE_FIELDS}
        maps = {name: fold_with_map(text) for name, text in texts.items()}
        return [explain_rule(i, c.rule, c.terms, c.regexes, source, texts, maps)
                for i, c in enumerate(self._compiled)]
