"""Cutting text into the pieces the restorer reads: words, other chunks, punctuation, sentence breaks.

The model build (:mod:`grader.train.restorer`) and the run time use the same tokenizer, so a
sentence is cut the same way when the model learns from it and when an answer is restored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from grader.text.normalize import normalize_tone_placement, strip_diacritics

# A word: letters only (a "/" joins two words: "và/hoặc").
WORD_RE = re.compile(r"[^\W\d_]+")
_LEAD_PUNCT = "\"'([{<«“‘`*"
_TRAIL_PUNCT = "\"')]}>»”’`*.,;:!?…"
SENTENCE_END = set(".;:!?…")
MATH = set("=<>≤≥+-*/^%±×÷|")


@dataclass(frozen=True)
class Token:
    """A piece of the (NFC) text: ``kind`` is ``word``, ``other``, ``punct`` or ``break``."""

    start: int
    end: int
    text: str
    kind: str


def tokenize(text: str) -> list[Token]:
    """Words, other chunks, punctuation marks and sentence breaks, with offsets into ``text``."""
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while pos < n:
        c = text[pos]
        if c.isspace():
            if c == "\n":
                tokens.append(Token(pos, pos + 1, c, "break"))
            pos += 1
            continue
        end = pos
        while end < n and not text[end].isspace():
            end += 1
        _split_chunk(text, pos, end, tokens)
        pos = end
    return tokens


def _split_chunk(text: str, start: int, end: int, out: list[Token]) -> None:
    s, e = start, end
    while s < e and text[s] in _LEAD_PUNCT:
        out.append(Token(s, s + 1, text[s], "punct"))
        s += 1
    trail_start = e
    while trail_start > s and text[trail_start - 1] in _TRAIL_PUNCT:
        trail_start -= 1
    core = text[s:trail_start]
    if len(core) == 1 and text[trail_start : trail_start + 1] == ")":
        out.append(Token(s, trail_start, core, "other"))  # a list label: "a)", "b)"
    elif core:
        parts = core.split("/")
        if all(WORD_RE.fullmatch(p) for p in parts):
            p_start = s
            for i, part in enumerate(parts):
                if i:
                    out.append(Token(p_start - 1, p_start, "/", "punct"))
                out.append(Token(p_start, p_start + len(part), part, "word"))
                p_start += len(part) + 1
        else:
            out.append(Token(s, trail_start, core, "other"))
    for i in range(trail_start, e):
        ch = text[i]
        out.append(Token(i, i + 1, ch, "break" if ch in SENTENCE_END else "punct"))


def syllable_key(word: str) -> str:
    """The form the model knows a word by: NFC, lower case, new-style tone placement."""
    return normalize_tone_placement(unicodedata.normalize("NFC", word).lower())


def is_marked(word: str) -> bool:
    """Whether a word carries any Vietnamese diacritic (or đ)."""
    return strip_diacritics(word) != word

