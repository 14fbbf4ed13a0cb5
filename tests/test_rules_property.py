"""The fast matcher agrees with a naive reference: whole-string folding and token lists, rule by rule."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialscale.models import Rule
from socialscale.rules.explain import fold_with_map
from socialscale.rules.matcher import Matcher, normalise

# Characters that exercise every folding path: ASCII, punctuation, accents (precomposed and
# combining), ligatures, curly quotes, emoji, other scripts, odd whitespace, NUL.
ALPHABET = ("abcxyzABCXYZ019_ .,;:!?'\"-/#@()\t\n\x00"
            "éÉàçñüÅßﬁ\u0301\u0308’“”…—🙂❤️\u00a0\u2003σΣςдДж中文")
VOCAB = ["refund", "Refund", "refundable", "café", "cafe", "CAFÉ", "doesn’t", "doesn't", "doesnt", "work",
         "working", "acme", "ACME", "acme_bot", "looking", "for", "e-mail", "email", "straße", "strasse", "v2",
         "hire", "hiring", "σας", "ΣΑΣ", "中文"]
SEPARATORS = [" ", "  ", ", ", "\n", "’", "-", "!", " 🙂 ", "\u00a0", ".", "'", "…", "/"]


def ref_normalise(text: str) -> str:
    """The definition, as written in docs/rules.md, on the whole string at once."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold()).casefold()
    folded = "".join(c for c in folded if not unicodedata.category(c).startswith("M"))
    return " ".join(re.sub(r"\W+", " ", folded).split())


def ref_term_found(term: str, field_text: str) -> bool:
    prefix = term.strip().endswith("*")
    words = ref_normalise(term.strip().rstrip("*")).split()
    tokens = ref_normalise(field_text).split()
    if not words:
        return False
    n = len(words)
    for i in range(len(tokens) - n + 1):
        window = tokens[i:i + n]
        if window[:-1] == words[:-1] and (window[-1] == words[-1] or (prefix and window[-1].startswith(words[-1]))):
            return True
    return False


def ref_matches(rule: Rule, it: dict[str, Any]) -> bool:
    def found(term: str) -> bool:
        return any(ref_term_found(term, it.get(f) or "") for f in rule.fields)

    if rule.sources and it["source"] not in rule.sources:
        return False
    if rule.any and not any(found(t) for t in rule.any):
        return False
    if not all(found(t) for t in rule.all) or any(found(t) for t in rule.none):
        return False
    return all(any(re.search(rx, it.get(f) or "", re.IGNORECASE) for f in rule.fields) for rx in rule.regex)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_normalise_agrees_with_the_whole_string_definition(text):
    assert normalise(text) == ref_normalise(text)
    folded, positions = fold_with_map(text)
    assert folded == " " + normalise(text) + " " if normalise(text) else folded == " "
    assert len(positions) == len(folded)


words_text = st.lists(st.tuples(st.sampled_from(VOCAB), st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(w + s for w, s in parts))
terms = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3).map(" ".join).flatmap(
    lambda t: st.sampled_from([t, t + "*", t[:4] + "*"]))


@st.composite
def rules(draw: st.DrawFn, index: int) -> Rule:
    any_terms = draw(st.lists(terms, max_size=3))
    all_terms = draw(st.lists(terms, max_size=2))
    regex = draw(st.lists(st.sampled_from([r"\bacme\b", "caf[eé]", r"v\d"]), max_size=1))
    if not (any_terms or all_terms or regex):
        any_terms = [draw(terms)]
    fields = draw(st.sampled_from([("title", "text"), ("title",), ("text",), ("author",), ("url",),
                                   ("title", "author"), ("text", "url")]))
    return Rule(name=f"r{index}", lane="l", any=tuple(any_terms), all=tuple(all_terms),
                none=tuple(draw(st.lists(terms, max_size=2))), regex=tuple(regex), fields=fields,
                sources=tuple(draw(st.lists(st.sampled_from(["a", "b"]), max_size=1))))


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Rule]:
    return [draw(rules(i)) for i in range(draw(st.integers(1, 6)))]


items = st.fixed_dictionaries({
    "source": st.sampled_from(["a", "b"]),
    "title": words_text, "text": words_text,
    "author": st.one_of(st.none(), words_text), "url": st.one_of(st.none(), words_text),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_sets(), st.lists(items, min_size=1, max_size=5))
def test_matcher_agrees_with_naive_reference(rule_list, item_list):
    matcher = Matcher(rule_list)
    for it in item_list:
        expected = [i for i, r in enumerate(rule_list) if ref_matches(r, it)]
        assert [h.index for h in matcher.match(it)] == expected
        assert [e.index for e in matcher.explain(it) if e.matched] == expected
