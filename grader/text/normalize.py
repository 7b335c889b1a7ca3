"""Text normalisation for matching Vietnamese, English and mixed answers.

Two forms are used throughout:

* ``normalize(text)``: NFC, lower case, one tone-placement convention
  (``hoà`` → ``hòa``), typographic quotes and dashes made plain, spaces collapsed.
  It keeps the diacritics, so an accented match can rank above a folded one.
* ``fold(text)``: ``normalize`` and then every diacritic removed, ``đ`` → ``d``:
  the form in which an answer typed without diacritics meets the rubric.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks of Vietnamese (grave, acute, hook above, tilde, dot below).
_TONES = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _old_to_new_style() -> dict[str, str]:
    # In open syllables oa/oe/uy the old convention puts the tone on the second
    # vowel (hoà, khoẻ, thuỷ), the new one on the first (hòa, khỏe, thủy).
    table = {}
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for tone in _TONES:
            old = first + unicodedata.normalize("NFC", second + tone)
            new = unicodedata.normalize("NFC", first + tone) + second
            table[old] = new
    return table


_TONE_TABLE = _old_to_new_style()
# Only at the end of a word (open syllable) and not after q, where "u" is part of the consonant.
_TONE_RE = re.compile(r"(?<![qQ])(" + "|".join(map(re.escape, _TONE_TABLE)) + r")(?!\w)", re.IGNORECASE)

_PUNCT = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
        "\u200b": "",
    }
)
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC. rapidfuzz and the word regular expressions misbehave on decomposed (NFD) input."""
    return unicodedata.normalize("NFC", text)


def normalize_tone_placement(text: str) -> str:
    """Rewrite old-style tone placement (``hoà``, ``thuỷ``) into the new style (``hòa``, ``thủy``)."""
    return _TONE_RE.sub(lambda m: _TONE_TABLE.get(m.group(1).lower(), m.group(1)), text)


# Short texts (keywords, phrasings, clauses) recur and are memoised; whole answers are
# one-offs and are not, so memory stays flat over a long batch.
_CACHED_LEN = 200


def _normalize(text: str) -> str:
    t = nfc(text).translate(_PUNCT).lower()
    t = normalize_tone_placement(t)
    return _SPACES.sub(" ", t).strip()


def _strip(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base.replace("đ", "d").replace("Đ", "D")


_normalize_cached = lru_cache(maxsize=32768)(_normalize)
_strip_cached = lru_cache(maxsize=32768)(_strip)


def normalize(text: str) -> str:
    """NFC, lower case, one tone convention, plain punctuation, single spaces."""
    return _normalize_cached(text) if len(text) <= _CACHED_LEN else _normalize(text)


def strip_diacritics(text: str) -> str:
    """Remove every combining mark and map đ/Đ to d/D; keeps case."""
    return _strip_cached(text) if len(text) <= _CACHED_LEN else _strip(text)


def fold(text: str) -> str:
    """The accent-folded matching form: ``normalize`` without diacritics."""
    return strip_diacritics(normalize(text))


_VI_MARKED = re.compile("[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.IGNORECASE)


def diacritic_ratio(text: str) -> float:
    """Share of alphabetic characters that carry a Vietnamese diacritic."""
    letters = sum(c.isalpha() for c in text)
    if not letters:
        return 0.0
    return len(_VI_MARKED.findall(text)) / letters
