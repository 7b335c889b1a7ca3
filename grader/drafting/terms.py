"""The words of a reference answer: stop words, technical terms, a crude stem, and the keywords a drafted point gets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.text.lexicon import STOP_EN, STOP_VI_FOLDED
from grader.text.normalize import fold

KEYWORDS_PER_POINT = 4
MAX_WEIGHT = 10
# Shorter stems would match too many unrelated words ("activ" in "active"): no alias then.
MIN_STEM_CHARS = 6
# A Vietnamese syllable written without diacritics (so "trung", "sai" are not mistaken for English terms).
_VI_SYLLABLE = re.compile(r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?$")
TOKEN = re.compile(r"[^\W_][\w'’\-./+]*[^\W_]|[^\W_]", re.UNICODE)
_SUFFIXES = ("ational", "ations", "ation", "ings", "ing", "ments", "ment", "ness", "edly", "ies", "ied", "ed", "es", "s", "ly")


def is_stop_word(word: str) -> bool:
    """Whether ``word`` is a function word (English or Vietnamese), a contraction of one, or a single letter."""
    w = word.lower().strip("'’.-").replace("’", "'")
    if "'" in w:  # contractions and possessives: don't, it's, battery's
        return w.endswith("n't") or w.split("'")[0] in STOP_EN
    return w in STOP_EN or fold(w) in STOP_VI_FOLDED or len(w) < 2 and not w.isdigit()


def _is_technical(word: str) -> bool:
    """Numbers, acronyms, camelCase, snake_case and hyphenated or dotted terms."""
    return bool(re.search(r"\d", word)) or (sum(c.isupper() for c in word) >= 2) or bool(re.search(r"[a-z][A-Z]|[_\-./+]", word))


def stem(word: str) -> str:
    """A crude English stem: lower case, accent-folded, common suffixes removed (for comparing terms)."""
    w = fold(word.lower())
    for suffix in _SUFFIXES:
        if len(w) - len(suffix) >= 4 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


@dataclass
class DraftPoint:
    """A candidate point of a reference answer."""

    text: str
    language: str  # "en" or "vi"
    content_words: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @property
    def weight(self) -> float:
        """The point's weight: its number of content words, 1 to MAX_WEIGHT."""
        return float(min(MAX_WEIGHT, max(1, len(self.content_words))))


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not function words (English and Vietnamese), in order."""
    return [w.strip("'’.-/") for w in TOKEN.findall(text) if not is_stop_word(w)]


def _is_latin_term(word: str) -> bool:
    """An English or technical term inside Vietnamese text ("activation", "mini-batch", "BN")."""
    if _is_technical(word):
        return True
    w = word.lower()
    return w.isascii() and w.isalpha() and len(w) >= 4 and not _VI_SYLLABLE.match(w)


def candidates(point: DraftPoint) -> list[str]:
    """Keyword candidates of a point, in text order.

    English: its content words. Vietnamese: the English/technical terms it
    mixes in, and pairs of adjacent content syllables (most Vietnamese words
    have two syllables).
    """
    if point.language != "vi":
        return point.content_words
    out: list[str] = []
    run: list[str] = []
    for w in [*TOKEN.findall(point.text), ""]:
        w = w.strip("'’.-/")
        if w and not is_stop_word(w) and not _is_latin_term(w):
            run.append(w)
            continue
        if len(run) >= 2:
            out.extend(" ".join(run[i : i + 2]) for i in range(len(run) - 1))
        run = []
        if w and not is_stop_word(w):
            out.append(w)
    return out


def _rank(term: str, question_stems: set[str]) -> float:
    stems = {stem(w) for w in term.split()}
    score = min(len(term), 12) / 12
    if _is_technical(term):
        score += 1.5
    elif " " not in term and _is_latin_term(term):
        score += 0.5
    if not stems & question_stems:
        score += 2.0
    return score


def choose_keywords(points: list[DraftPoint], question: str, per_point: int | None = None, question_terms: bool = False) -> None:
    """Fill each point's ``keywords``: distinctive terms of its clause, none shared between points.

    Terms of the question rank last; with ``question_terms`` false they are used only when a point has no other term.
    """
    question_stems = {stem(w) for w in content_words(question)}
    cands = [list(dict.fromkeys(candidates(p))) for p in points]
    owners: dict[str, set[int]] = {}
    for i, cs in enumerate(cands):
        for c in cs:
            owners.setdefault(stem(c), set()).add(i)
    for i, (p, cs) in enumerate(zip(points, cands)):
        limit = per_point or KEYWORDS_PER_POINT
        # A term in several points identifies none of them.
        own = [c for c in cs if len(owners[stem(c)]) == 1 and len(fold(c)) >= 2]
        fresh = own if question_terms else [c for c in own if not {stem(w) for w in c.split()} & question_stems]
        ranked = sorted(fresh, key=lambda c: -_rank(c, question_stems))
        if not ranked:  # nothing beyond the question's own words: one of those is better than none
            ranked = sorted(own, key=lambda c: -_rank(c, question_stems))[:1]
        chosen: list[str] = []
        seen: set[str] = set()
        for c in ranked:
            key = stem(c)
            if key in seen or any(key in stem(x) or stem(x) in key for x in chosen):
                continue
            chosen.append(c)
            seen.add(key)
            if len(chosen) == limit:
                break
        p.keywords = chosen


def keyword_aliases(term: str) -> list[str]:
    """Prefix forms that also match other endings of the term (``evaporated`` → ``evaporat``)."""
    if " " in term or _is_technical(term):
        return []
    s = stem(term)
    return [s] if len(s) >= MIN_STEM_CHARS and s != fold(term.lower()) else []
