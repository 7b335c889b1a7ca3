"""Which language form an answer is written in: vi, vi_nodiac, en, mixed."""

from __future__ import annotations

import re
from typing import Literal

from grader.text.normalize import diacritic_ratio, fold, normalize

LanguageForm = Literal["vi", "vi_nodiac", "en", "mixed", "unknown"]

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Frequent Vietnamese function words, accent-folded; none is an English word.
_VI_FOLDED = frozenset(
    "la cua va duoc khong cac nhung mot trong cho khi thi de voi nay nen vi se da dang co hay neu lam giup ve "
    "nhu tu den ra bi cung rat nhieu mo hinh du lieu gia tri ham thuoc chi qua hon tang giam".split()
)
_EN = frozenset(
    "the is are of and to a in that it for with as on be by this an or from which can was we when not its "
    "has have if into more does do so than each also".split()
)


def detect_language(text: str) -> LanguageForm:
    """Classify ``text`` by diacritics and function words."""
    words = _WORD.findall(normalize(text))
    if not words:
        return "unknown"
    folded = [fold(w) for w in words]
    vi_hits = sum(w in _VI_FOLDED for w in folded)
    en_hits = sum(w in _EN for w in words)
    marked = diacritic_ratio(text)
    if marked >= 0.04:
        return "mixed" if en_hits >= max(3, 0.15 * len(words)) else "vi"
    if vi_hits >= 2 and vi_hits >= en_hits:
        return "vi_nodiac"
    if en_hits:
        return "en"
    return "vi_nodiac" if vi_hits else "unknown"
