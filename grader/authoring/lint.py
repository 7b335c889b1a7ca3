"""``grader lint``: authoring checks that need the model.

Each reference phrasing is graded by the real engine as if a candidate had written it, with the
phrasing itself left out of its point's (or misconception's) references and out of the rubric's probe
(refitted without it and its generated copies): a held-out phrasing is a new answer saying the same thing. Then:

* a point phrasing must not earn another point fully: if its own point is missing it reads as the
  other point (misplaced), else it is ambiguous. A phrasing that its siblings alone do not
  recognise is no problem: that is what a further phrasing adds;
* a misconception phrasing must not earn a point the misconception contradicts while the
  misconception goes undetected: a candidate stating the wrong claim in other words would be
  credited for the idea it denies (the remedy for claims that embeddings cannot tell from the
  point is a pattern: docs/authoring.md, Patterns);
* a misconception must not fire on the correct phrasings of the points it contradicts;
* keywords must be distinctive: a keyword found in the bundled generic sentences or in the
  question text matches answers that say nothing;
* the question text itself must score near zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from grader.analysis import analyse_many
from grader.compile import CompiledRubric, background_sentences
from grader.compile.build import rubric_probe_examples
from grader.compile.probe import RubricProbe, fit_probe, generated_from
from grader.engine import Grader
from grader.match import collect_evidence
from grader.result import GradeResult
from grader.rubric.load import LoadedRubric, Problem
from grader.text.keywords import match_keyword
from grader.text.normalize import fold, nfc, normalize

QUESTION_MAX_SCORE = 0.1


@dataclass(frozen=True)
class _Ref:
    """One reference phrasing: where it is, whose it is, and its text."""

    section: str  # "points" or "misconceptions"
    index: int  # the item's index in its section
    text: str
    loc: tuple[str | int, ...]


def _refs(lr: LoadedRubric) -> list[_Ref]:
    out = []
    for section, items in (("points", lr.rubric.points), ("misconceptions", lr.rubric.misconceptions)):
        for i, item in enumerate(items):
            for lang in ("vi", "en"):
                for j, text in enumerate(getattr(item.phrasings, lang)):
                    out.append(_Ref(section, i, nfc(text), (section, i, "phrasings", lang, j)))
    return out


def held_out(compiled: CompiledRubric, section: str, index: int, text: str, probe: RubricProbe | None = None) -> CompiledRubric:
    """``compiled`` with ``text`` (and its accent-folded copy) left out of one target's references, and
    ``probe`` (one fitted without it) in place of the rubric's."""
    if probe is not None:
        compiled = dataclasses.replace(compiled, probe=probe)
    targets = list(compiled.points if section == "points" else compiled.misconceptions)
    target = targets[index]
    keep = [k for k, ref in enumerate(target.refs) if ref not in (text, fold(text))]
    if not keep:  # its only reference: nothing is left to match it
        return compiled
    targets[index] = dataclasses.replace(target, refs=[target.refs[k] for k in keep], ref_negated=target.ref_negated[keep], emb=target.emb[keep])
    return dataclasses.replace(compiled, **{section: targets})


class _HeldOutProbes:
    """The rubric's probe refitted without one phrasing and its generated copies: the probe learned from
    every phrasing, so a phrasing graded as a candidate's answer must be unknown to it as well."""

    def __init__(self, grader: Grader, rubric_id: str):
        rubrics = [c.rubric for c in grader.compiled.values()]
        self.examples = rubric_probe_examples(grader.compiled[rubric_id].rubric, rubrics, background_sentences())
        texts = list(dict.fromkeys(t for t, _ in self.examples))
        self.vectors = dict(zip(texts, grader.reference_encoder.encode(texts)))

    def without(self, text: str) -> RubricProbe:
        gone = generated_from(text)
        kept = [(t, c) for t, c in self.examples if t not in gone]
        return fit_probe(kept, lambda ts: np.stack([self.vectors[t] for t in ts]))


def _graded(grader: Grader, lr: LoadedRubric, refs: list[_Ref]) -> tuple[list[GradeResult], list[GradeResult]]:
    """Each phrasing graded by the engine against its rubric: with the phrasing left out, and as it is.

    One encoder call for all, through the reference embeddings' disk cache (the phrasings are rubric text).
    """
    rubric_id = lr.rubric.id
    compiled = grader.compiled[rubric_id]
    others = [c for qid, c in grader.compiled.items() if qid != rubric_id]
    analyses = analyse_many([r.text for r in refs], grader.reference_encoder) if refs else []
    probes = _HeldOutProbes(grader, rubric_id) if refs and compiled.probe is not None else None
    held, whole = [], []
    for ref, analysis in zip(refs, analyses):
        probe = probes.without(ref.text) if probes is not None else None
        evidence = collect_evidence(held_out(compiled, ref.section, ref.index, ref.text, probe), analysis, others)
        held.append(grader.grade_analysed(rubric_id, analysis, evidence=evidence))
        whole.append(grader.grade_analysed(rubric_id, analysis) if ref.section == "points" else held[-1])
    return held, whole


def lint_rubric(grader: Grader, lr: LoadedRubric) -> list[Problem]:
    """Model-backed authoring problems of one rubric (warnings: a rubric can still grade)."""
    rubric = lr.rubric
    problems: list[Problem] = []

    def add(loc: tuple[str | int, ...], message: str, hint: str) -> None:
        problems.append(Problem(lr.path, lr.line_of(loc), message, hint, "warning"))

    # 1. Every phrasing, held out and graded as a candidate's answer.
    refs = _refs(lr)
    held, whole = _graded(grader, lr, refs)
    for ref, result in zip(refs, held):
        shown = ref.text if len(ref.text) <= 60 else ref.text[:57] + "..."
        if ref.section == "points":
            own = result.points[ref.index]
            rivals = [p for k, p in enumerate(result.points) if k != ref.index and p.status == "covered"]
            if not rivals:
                continue
            names = ", ".join(f"'{p.id}' (P={p.coverage:.2f})" for p in rivals)
            if own.status == "missing":
                add(ref.loc, f"phrasing \"{shown}\" of '{own.id}' reads as {names}, not as its own point (P={own.coverage:.2f})",
                    "move it to the point it states, or rephrase it with its own point's idea and terms")
            else:
                add(ref.loc, f"ambiguous: phrasing \"{shown}\" of '{own.id}' (P={own.coverage:.2f}) would also earn {names}",
                    "make it state only its own point (the two points must say different things), or merge the points")
        else:
            m = rubric.misconceptions[ref.index]
            if any(x.id == m.id for x in result.misconceptions):
                continue
            credited = [p for p in result.points if p.id in m.contradicts and p.status == "covered"]
            if credited:
                names = ", ".join(f"'{p.id}' (P={p.coverage:.2f})" for p in credited)
                add(ref.loc, f"misconception '{m.id}': phrasing \"{shown}\", held out, goes undetected and earns {names}, which it contradicts",
                    "add a pattern that states the claim (docs/authoring.md, Patterns), or the claim's distinctive terms as keywords")

    # 2. A misconception must not fire on the correct phrasings of the points it contradicts:
    #    it would cancel the point in every right answer.
    for i, m in enumerate(rubric.misconceptions):
        correct = [r for ref, r in zip(refs, whole) if ref.section == "points" and rubric.points[ref.index].id in m.contradicts]
        if not correct:
            continue
        fired = sum(any(x.id == m.id for x in r.misconceptions) for r in correct)
        if fired * 3 >= len(correct):
            add(
                ("misconceptions", i),
                f"misconception '{m.id}' fires on {fired}/{len(correct)} correct phrasings of {', '.join(m.contradicts)}",
                "its phrasings say what the point says: state the wrong claim with its distinctive terms",
            )

    # 3. Greedy keywords: present in generic text or in the question itself.
    compiled = grader.compiled[rubric.id]
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

    # 4. The question itself earns (almost) nothing.
    for lang in ("vi", "en"):
        res = grader.grade(rubric.id, getattr(rubric.question, lang))
        if res.score > QUESTION_MAX_SCORE:
            add(("question", lang), f"the question text ({lang}) scores {res.score:.2f} as an answer", "phrasings or keywords repeat the question: make them state the answer")
    return problems
