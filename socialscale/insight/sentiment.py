"""Sentiment in -1..1 from an item's title and text: VADER, scored as the reference does, faster.

VADER (Hutto & Gilbert, ICWSM 2014; the `vaderSentiment` package, MIT) is a lexicon of ~7,500
words, emoticons and slang rated by people, plus rules for what social-media text does to them:
negation ("not good"), intensifiers ("very", "kinda"), ALL CAPS among lower-case words, "but",
exclamation marks, and emoji (read as their names). Its `polarity_scores` takes ~120 µs for a
short post, because it runs its rules on every word; `tag --all` over a million items could not
afford that. `Vader.compound` gives the same compound score (tests compare the two on every
post of the labelled set and on generated text), running the rules only around the words that
carry sentiment: most words of a post carry none.

Language: VADER's lexicon is English. A score is given only to text that is English as far as
we can tell: the source's language when it gives one, else the share of common function words of
English against those of six other European languages, and the script (docs/insight.md).
"""

from __future__ import annotations

import math
import re
import string
from importlib import resources

from socialscale.models import NEGATIVE_BELOW, POSITIVE_FROM, SENTIMENT_LABELS, SentimentLabel

# The rules' constants, as in vaderSentiment 3.3.2 (vaderSentiment/vaderSentiment.py).
B_INCR = 0.293
B_DECR = -0.293
C_INCR = 0.733
N_SCALAR = -0.74
NEGATE = frozenset((
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't", "can't",
    "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt",
    "neither", "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't", "neednt", "needn't",
    "never", "none", "nope", "nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "uhuh",
    "wasnt", "werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without", "wont",
    "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite"))
_UP = ("absolutely amazingly awfully completely considerable considerably decidedly deeply effing enormous "
       "enormously entirely especially exceptional exceptionally extreme extremely fabulously flipping flippin "
       "frackin fracking fricking frickin frigging friggin fully fuckin fucking fuggin fugging greatly hella highly "
       "hugely incredible incredibly intensely major majorly more most particularly purely quite really remarkably "
       "so substantially thoroughly total totally tremendous tremendously uber unbelievably unusually utter utterly "
       "very")
_DOWN = ("almost barely hardly kinda kindof kind-of less little marginal marginally occasional occasionally partly "
         "scarce scarcely slight slightly somewhat sorta sortof sort-of")
BOOSTERS: dict[str, float] = {w: B_INCR for w in _UP.split()} | {w: B_DECR for w in _DOWN.split()}
BOOSTERS |= {"just enough": B_DECR, "kind of": B_DECR, "sort of": B_DECR}
SPECIAL_CASES = {"the shit": 3.0, "the bomb": 3.0, "bad ass": 1.5, "badass": 1.5, "bus stop": 0.0,
                 "yeah right": -2.0, "kiss of death": -1.5, "to die for": 3.0, "beating heart": 3.5}
_PUNCT = string.punctuation
# Every idiom and two-word booster holds one of these words: without one near a word, no idiom applies.
_IDIOM_WORDS = frozenset("shit bomb bad ass bus stop yeah kiss death die beating heart enough kind sort".split())
# Words that, up to three before a sentiment word (idioms: up to two after), may change its value.
_CHANGERS = frozenset(BOOSTERS) | NEGATE | _IDIOM_WORDS | {"so", "this", "never", "without", "least", "no"}

LABELS = SENTIMENT_LABELS  # negative <= NEGATIVE_BELOW < neutral < POSITIVE_FROM <= positive (models.py)
MODEL = "vader-3.3.2"  # stored with nothing, but part of the tagging fingerprint: a change re-scores on `tag`

# Function words common in each language and rare in the others (a word in two lists is dropped from
# both): a text is taken for English unless another language's words outnumber English ones.
_FUNCTION_WORDS = {
    "en": "the and is are was were to of it this that with for you my have has not but be we they what how just "
          "your can do does an me our will would from there get if about been any all or when why who still "
          "after its it's i'm don't can't they're i've should could really thanks please",
    "de": "der die das und ist nicht ich mit ein eine auf für sie es den dem zu von sich auch wir aber noch bei "
          "wie oder kann mein nur schon sehr wenn war hat haben ihr sind wird uns",
    "fr": "le la les et est pas je une des du que qui pour dans sur avec ce il elle nous vous mais ou très "
          "c'est j'ai mon plus sont au aux cette être fait",
    "es": "el los las y es una del por con para muy pero está lo mi su se como más hay tiene esto yo nos "
          "cuando también gracias",
    "pt": "o os um não é com em mas muito você eu isso meu minha tem são uma obrigado também",
    "it": "il gli di che è non per sono ma mi ho questo anche molto come della perché grazie tutto tutti nella alla",
    "nl": "de het een en niet ik van dat op te zijn met voor maar ook je wel nog heb bij",
}
_SEEN: dict[str, set[str]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _word in _words.split():
        _SEEN.setdefault(_word, set()).add(_lang)
FUNCTION_WORDS: dict[str, str] = {w: next(iter(langs)) for w, langs in _SEEN.items() if len(langs) == 1}
_LETTER = re.compile(r"[^\W\d_]")
_FUNCTION_SET = frozenset(FUNCTION_WORDS)
_ACCENTED = frozenset("àâäáãåçéèêëíìîïñóòôöõúùûüßæœøÀÂÄÁÃÇÉÈÊËÍÎÏÑÓÔÖÕÚÙÛÜ")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")


def guess_language(lower: list[str], text: str) -> str | None:
    """en, de, fr, es, pt, it, nl, `other` (mostly a non-Latin script) or None (too few clues: taken as
    English). `lower`: the text's words, lower-cased. Distinct function words are counted."""
    accents = False
    if not text.isascii():
        wide = len(text) - len(text.encode("ascii", "ignore"))
        if wide * 4 > len(text):  # a quarter of the characters beyond ASCII: look at the script
            letters = len(_LETTER.findall(text))
            if letters and len(_LATIN.findall(text)) * 2 < letters:
                return "other"
        accents = not _ACCENTED.isdisjoint(text)
    found = _FUNCTION_SET.intersection(lower)
    if not found:
        return None
    counts: dict[str, int] = {}
    for word in found:
        lang = FUNCTION_WORDS[word]
        counts[lang] = counts.get(lang, 0) + 1
    english = counts.pop("en", 0)
    if counts:
        lang, most = max(counts.items(), key=lambda kv: kv[1])
        # two of its words beat English; one is enough in accented text without English ones
        if (most >= 2 and most > english) or (accents and not english):
            return lang
    return "en" if english else None


def source_language(value: object) -> str | None:
    """A language tag as a source gives it ("en-US", "de") as its primary subtag, lower-cased."""
    if not isinstance(value, str):
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def label(score: float | None) -> SentimentLabel | None:
    """negative, neutral or positive (docs/insight.md's bounds), None without a score."""
    if score is None:
        return None
    if score <= NEGATIVE_BELOW:
        return "negative"
    return "positive" if score >= POSITIVE_FROM else "neutral"


def lower_words(words: list[str]) -> list[str]:
    """Each word lower-cased: one `str.lower` on the joined words (no word holds a space, and lowering
    never makes one) instead of one call per word."""
    return " ".join(words).lower().split(" ") if words else []


def describe_sentiment(score: float | None) -> str:
    """`-0.48 (negative)`, or `none (no English text)`."""
    return "none (no English text)" if score is None else f"{score:+.2f} ({label(score)})"


class Vader:
    """VADER's lexicon and rules, loaded once; `compound(text)` equals the reference's compound score."""

    def __init__(self) -> None:
        files = resources.files("vaderSentiment")
        self.lexicon: dict[str, float] = {}
        for line in files.joinpath("vader_lexicon.txt").read_text(encoding="utf-8").rstrip("\n").split("\n"):
            if line:
                word, measure = line.strip().split("\t")[0:2]
                self.lexicon[word] = float(measure)
        # The reference replaces emoji one character at a time, so only one-character entries can match;
        # a space before each name separates it from the word before, as the reference's does.
        self.emoji: dict[int, str] = {}
        for line in files.joinpath("emoji_utf8_lexicon.txt").read_text(encoding="utf-8").rstrip("\n").split("\n"):
            emoji, name = line.strip().split("\t")[0:2]
            if len(emoji) == 1:
                self.emoji[ord(emoji)] = " " + name
        # Words that start the rules: in the lexicon and not skipped as boosters.
        self.words = frozenset(w for w in self.lexicon if w not in BOOSTERS)
        self._emoji_chars = frozenset(map(chr, self.emoji))

    def tokens(self, text: str) -> tuple[list[str], str]:
        """The reference's words and emoticons (split on whitespace, punctuation stripped from words
        longer than two characters) and the text its punctuation emphasis is counted on."""
        if not text.isascii() and not self._emoji_chars.isdisjoint(text):
            text = text.translate(self.emoji)
        return [s if len(s := t.strip(_PUNCT)) > 2 else t for t in text.split()], text

    def item_score(self, title: str | None, text: str | None, lang: str | None = None) -> float | None:
        """An item's score from its title and text; None without text, or when it is not English
        (`lang`: the source's language, primary subtag; without it, guessed)."""
        body = f"{title}\n{text}" if title and text else title or text or ""
        if not body.strip() or (lang is not None and lang != "en"):
            return None
        words, body = self.tokens(body)
        lower = lower_words(words)
        if lang is None and guess_language(lower, body) not in ("en", None):
            return None
        return self.score(words, lower, body)

    def compound(self, text: str) -> float:
        """The compound score of `text`, rounded to 4 places as the reference rounds it."""
        words, text = self.tokens(text)
        return self.score(words, lower_words(words), text)

    def score(self, words: list[str], lower: list[str], text: str) -> float:
        """The compound score of a text split by `tokens` (`lower`: its words lower-cased)."""
        found = self.words.intersection(lower)
        if not found:  # most words of a post carry no sentiment; often none of them does
            return 0.0
        n = len(words)
        caps = sum(map(str.isupper, words))
        cap_diff = 0 < n - caps < n
        at: list[int] = []
        for word in found:  # where each sentiment word is: list.index runs in C
            i = lower.index(word)
            while True:
                if not (word == "kind" and i < n - 1 and lower[i + 1] == "of"):
                    at.append(i)
                try:
                    i = lower.index(word, i + 1)
                except ValueError:
                    break
        at.sort()
        lexicon = self.lexicon
        values = []
        for i in at:
            # Most sentiment words have no negation, booster or idiom near them: their value is the
            # lexicon's (and ALL CAPS). The rules run only where something near could change it.
            near = lower[i - 3 if i > 3 else 0:i + 3]
            if (lower[i] == "no" or not _CHANGERS.isdisjoint(near) or "n't" in " ".join(near[:3 if i > 2 else i])):
                values.append(self._valence(words, lower, i, cap_diff))
            else:
                value = lexicon[lower[i]]
                if cap_diff and words[i].isupper():
                    value = value + C_INCR if value > 0 else value - C_INCR
                values.append(value)
        total = sum(_but_check(lower.index("but"), at, values) if "but" in lower else values)
        if total:
            ep = min(text.count("!"), 4) * 0.292
            qm_count = text.count("?")
            qm = 0.0 if qm_count <= 1 else qm_count * 0.18 if qm_count <= 3 else 0.96
            total = total + (ep + qm) if total > 0 else total - (ep + qm)
        return round(_normalize(total), 4)

    def _valence(self, words: list[str], lower: list[str], i: int, cap_diff: bool) -> float:
        """The reference's `sentiment_valence` for the lexicon word at i."""
        lexicon = self.lexicon
        low = lower[i]
        n = len(words)
        valence = lexicon[low]
        if low == "no" and i != n - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if (i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no") or (
                i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor")):
            valence = lexicon[low] * N_SCALAR
        if cap_diff and words[i].isupper():
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start in range(3):
            if i > start and lower[i - (start + 1)] not in lexicon:
                s = _scalar(words[i - (start + 1)], lower[i - (start + 1)], valence, cap_diff)
                if start == 1 and s != 0:
                    s = s * 0.95
                if start == 2 and s != 0:
                    s = s * 0.9
                valence = _negation(valence + s, lower, start, i)
                if start == 2 and not _IDIOM_WORDS.isdisjoint(lower[i - 3:i + 3]):
                    valence = _idioms(valence, lower, i)
        # "least" negates, except in "at least" and "very least"
        if i > 1 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
            if lower[i - 2] != "at" and lower[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence


def _scalar(word: str, low: str, valence: float, cap_diff: bool) -> float:
    scalar = BOOSTERS.get(low, 0.0)
    if scalar:
        if valence < 0:
            scalar *= -1
        if word.isupper() and cap_diff:
            scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
    return scalar


def _negated(low: str) -> bool:
    return low in NEGATE or "n't" in low


def _negation(valence: float, lower: list[str], start: int, i: int) -> float:
    if start == 0:
        if _negated(lower[i - 1]):
            valence = valence * N_SCALAR
    elif start == 1:
        if lower[i - 2] == "never" and lower[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif _negated(lower[i - 2]):
            valence = valence * N_SCALAR
    else:
        if (lower[i - 3] == "never" and lower[i - 2] in ("so", "this")) or lower[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
            pass
        elif _negated(lower[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _idioms(valence: float, lower: list[str], i: int) -> float:
    one_zero = f"{lower[i - 1]} {lower[i]}"
    two_one_zero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
    two_one = f"{lower[i - 2]} {lower[i - 1]}"
    three_two_one = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
    three_two = f"{lower[i - 3]} {lower[i - 2]}"
    for seq in (one_zero, two_one_zero, two_one, three_two_one, three_two):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lower) - 1 > i:
        zero_one = f"{lower[i]} {lower[i + 1]}"
        if zero_one in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one]
    if len(lower) - 1 > i + 1:
        zero_one_two = f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"
        if zero_one_two in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one_two]
    for n_gram in (three_two_one, three_two, two_one):
        if n_gram in BOOSTERS:
            valence = valence + BOOSTERS[n_gram]
    return valence


def _but_check(bi: int, at: list[int], values: list[float]) -> list[float]:
    """The reference's "but" rule: values before the first "but" (at `bi`) count half, after it 1.5
    times. Quirks included: the reference finds each value by `list.index`, so a value equal to an
    earlier one is weighted at the earlier one's place. Only non-zero values are kept here: a zero
    stays zero wherever it is weighted, and `index` of a non-zero value never stops at a zero."""
    kept = [(i, v) for i, v in zip(at, values, strict=True) if v]
    where = [i for i, _ in kept]
    weighted = [v for _, v in kept]
    for k in range(len(weighted)):
        value = weighted[k]
        first = weighted.index(value)
        if where[first] < bi:
            weighted[first] = value * 0.5
        elif where[first] > bi:
            weighted[first] = value * 1.5
    return weighted


def _normalize(score: float, alpha: float = 15) -> float:
    norm = score / math.sqrt(score * score + alpha)
    return -1.0 if norm < -1.0 else 1.0 if norm > 1.0 else norm
