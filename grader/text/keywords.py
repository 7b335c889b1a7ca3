"""Fuzzy keyword matching with rapidfuzz, on accented and accent-folded text.

A keyword matches when one of its forms appears in the answer with at most a
typo or two. Matching is tried first on the normalised text with diacritics,
then on the folded text; a folded-only match earns less, because folding
creates false friends (bàn/bán, không/khống).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from grader.text.lexicon import DEGREE_ADVERBS
from grader.text.normalize import fold, normalize

FOLDED_CREDIT = 0.85
_TOKEN = re.compile(r"\w+")
# Short terms must match exactly (as whole words); longer ones tolerate typos.
EXACT_BELOW = 5
MIN_RATIO = 88.0
MIN_SPAN_SHARE = 0.85
_DEGREE_RE = re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, DEGREE_ADVERBS), key=len, reverse=True)) + r") (?=\w)")


@dataclass(frozen=True)
class CompiledKeyword:
    """A keyword's forms in both matching forms."""

    term: str
    required: bool
    forms: tuple[str, ...]
    folded: tuple[str, ...]

    @classmethod
    def build(cls, term: str, aliases: Iterable[str] = (), required: bool = False) -> CompiledKeyword:
        """The keyword ``term`` with its ``aliases`` (a rubric :class:`~grader.rubric.schema.Keyword`'s fields)."""
        forms = tuple(dict.fromkeys(normalize(f) for f in (term, *aliases)))
        return cls(term, required, forms, tuple(dict.fromkeys(fold(f) for f in forms)))


@dataclass(frozen=True)
class KeywordHit:
    """Where a keyword was found: ``credit`` 1.0 accented, less folded-only."""

    term: str
    credit: float
    start: int  # offsets in the searched (normalised or folded) text
    end: int


def _find(form: str, text: str) -> tuple[float, int, int] | None:
    padded = f" {text} "
    if len(form) < EXACT_BELOW:
        if form not in text:
            return None  # every search below looks for the form itself, bounded: none can succeed
        i = padded.find(f" {form} ")
        if i < 0:
            for sep in (" ", "(", "/", "-"):
                for end in (" ", ")", ",", ".", "/", "-", ";", ":"):
                    i = padded.find(f"{sep}{form}{end}")
                    if i >= 0:
                        break
                if i >= 0:
                    break
        return (100.0, max(i, 0), max(i, 0) + len(form)) if i >= 0 else None
    if f" {form}" in padded:
        i = padded.find(f" {form}")
        return 100.0, i, i + len(form)
    align = fuzz.partial_ratio_alignment(form, text, score_cutoff=MIN_RATIO)
    if align is None:
        return None
    # Reject matches that start or end inside a word (e.g. "lr" in "already").
    s, e = align.dest_start, align.dest_end
    if s > 0 and text[s - 1].isalnum() and text[s].isalnum():
        return None
    if e < len(text) and text[e - 1].isalnum() and text[e].isalnum() and e - s < len(form):
        return None
    # A typo changes a letter or two, not the length: when the answer is shorter than the form,
    # rapidfuzz aligns the answer inside the form ("a" inside "zero mean" scores 100), so the
    # span found must be nearly as long as the form itself.
    if e - s < MIN_SPAN_SHARE * len(form):
        return None
    # A typo changes letters, not whole words: "zero extra parameters" is not in "don't get any
    # extra parameters" although the two align at 89 (the dropped word carried the meaning).
    if len(text[s:e].split()) < len(form.split()):
        return None
    # Nor does it change a code or a number: "recall = tp/(tp+fp)" is not "recall = tp/(tp+fn)",
    # "x4" is not "x2". Tokens of one or two characters and tokens with digits must match exactly.
    span_tokens = set(_TOKEN.findall(text[s:e]))
    if any(t not in span_tokens for t in _TOKEN.findall(form) if len(t) <= 2 or any(c.isdigit() for c in t)):
        return None
    return align.score, s, e


@lru_cache(maxsize=256)  # a text with a degree adverb is searched again for every keyword its typed forms missed
def without_degree_adverbs(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` without its degree adverbs (:data:`~grader.text.lexicon.DEGREE_ADVERBS`), and for each of its
    characters the offset of that character in ``text`` (plus one past the end)."""
    kept: list[int] = []
    pos = 0
    for m in _DEGREE_RE.finditer(text):
        kept.extend(range(pos, m.start()))
        pos = m.end()
    kept.extend(range(pos, len(text) + 1))
    return "".join(text[i] for i in kept[:-1]), tuple(kept)


def _first_hit(
    forms: tuple[str, ...], text: str, accept: Callable[[tuple[float, int, int]], bool] | None = None
) -> tuple[float, int, int] | None:
    """The first form's hit in ``text`` that ``accept`` takes; failing that, a hit of a form of several words in the
    text without its degree adverbs (a term said with one inside it), offsets mapped back to ``text``."""
    for form in forms:
        hit = _find(form, text)
        if hit is not None and (accept is None or accept(hit)):
            return hit
    if _DEGREE_RE.search(text) is None:  # most texts: no second search, and nothing cached
        return None
    bare, where = without_degree_adverbs(text)
    for form in forms:
        if " " in form and (hit := _find(form, bare)) is not None:
            mapped = (hit[0], where[hit[1]], where[hit[2] - 1] + 1)
            if accept is None or accept(mapped):
                return mapped
    return None


def match_keyword(kw: CompiledKeyword, norm_text: str, folded_text: str) -> KeywordHit | None:
    """The best hit of ``kw`` in an answer given in both forms, or None. A degree adverb inside the term is allowed
    ("hội tụ rất chậm" holds "hội tụ chậm")."""
    hit = _first_hit(kw.forms, norm_text)
    if hit is not None:
        return KeywordHit(kw.term, 1.0, hit[1], hit[2])
    aligned = len(norm_text) == len(folded_text)

    def not_false_friend(h: tuple[float, int, int]) -> bool:
        # A short form found only by folding, where the answer itself has diacritics, is a
        # false friend ("GAP" in "gấp đôi", "no" in "nó"): folding is for text typed without them.
        return not (h[2] - h[1] < EXACT_BELOW and aligned and norm_text[h[1] : h[2]] != folded_text[h[1] : h[2]])

    hit = _first_hit(kw.folded, folded_text, not_false_friend)
    return KeywordHit(kw.term, FOLDED_CREDIT, hit[1], hit[2]) if hit is not None else None


def keyword_coverage(keywords: tuple[CompiledKeyword, ...], norm_text: str, folded_text: str) -> tuple[float, list[KeywordHit], bool]:
    """(share of keywords found, weighted by credit; the hits; whether every required keyword was found)."""
    if not keywords:
        return 0.0, [], True
    hits = []
    required_ok = True
    for kw in keywords:
        hit = match_keyword(kw, norm_text, folded_text)
        if hit:
            hits.append(hit)
        elif kw.required:
            required_ok = False
    # Saturates: two distinctive terms are strong evidence even if the point lists five.
    denom = min(len(keywords), 3)
    return min(1.0, sum(h.credit for h in hits) / denom), hits, required_ok
