"""Which language form an answer is written in: vi, vi_nodiac, en, mixed."""

from __future__ import annotations

import re
from typing import Literal

from grader.text.lexicon import LANGUAGE_EN, LANGUAGE_VI_FOLDED
from grader.text.normalize import diacritic_ratio, fold, normalize

LanguageForm = Literal["vi", "vi_nodiac", "en", "mixed", "unknown"]

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWEL = re.compile("[aeiouy]", re.IGNORECASE)
# The shape of a Vietnamese syllable without its marks: an initial consonant, one to three vowels, a final
# consonant. "parameters", "double", "batch" are not shaped so; "train" and "the" are, and stay undecided.
_VI_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?$")


def detect_language(text: str) -> LanguageForm:
    """Classify ``text`` by diacritics and function words."""
    words = _WORD.findall(normalize(text))
    if not words:
        return "unknown"
    folded = [fold(w) for w in words]
    vi_hits = sum(w in LANGUAGE_VI_FOLDED for w in folded)
    en_hits = sum(w in LANGUAGE_EN for w in words)
    marked = diacritic_ratio(text)
    if marked >= 0.04:
        return "mixed" if en_hits >= max(3, 0.15 * len(words)) else "vi"
    if vi_hits >= 2 and vi_hits >= en_hits:
        return "vi_nodiac"
    if en_hits:
        return "en"
    if vi_hits:
        return "vi_nodiac"
    # No function word at all ("Parameters double."): words that no Vietnamese syllable is shaped like are English.
    long = [w for w in folded if len(w) >= 3 and _VOWEL.search(w)]  # "sdfghj" is no word of either language
    foreign = sum(not _VI_SYLLABLE.match(w.lower()) for w in long)
    return "en" if long and 2 * foreign >= len(long) else "unknown"
