"""Word patterns: rules that detect a claim stated outright.

Embeddings cannot tell "high bias means overfitting" from "high variance means
overfitting": the two sentences share every word but one. A misconception can
therefore carry patterns (see :class:`grader.rubric.schema.Pattern`): groups of
terms that must appear in order, close together, inside one clause, and not
under a negation. A pattern that matches detects the claim, and the matched
words are shown as the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from grader.text.language import detect_language
from grader.text.negation import NEGATION_SCOPE_WORDS, folded_negated, is_counterfactual, is_negated
from grader.text.normalize import fold, normalize
from grader.text.segment import split_clauses

_WORD = re.compile(r"\w+", re.UNICODE)
# Words this long tolerate one typo; a term's last word this long also matches as a prefix.
FUZZY_FROM = 6
PREFIX_FROM = 4
FUZZY_RATIO = 85.0

Words = tuple[str, ...]
# Words that put the claim aside rather than make it: "thay vì load hết vào RAM".
_INSTEAD = re.compile(r"\b(?:thay vì|thay vi|thay cho|instead of|rather than)\b")


@dataclass(frozen=True)
class CompiledPattern:
    """A pattern with its terms split into words, accented and folded."""

    groups: tuple[tuple[tuple[Words, Words], ...], ...]  # group -> alternatives -> (words, folded words)
    window: int
    unless: tuple[tuple[Words, Words], ...]

    @classmethod
    def build(cls, terms: Sequence[Iterable[str]], window: int = 4, unless: Iterable[str] = ()) -> CompiledPattern:
        """A pattern from a rubric :class:`~grader.rubric.schema.Pattern`'s fields."""

        def split(term: str) -> tuple[Words, Words]:
            norm = normalize(term)
            return tuple(_WORD.findall(norm)), tuple(_WORD.findall(fold(norm)))

        groups = tuple(tuple(split(t) for t in group if _WORD.search(t)) for group in terms)
        return cls(groups, window, tuple(split(t) for t in unless if _WORD.search(t)))


@dataclass(frozen=True)
class PatternMatch:
    """Where a pattern matched, in word positions of the searched text, and the words it matched."""

    start: int
    end: int
    words: str


def _word_eq(term: str, word: str, last: bool) -> bool:
    if term == word:
        return True
    if last and len(term) >= PREFIX_FROM and word.startswith(term):
        return True
    # ratio >= 85 needs lengths within a factor of about 1.35: skip the call otherwise
    n, m = len(term), len(word)
    return n >= FUZZY_FROM and 20 * min(n, m) >= 15 * max(n, m) and fuzz.ratio(term, word) >= FUZZY_RATIO


def _positions(term: str, words: Words, last: bool) -> set[int]:
    """Indices of the words that ``term`` matches (see ``_word_eq``), found without a Python loop per pair."""
    prefix = last and len(term) >= PREFIX_FROM
    out = {i for i, w in enumerate(words) if w == term or (prefix and w.startswith(term))}
    if len(term) >= FUZZY_FROM:
        out.update(i for _, _, i in process.extract(term, words, scorer=fuzz.ratio, score_cutoff=FUZZY_RATIO, limit=None))
    return out


def _occurrences(alternatives: tuple[tuple[Words, Words], ...], words: Words, folded: Words) -> list[tuple[int, int]]:
    """(start, end) word positions where any alternative occurs; accented or folded."""
    found: dict[int, int] = {}
    for term, term_folded in alternatives:
        n = len(term)
        if not n:
            continue
        starts = _positions(term[0], words, n == 1) | _positions(term_folded[0], folded, n == 1)
        for i in sorted(starts):
            if i in found or i + n > len(words):
                continue
            if all(_word_eq(term[j], words[i + j], j == n - 1) for j in range(1, n)) or all(
                _word_eq(term_folded[j], folded[i + j], j == n - 1) for j in range(1, n)
            ):
                found[i] = i + n
    return sorted(found.items())


def find_pattern(pattern: CompiledPattern, text: str, english: bool, context: str | None = None) -> PatternMatch | None:
    """The first place where ``pattern`` matches in ``text`` (one clause), or None.

    ``context`` is the clause's sentence: one that argues by a negated condition
    ("nếu không dùng generator thì phải load hết vào RAM") states no claim.
    """
    if is_counterfactual(context if context is not None else text):
        return None
    norm = normalize(text)
    words = tuple(_WORD.findall(norm))
    folded = tuple(_WORD.findall(fold(norm)))
    if len(folded) != len(words):  # folding changed the word count (rare symbols): match folded only
        words = folded
    occ = []
    for group in pattern.groups:  # stop at the first group that is absent
        found = _occurrences(group, words, folded)
        if not found:
            return None
        occ.append(found)
    blockers = {s for s, _ in _occurrences(pattern.unless, words, folded)} if pattern.unless else set()
    for first in occ[0]:
        chain = [first]
        for group in occ[1:]:
            prev_end = chain[-1][1]
            nxt = next((o for o in group if prev_end <= o[0] <= prev_end + pattern.window), None)
            if nxt is None:
                break
            chain.append(nxt)
        if len(chain) < len(occ):
            continue
        start, end = chain[0][0], chain[-1][1]
        if any(start <= b < end for b in blockers):
            continue
        matched = {i for s, e in chain for i in range(s, e)}
        outside = " ".join(words[i] for i in range(max(0, start - NEGATION_SCOPE_WORDS), end) if i not in matched)
        if outside and (is_negated(outside, english) or folded_negated(outside) or _INSTEAD.search(outside)):
            continue  # "không phải bias cao thì overfit", "thay vì load hết vào RAM": denied, not claimed
        return PatternMatch(start, end, " ".join(words[start:end]))
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# "If it's too big, training gets slow": the condition and its consequence are split at the
# comma, but together they make the claim; such a sentence is searched whole as well.
_CONDITIONAL = re.compile(r"^\W*(?:if|when|once|nếu|khi|lúc|neu|luc)\b")


def is_conditional(sentence: str) -> bool:
    """Whether ``sentence`` opens with a condition (if, when, nếu, khi …)."""
    return bool(_CONDITIONAL.match(normalize(sentence)))


def clauses_of(text: str) -> list[str]:
    """The clauses of a short text (a phrasing, a model answer), split as answers are (the same clause rules)."""
    out = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if sentence:
            spans = split_clauses(sentence, 0, len(sentence))
            if len(spans) > 1:
                out.extend(sentence[s:e] for s, e in spans)
                if is_conditional(sentence):
                    out.append(sentence)
            else:
                out.append(sentence)
    return out


def pattern_matches_text(pattern: CompiledPattern, text: str) -> PatternMatch | None:
    """Whether ``pattern`` matches any clause of ``text`` (language guessed from the text)."""
    english = detect_language(text) == "en"
    return next((m for c in clauses_of(text) if (m := find_pattern(pattern, c, english))), None)
