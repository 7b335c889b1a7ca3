"""Reference mode's answer-vs-reference features and per-question offsets (benchmarks/run_benchmarks.py only).

Question demoting, an IDF-weighted word alignment of answer and reference, a negation
count, and per-group shifts of a fitted model's log-odds: the features and the
calibration that the public-benchmark report measures. The grader itself does not use them.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from rapidfuzz import fuzz
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.drafting.terms import TOKEN, content_words, is_stop_word, stem  # noqa: E402
from grader.score.combine import sigmoid  # noqa: E402
from grader.text.normalize import nfc  # noqa: E402

NEGATORS = frozenset(
    "no not never none nothing nobody nowhere neither nor without cannot cant dont doesnt didnt isnt arent wasnt werent wont".split()
)


def question_stems(question: str) -> set[str]:
    """The stems of the question's content words (what "question demoting" removes)."""
    return {stem(w) for w in content_words(question)}


def demote_question(text: str, question: str) -> str:
    """``text`` without the content words it shares with ``question`` (function words stay).

    Question demoting (Mohler et al. 2011; Sultan et al. 2016): words an answer
    merely repeats from the question say nothing about whether it is right, so
    they are dropped before comparing an answer with the reference.
    """
    q = question_stems(question)
    kept = [t for t in TOKEN.findall(nfc(text or "")) if is_stop_word(t) or stem(t.strip("'’.-/")) not in q]
    return " ".join(kept)


def demoted_words(text: str, question: str) -> list[str]:
    """The content words of ``text`` that the question does not contain (lower case, 2+ characters)."""
    q = question_stems(question)
    return [w.lower() for w in content_words(text) if len(w) > 1 and stem(w) not in q]


def word_match(a: str, b: str) -> float:
    """How well word ``a`` matches word ``b``: 1 same word or stem, 0.9 a long common prefix, else a fuzzy ratio >= 0.8 or 0.

    Lower-case words are expected. The prefix rule catches other endings the crude
    :func:`stem` misses (``evaporates`` / ``evaporation``); the ratio catches misspellings.
    """
    if a == b or stem(a) == stem(b):
        return 1.0
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    if common >= 5 or (common >= 4 and min(len(a), len(b)) <= 5):
        return 0.9
    if abs(len(a) - len(b)) > max(len(a), len(b)) // 3 + 1:
        return 0.0
    # rapidfuzz's ratio is difflib's SequenceMatcher ratio here: the same on 11,105 answer-reference word
    # pairs of SemEval (15 differed in the last bit of the float)
    ratio = fuzz.ratio(a, b) / 100
    return ratio if ratio >= 0.8 else 0.0


def idf_weights(texts: Iterable[str]) -> Callable[[str], float]:
    """An inverse-document-frequency weight per word stem, from a corpus of (unlabelled) texts.

    scikit-learn's smoothed IDF, ``log((n + 1) / (df + 1)) + 1``: a stem no text contains gets the
    largest weight (the hand-written formula it replaced gave the same floats on SemEval's answers).
    """
    docs = list(texts)
    vectorizer = TfidfVectorizer(analyzer=lambda t: sorted({stem(w) for w in content_words(t)}), smooth_idf=True, norm=None)
    idf: dict[str, float] = {}
    try:
        vectorizer.fit(docs)
        idf = dict(zip(vectorizer.get_feature_names_out(), (float(v) for v in vectorizer.idf_)))
    except ValueError:  # no text, or none with a content word
        pass
    unseen = math.log(len(docs) + 1) + 1.0
    return lambda word: idf.get(stem(word), unseen)


def aligned_share(source: Sequence[str], target: Sequence[str], weight: Callable[[str], float] | None = None) -> float:
    """The (weighted) share of ``source`` words aligned to a ``target`` word: each counts its best :func:`word_match`.

    With source = reference words and target = answer words this is a recall of the
    reference; swapped, a precision of the answer. 0 when ``source`` is empty.
    """
    if not source:
        return 0.0
    total = got = 0.0
    for w in source:
        wt = weight(w) if weight else 1.0
        total += wt
        got += wt * max((word_match(w, t) for t in target), default=0.0)
    return got / total


def negator_count(text: str) -> int:
    """How many negating words (``not``, ``no``, ``never``, ``n't``, also without apostrophe: ``dont``) ``text`` has."""
    toks = re.findall(r"[a-z]+(?:'[a-z]+)?", nfc(text or "").lower().replace("’", "'"))
    return sum(1 for t in toks if t in NEGATORS or t.endswith("n't"))


# ------------------------------------------------------------------ per-question calibration
def logit(p: float) -> float:
    """The log-odds of a probability (clipped to [1e-6, 1 - 1e-6])."""
    p = min(1 - 1e-6, max(1e-6, p))
    return math.log(p / (1 - p))


def fit_group_offsets(logits: Sequence[float], y01: Sequence[float], groups: Sequence[str], strength: float = 3.0) -> dict[str, float]:
    """Per-group shifts of a fitted model's log-odds (e.g. one per question): a per-group calibration.

    For each group ``g`` the shift ``b_g`` maximises the (fractional) log-likelihood of
    ``sigmoid(logit + b_g)`` on that group's labels minus ``strength * b_g**2 / 2``:
    a group with few labelled answers keeps a shift near 0, one with many gets the
    shift its labels ask for. A group absent here gets no shift when applied (use
    ``offsets.get(group, 0.0)``). Only meaningful for groups that have labelled
    answers, i.e. questions already marked (never for unseen questions).
    """
    if not len(logits) == len(y01) == len(groups):
        raise ValueError("logits, labels and groups must have the same length")
    by_group: dict[str, list[tuple[float, float]]] = {}
    for z, y, g in zip(logits, y01, groups):
        by_group.setdefault(g, []).append((float(z), min(1.0, max(0.0, float(y)))))
    out: dict[str, float] = {}
    for g, rows in by_group.items():
        b = 0.0
        for _ in range(50):  # Newton steps on a strictly concave function of one variable
            probs = [sigmoid(z + b) for z, _ in rows]
            grad = sum(p - y for p, (_, y) in zip(probs, rows)) + strength * b
            hess = sum(p * (1 - p) for p in probs) + strength
            step = grad / hess
            b -= step
            if abs(step) < 1e-9:
                break
        out[g] = b
    return out
