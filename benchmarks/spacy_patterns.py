#!/usr/bin/env python
"""Should spaCy do the word work? Two measurements, no model needed.

    .venv/bin/python benchmarks/spacy_patterns.py [--repeat 3]

1. The keyword-list guard's words: ``spacy.blank("xx").tokenizer``'s alphabetic tokens (what the
   guard used) against the regular expression it uses now (:func:`grader.match.answer.words`), and
   a plain ``\w+``, on every answer, rubric text and question of the repository: the same
   keyword-list scores?
2. The misconception patterns: :func:`grader.text.patterns.find_pattern` with its term search done
   by spaCy's ``Matcher`` (token patterns on the same words, accented forms as ORTH and folded ones
   as NORM, the typo and prefix rules as a ``fuzzy_compare`` callback) against the hand matcher,
   for every pattern of the bundled rubrics on every clause of every answer: the same matches?
   how fast?

spaCy is not a dependency of the grader: ``pip install 'spacy>=3.8,<3.9'`` to run this.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402
from spacy.matcher import Matcher  # noqa: E402
from spacy.tokens import Doc  # noqa: E402

import grader.match.answer as answer  # noqa: E402
import grader.text.patterns as patterns  # noqa: E402
from grader import load_rubric_set  # noqa: E402
from grader.paths import bundled_rubrics_dir  # noqa: E402
from grader.text.normalize import nfc  # noqa: E402
from grader.text.segment import segment  # noqa: E402

PLAIN = re.compile(r"\w+")


def spacy_words(text: str) -> list[str]:
    tokens = [t for t in _tokenizer()(nfc(text)) if not t.is_space]
    return [t.text.lower() for t in tokens if t.is_alpha]


def plain_words(text: str) -> list[str]:
    return [w.lower() for w in PLAIN.findall(nfc(text)) if w.isalpha()]


@lru_cache(maxsize=1)
def _tokenizer():  # type: ignore[no-untyped-def]
    return spacy.blank("xx").tokenizer


def keyword_list_scores(texts: list[str], words) -> list[float]:  # type: ignore[no-untyped-def]
    """The keyword-list guard's score of each text with ``words`` as its tokenizer."""
    kept = answer.words
    answer.words = words
    try:
        return [answer.keyword_list_score(t) for t in texts]
    finally:
        answer.words = kept


def corpus() -> tuple[list[str], list]:  # type: ignore[type-arg]
    """Every answer (fixtures, hold-out, rubric examples) and every other text of the rubrics; the loaded rubrics."""
    texts: list[str] = []
    for folder in (ROOT / "fixtures", ROOT / "fixtures" / "holdout"):
        for f in sorted(folder.glob("*.csv")):
            with f.open(encoding="utf-8-sig", newline="") as fh:
                texts += [row["answer"] for row in csv.DictReader(fh)]
    rubrics = [lr.rubric for lr in load_rubric_set([bundled_rubrics_dir()])]
    for r in rubrics:
        texts += [ex.answer for ex in r.examples] + [r.question.vi, r.question.en]
        for item in [*r.points, *r.misconceptions]:
            texts += [item.statement.vi, item.statement.en, *item.phrasings.all()]
    return texts, rubrics


# ---------------------------------------------------------------------------- the Matcher version
# FUZZY levels passed to the callback: the first word of a term (found as _positions finds it) or a later one
# (checked as _word_eq checks it), each as the term's last word (prefix allowed) or not.
FIRST, FIRST_LAST, REST, REST_LAST = 1, 2, 3, 4


def _compare(word: str, term: str, level: int) -> bool:
    last = level in (FIRST_LAST, REST_LAST)
    if level in (FIRST, FIRST_LAST):
        prefix = last and len(term) >= patterns.PREFIX_FROM
        if word == term or (prefix and word.startswith(term)):
            return True
        return len(term) >= patterns.FUZZY_FROM and fuzz.ratio(term, word) >= patterns.FUZZY_RATIO
    return patterns._word_eq(term, word, last)


_VOCAB = spacy.blank("xx").vocab


@lru_cache(maxsize=None)
def _matcher(alternatives: tuple) -> Matcher:  # type: ignore[type-arg]
    """One Matcher for a group's alternatives: key = alternative index; each term as 4 token patterns
    (first word accented or folded) x (other words all accented or all folded), as the hand matcher allows."""
    m = Matcher(_VOCAB, fuzzy_compare=_compare)
    for a, (term, folded) in enumerate(alternatives):
        n = len(term)
        if not n:
            continue
        firsts = [("ORTH", term[0]), ("NORM", folded[0])]
        rests = [[("ORTH", w) for w in term[1:]], [("NORM", w) for w in folded[1:]]]
        variants = []
        for attr, w in firsts:
            level = FIRST_LAST if n == 1 else FIRST
            head = {attr: {f"FUZZY{level}": w}}
            for rest in rests if n > 1 else [[]]:
                tail = [{ra: {f"FUZZY{REST_LAST if j == n - 2 else REST}": rw}} for j, (ra, rw) in enumerate(rest)]
                variants.append([head, *tail])
        m.add(str(a), variants)
    return m


@lru_cache(maxsize=4096)
def _doc(words: tuple[str, ...], folded: tuple[str, ...]) -> Doc:
    doc = Doc(_VOCAB, words=list(words) or [""], spaces=[True] * max(1, len(words)))
    for tok, f in zip(doc, folded):
        tok.norm_ = f
    return doc


def occurrences_with_matcher(alternatives, words, folded):  # type: ignore[no-untyped-def]
    """:func:`grader.text.patterns._occurrences` done by spaCy's Matcher."""
    if not words:
        return []
    m = _matcher(alternatives)
    best: dict[int, int] = {}  # start -> the first alternative (in order) that matches there
    for key, start, _end in m(_doc(words, folded)):
        a = int(_VOCAB.strings[key])
        if start not in best or a < best[start]:
            best[start] = a
    return sorted((s, s + len(alternatives[a][0])) for s, a in best.items())


def units(text: str) -> list[tuple[str, str]]:
    """(clause, its sentence) pairs searched for patterns, as the engine picks them."""
    segs = segment(nfc(text))
    out = []
    for s in segs:
        inner = [c for c in segs if c.kind == "clause" and s.start <= c.start and c.end <= s.end]
        if s.kind == "clause" or not inner:
            sentence = next((x.text for x in segs if x.kind == "sentence" and x.start <= s.start and s.end <= x.end), s.text)
            out.append((s.text, sentence))
        elif patterns.is_conditional(s.text):
            out.append((s.text, s.text))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (the best is kept)")
    args = ap.parse_args(argv)
    texts, rubrics = corpus()

    # 1. words
    reference = keyword_list_scores(texts, spacy_words)
    for name, fn in (("regex (grader.match.answer.words)", answer.words), ("plain \\w+", plain_words)):
        t0 = time.perf_counter()
        scores = keyword_list_scores(texts, fn)
        took = time.perf_counter() - t0
        same_words = sum(fn(t) == spacy_words(t) for t in texts)
        flips = sum((a >= 0.6) != (b >= 0.6) for a, b in zip(reference, scores))
        print(
            f"keyword-list words, {name}: the spaCy tokens in {same_words}/{len(texts)} texts; the same score in "
            f"{sum(a == b for a, b in zip(reference, scores))}/{len(texts)}, {flips} decisions (>= 0.6) changed; {1e3 * took:.0f} ms"
        )
    t0 = time.perf_counter()
    keyword_list_scores(texts, spacy_words)
    print(f"keyword-list words, spaCy tokenizer: {1e3 * (time.perf_counter() - t0):.0f} ms")

    # 2. patterns
    compiled = [
        patterns.CompiledPattern.build(p.terms, p.window, p.unless) for r in rubrics for m in r.misconceptions for p in m.patterns
    ]
    pairs = [(u, ctx) for t in texts for u, ctx in units(t)]
    work = [(p, u, ctx) for p in compiled for u, ctx in pairs]
    hand_occurrences = patterns._occurrences

    def run() -> list[str | None]:
        out = []
        for p, u, ctx in work:
            m = patterns.find_pattern(p, u, english=False, context=ctx)
            out.append(None if m is None else f"{m.start}:{m.end}:{m.words}")
        return out

    best_hand = best_spacy = float("inf")
    for _ in range(args.repeat):
        patterns._occurrences = hand_occurrences
        t0 = time.perf_counter()
        hand = run()
        best_hand = min(best_hand, time.perf_counter() - t0)
        patterns._occurrences = occurrences_with_matcher
        t0 = time.perf_counter()
        spacy_out = run()
        best_spacy = min(best_spacy, time.perf_counter() - t0)
    patterns._occurrences = hand_occurrences
    agree = sum(a == b for a, b in zip(hand, spacy_out))
    hits = sum(a is not None for a in hand)
    print(
        f"patterns: {len(compiled)} patterns x {len(pairs)} clauses = {len(work)} searches, {hits} matches by hand; "
        f"Matcher agrees on {agree}/{len(work)}; hand {best_hand:.2f} s, Matcher {best_spacy:.2f} s "
        f"(x{best_spacy / best_hand:.1f}; Matchers built once, one Doc per clause)"
    )
    for (p, u, _), a, b in zip(work, hand, spacy_out):
        if a != b:
            print(f"  differs on {u[:80]!r}: hand {a}, Matcher {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
