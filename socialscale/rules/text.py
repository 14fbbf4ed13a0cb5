"""How rules see text: folding (case, accents, punctuation) and the terms of a rule.

Matching runs on *folded* text: casefolded, NFKD with combining marks dropped, and every
character that is not a letter, digit or `_` turned into a space. A term is folded the same
way and padded with spaces (" refund ", or " refund" for the prefix `refund*`), so a hit in
folded text is already on word boundaries.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

SEP = "\x00"  # the field separator of scanned text; never produced by folding
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


_INITIALS = " tashwiobmfcldpnegryuvjkqzx"  # English letters by frequency at the start of a word, and anywhere
_LETTERS = " etaoinshrdlcumwfgypbvkjxqz"


def frequency_order(key: str) -> list[int]:
    """A sort key that puts common letters first, position by position (the padding space first of all)."""
    ranks = []
    for i, c in enumerate(key):
        rank = (_INITIALS if i == 1 else _LETTERS).find(c)  # key[0] is the padding space
        ranks.append(rank if rank >= 0 else len(_LETTERS) + ord(c))
    return ranks
