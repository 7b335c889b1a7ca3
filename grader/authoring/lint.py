"""``grader lint``: authoring checks that need the model.

* every reference phrasing, graded as a candidate's answer with the phrasing left out
  of its point, must earn its own point (at least partly) and no other point fully;
* keywords must be distinctive: a keyword found in the bundled generic sentences
  or in the question text matches answers that say nothing;
* a misconception's phrasings must not read as covering the points they contradict;
* the question text itself must score near zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.compile import Target, background_sentences, reference_match
from grader.engine import Grader
from grader.match.evidence import TargetEvidence
from grader.rubric.load import LoadedRubric, Problem
from grader.score.combine import point_probability
from grader.text.keywords import keyword_coverage, match_keyword
from grader.text.normalize import fold, nfc, normalize

QUESTION_MAX_SCORE = 0.1


@dataclass(frozen=True)
class _Ref:
    text: str
    loc: tuple[str | int, ...]


def _own_refs(lr: LoadedRubric, section: str) -> list[list[_Ref]]:
    items = lr.rubric.points if section == "points" else lr.rubric.misconceptions
    out = []
    for i, item in enumerate(items):
        refs = [_Ref(nfc(t), (section, i, "phrasings", lang, j)) for lang in ("vi", "en") for j, t in enumerate(getattr(item.phrasings, lang))]
        out.append(refs)
    return out


def _loo_z(target: Target, vec: np.ndarray, exclude: str) -> float:
    """Similarity of ``vec`` to ``target`` without the reference ``exclude`` (and its folded copy)."""
    keep = [k for k, r in enumerate(target.refs) if r != exclude and r != fold(exclude)]
    if not keep:
        return float("-inf")
    return float(target.z(float(reference_match(target.emb[keep] @ vec))))


def _evidence(target: Target, z: float, rival_z: float, text: str) -> TargetEvidence:
    """The evidence a one-segment answer ``text`` gives ``target`` (its standardised match is ``z``)."""
    norm = normalize(text)
    share, hits, required_ok = keyword_coverage(target.keywords, norm, fold(norm))
    return TargetEvidence(target, z, 0.0, 0, "", share, hits, required_ok, segment_point_z=rival_z)


def lint_rubric(grader: Grader, lr: LoadedRubric) -> list[Problem]:
    """Model-backed authoring problems of one rubric (warnings: a rubric can still grade)."""
    rubric = lr.rubric
    compiled = grader.compiled[rubric.id]
    problems: list[Problem] = []

    def add(loc: tuple[str | int, ...], message: str, hint: str) -> None:
        problems.append(Problem(lr.path, lr.line_of(loc), message, hint, "warning"))

    # 1. Each phrasing, graded as if a candidate wrote it, with its own point left out of it:
    #    it must earn its own point and must not earn another one.
    point_refs = _own_refs(lr, "points")
    texts = [r.text for refs in point_refs for r in refs]
    vectors = dict(zip(texts, grader.encoder.encode(texts))) if texts else {}
    params = grader.params
    for i, refs in enumerate(point_refs):
        own = compiled.points[i]
        for ref in refs:
            vec = vectors[ref.text]
            zs = [_loo_z(t, vec, ref.text) if k == i else t.best_z(vec) for k, t in enumerate(compiled.points)]
            probs = [point_probability(params, _evidence(t, z, max([*zs[:k], *zs[k + 1 :]], default=z), ref.text)) for k, (t, z) in enumerate(zip(compiled.points, zs))]
            if probs[i] < params.partial_at:
                add(
                    ref.loc,
                    f"phrasing \"{ref.text[:60]}\" would not earn its own point '{own.id}' (P={probs[i]:.2f}, z={zs[i]:.2f})",
                    "rephrase it with the point's terms, or move it to the point it expresses",
                )
            rival = max((k for k in range(len(zs)) if k != i), key=lambda k: probs[k], default=None)
            if rival is not None and probs[rival] >= params.covered_at:
                add(
                    ref.loc,
                    f"ambiguous: phrasing \"{ref.text[:60]}\" of '{own.id}' would also earn '{compiled.points[rival].id}' "
                    f"(P={probs[rival]:.2f}, z={zs[rival]:.2f} vs own P={probs[i]:.2f}, z={zs[i]:.2f})",
                    "make the two points say different things, or merge them",
                )

    # 2. Greedy keywords: present in generic text or in the question itself.
    generic = [(normalize(t), fold(normalize(t))) for t in background_sentences()]
    question = [(normalize(q), fold(normalize(q))) for q in (rubric.question.vi, rubric.question.en)]
    for section, targets in (("points", compiled.points), ("misconceptions", compiled.misconceptions)):
        for i, t in enumerate(targets):
            for j, kw in enumerate(t.keywords):
                hits = sum(match_keyword(kw, n, f) is not None for n, f in generic)
                in_question = any(match_keyword(kw, n, f) is not None for n, f in question)
                if hits >= 2 or in_question:
                    where = "the question text" if in_question else f"{hits} generic sentences"
                    add((section, i, "keywords", j), f"greedy keyword '{kw.term}' of '{t.id}' matches {where}", "use a term that only an answer stating this idea contains")

    # 3. Misconception phrasings must not read as covering what they contradict.
    mis_items = [(i, m, ref) for i, m in enumerate(rubric.misconceptions) for ref in _own_refs(lr, "misconceptions")[i]]
    results = grader.grade_many([(rubric.id, ref.text) for _, _, ref in mis_items]) if mis_items else []
    for (i, m, ref), res in zip(mis_items, results):
        # Coverage before the misconception cancels the point: the evidence alone reads as the point.
        wrongly = [p.id for p in res.points if p.id in m.contradicts and p.coverage >= grader.params.covered_at]
        if wrongly:
            add(ref.loc, f"misconception '{m.id}' phrasing \"{ref.text[:60]}\" is graded as covering {', '.join(wrongly)} (which it contradicts)", "add the wrong claim's distinctive terms as keywords, or rephrase")

    # ... and must not fire on the correct phrasings of the points they contradict:
    # such a misconception would cancel the point in every right answer.
    for i, m in enumerate(rubric.misconceptions):
        correct = [t for p in rubric.points if p.id in m.contradicts for t in p.phrasings.all()]
        if not correct:
            continue
        fired = sum(any(x.id == m.id for x in r.misconceptions) for r in grader.grade_many([(rubric.id, t) for t in correct]))
        if fired * 3 >= len(correct):
            add(
                ("misconceptions", i),
                f"misconception '{m.id}' fires on {fired}/{len(correct)} correct phrasings of {', '.join(m.contradicts)}",
                "its phrasings say what the point says: state the wrong claim with its distinctive terms",
            )

    # 4. The question itself earns (almost) nothing.
    for lang in ("vi", "en"):
        res = grader.grade(rubric.id, getattr(rubric.question, lang))
        if res.score > QUESTION_MAX_SCORE:
            add(("question", lang), f"the question text ({lang}) scores {res.score:.2f} as an answer", "phrasings or keywords repeat the question: make them state the answer")
    return problems
