"""From evidence to a grade: per-point status and credit, misconceptions, guards, score, feedback.

Pure: the same compiled rubric, analysis, evidence and parameters always give the same
result. :func:`score_answer` returns a :class:`Trace`: the :class:`~grader.result.GradeResult`
and the numbers that produced it, which is what ``grader explain`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.analysis import MAX_ANSWER_CHARS, AnswerAnalysis
from grader.compile import CompiledRubric
from grader.match.evidence import AnswerEvidence, TargetEvidence
from grader.result import Evidence, Flag, GradeResult, MisconceptionResult, PointResult, Status
from grader.score.combine import misconception_probability, point_probability
from grader.score.guards import answer_guards, detected_misconceptions, negated_answer
from grader.score.notes import note, result_language
from grader.score.params import CombinerParams
from grader.text.segment import word_count


@dataclass(frozen=True)
class ScoreStep:
    """One step of the score's computation: what was done, and the score after it."""

    what: str
    score: float


@dataclass(frozen=True)
class Trace:
    """How one answer was graded: the evidence, the probabilities and each step of the score."""

    analysis: AnswerAnalysis
    evidence: AnswerEvidence
    params: CombinerParams
    point_probabilities: list[float]  # P(covered) of each point, before the guards
    misconception_probabilities: list[float]  # P(stated) of each misconception (a pattern states it outright)
    earned: float  # sum of credit x weight
    total_weight: float
    steps: list[ScoreStep]  # from earned / total weight to the final score
    result: GradeResult


def _evidence(analysis: AnswerAnalysis, ev: TargetEvidence) -> Evidence | None:
    if ev.segment < 0:
        return None
    s = analysis.segments[ev.segment]
    start, end = analysis.to_original(s.start, s.end)  # quote what the candidate wrote, not its restoration
    return Evidence(text=analysis.original[start:end], start=start, end=end)


def feedback_language(analysis: AnswerAnalysis, requested: str | None) -> str:
    """The language of the feedback: ``requested`` ('vi' or 'en'), else English for English answers, else Vietnamese."""
    if requested in ("vi", "en"):
        return requested
    return result_language(analysis.language)


def _status(ev: TargetEvidence, coverage: float, short: bool, contradicted: bool, params: CombinerParams) -> Status:
    status: Status = "covered" if coverage >= params.covered_at else "partial" if coverage >= params.partial_at else "missing"
    # "Không đổi ạ." answers the question by ellipsis: too short to embed meaningfully,
    # it is read through the point's terms instead.
    if status == "missing" and short and not ev.negated and ev.keyword_share >= params.short_answer_keywords:
        status = "partial"
    if status == "covered" and not ev.required_ok:
        status = "partial"
    return "missing" if contradicted else status


def score_answer(
    compiled: CompiledRubric,
    analysis: AnswerAnalysis,
    evidence: AnswerEvidence,
    params: CombinerParams,
    signature: str,
    feedback_lang: str | None = None,
) -> Trace:
    """Grade one analysed answer against one compiled rubric from its evidence."""
    rubric = compiled.rubric
    lang = feedback_language(analysis, feedback_lang)
    flags: list[Flag] = []
    notes: list[str] = []
    if analysis.truncated:
        flags.append("truncated")
        notes.append(note("truncated", lang, chars=MAX_ANSWER_CHARS))
    points_ev = evidence.points

    # Misconceptions: detected claims cancel the points they contradict.
    mis_probs = [misconception_probability(params, ev, points_ev) for ev in evidence.misconceptions]
    detected = detected_misconceptions(evidence, mis_probs, params)
    contradicted = {pid: ev.target.id for ev, _ in detected for pid in ev.target.contradicts}

    point_probs: list[float] = []
    point_results: list[PointResult] = []
    earned = 0.0
    any_negated = False
    short = 0 < word_count(analysis.text) <= params.short_answer_words
    for ev in points_ev:
        point = rubric.point(ev.target.id)
        coverage = point_probability(params, ev)
        point_probs.append(coverage)
        negated = ev.negated and coverage >= params.partial_at
        if negated:
            coverage *= params.negated_factor
            any_negated = True
        by = contradicted.get(point.id)
        status = _status(ev, coverage, short, by is not None, params)
        credit = 1.0 if status == "covered" else params.partial_credit if status == "partial" else 0.0
        earned += credit * point.weight
        point_results.append(
            PointResult(
                id=point.id,
                statement=getattr(point.statement, lang),
                weight=point.weight,
                status=status,
                coverage=round(coverage, 4),
                credit=credit,
                evidence=_evidence(analysis, ev),
                similarity=round(ev.z, 3),
                keywords=[h.term for h in ev.keyword_hits],
                negated=negated,
                contradicted_by=by,
                feedback=getattr(getattr(point.feedback, status), lang),
            )
        )
    score = earned / rubric.total_weight
    steps = [ScoreStep(f"earned {earned:g}/{rubric.total_weight:g}", score)]

    mis_results = []
    for ev, prob in detected:
        m = next(x for x in rubric.misconceptions if x.id == ev.target.id)
        score -= m.penalty * params.misconception_penalty_scale
        steps.append(ScoreStep(f"misconception {m.id}: -{m.penalty:g} x {params.misconception_penalty_scale:g}", score))
        mis_results.append(
            MisconceptionResult(
                id=m.id,
                statement=getattr(m.statement, lang),
                confidence=round(prob, 4),
                evidence=_evidence(analysis, ev),
                matched_pattern=ev.pattern.words if ev.pattern is not None else None,
                contradicts=list(m.contradicts),
                penalty=m.penalty,
                feedback=getattr(m.feedback, lang),
            )
        )
    if mis_results:
        flags.append("misconception")
    verdict = negated_answer(score, evidence, params)
    if verdict is not None:
        any_negated = True
        score = verdict.score
        notes.append(verdict.note_in(lang))
        steps.append(ScoreStep(f"{verdict.note}: x {params.negated_factor:g}", score))
    if any_negated:
        flags.append("negated")

    covered = sum(p.status == "covered" for p in point_results)
    for verdict in answer_guards(score, evidence, covered, params, rubric.id):
        flags.append(verdict.flag)
        notes.append(verdict.note_in(lang))
        score = verdict.score
        steps.append(ScoreStep(verdict.note, score))
    final = round(min(1.0, max(0.0, score)), 4)
    if not 0.0 <= score <= 1.0:
        steps.append(ScoreStep("clipped to [0, 1]", final))
    result = GradeResult(
        question_id=rubric.id,
        answer=analysis.original,
        score=final,
        mark=round(final * rubric.total, 2),
        total=rubric.total,
        language=analysis.language,
        points=point_results,
        misconceptions=mis_results,
        flags=flags,
        notes=notes,
        signature=signature,
    )
    return Trace(analysis, evidence, params, point_probs, mis_probs, earned, rubric.total_weight, steps, result)
