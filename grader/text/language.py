"""Which language form an answer is written in: vi, vi_nodiac, en, mixed."""

from __future__ import annotations

import re
from typing import Literal

from grader.text.lexicon import LANGUAGE_EN, LANGUAGE_VI_FOLDED
from grader.text.normalize import diacritic_ratio, fold, normalize

LanguageForm = Literal["vi", "vi_nodiac", "en", "mixed", "unknown"]

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


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
    return "vi_nodiac" if vi_hits else "unknown"
