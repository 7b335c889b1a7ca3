"""From evidence to a grade: guards, per-point status and credit, score, feedback.

Pure: the same compiled rubric, analysis and parameters always give the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.analysis import AnswerAnalysis
from grader.compiled import CompiledRubric
from grader.matching.combine import CombinerParams, misconception_probability, point_probability
from grader.matching.features import TargetEvidence, point_z_matrix, rubric_evidence
from grader.matching.guards import copies_question, keyword_list_score, negated_share
from grader.result import Evidence, Flag, GradeResult, MisconceptionResult, PointResult
from grader.text.segment import word_count


@dataclass(frozen=True)
class AnswerEvidence:
    """Everything about an answer that does not depend on the combiner's parameters."""

    points: list[TargetEvidence]
    misconceptions: list[TargetEvidence]
    negated_share: float
    keyword_list: float
    copies_question: bool
    empty: bool


def collect_evidence(compiled: CompiledRubric, analysis: AnswerAnalysis) -> AnswerEvidence:
    """The parameter-free evidence of one answer for one rubric."""
    zmat = point_z_matrix(compiled, analysis)  # shared by the evidence and the negated-share guard
    points, mis = rubric_evidence(compiled, analysis, zmat)
    return AnswerEvidence(
        points=points,
        misconceptions=mis,
        negated_share=negated_share(compiled, analysis, zmat=zmat),
        keyword_list=keyword_list_score(analysis.text),
        copies_question=copies_question(compiled, analysis),
        empty=word_count(analysis.text) == 0,
    )


@dataclass(frozen=True)
class TopicContext:
    """How well the answer matches the asked question and the best other question of the set."""

    own: float
    best_other: float
    best_other_id: str | None


def _evidence(analysis: AnswerAnalysis, ev: TargetEvidence) -> Evidence | None:
    if ev.segment < 0:
        return None
    s = analysis.segments[ev.segment]
    return Evidence(text=s.text, start=s.start, end=s.end)


def _lang(analysis: AnswerAnalysis, feedback_language: str | None) -> str:
    if feedback_language in ("vi", "en"):
        return feedback_language
    return "en" if analysis.language == "en" else "vi"


def grade_answer(
    compiled: CompiledRubric,
    analysis: AnswerAnalysis,
    params: CombinerParams,
    topic: TopicContext,
    signature: str,
    feedback_language: str | None = None,
    evidence: AnswerEvidence | None = None,
) -> GradeResult:
    """Grade one analysed answer against one compiled rubric (``evidence`` may be precomputed)."""
    rubric = compiled.rubric
    lang = _lang(analysis, feedback_language)
    flags: list[Flag] = []
    notes: list[str] = []
    if analysis.truncated:
        flags.append("truncated")
        notes.append("the answer was cut to its first 6000 characters")

    evidence = evidence or collect_evidence(compiled, analysis)
    points_ev, mis_ev = evidence.points, evidence.misconceptions

    # Misconceptions: detected claims cancel the points they contradict.
    detected: list[tuple[TargetEvidence, float]] = []
    for ev in mis_ev:
        if ev.pattern is not None:
            detected.append((ev, 1.0))  # stated outright: a rule, not a probability
            continue
        prob = misconception_probability(params, ev, points_ev)
        if prob >= params.misconception_at and not ev.negated:
            detected.append((ev, prob))
    contradicted = {pid: ev.target.id for ev, _ in detected for pid in ev.target.contradicts}

    point_results: list[PointResult] = []
    earned = 0.0
    any_negated = False
    # "Không đổi ạ." answers the question by ellipsis: too short to embed meaningfully,
    # it is read through the point's terms instead.
    short = 0 < word_count(analysis.text) <= params.short_answer_words
    for ev in points_ev:
        point = rubric.point(ev.target.id)
        coverage = point_probability(params, ev)
        negated = ev.negated and coverage >= params.partial_at
        if negated:
            coverage *= params.negated_factor
            any_negated = True
        status = "covered" if coverage >= params.covered_at else "partial" if coverage >= params.partial_at else "missing"
        if status == "missing" and short and not ev.negated and ev.keyword_share >= params.short_answer_keywords:
            status = "partial"
        if status == "covered" and not ev.required_ok:
            status = "partial"
        by = contradicted.get(point.id)
        if by is not None:
            status = "missing"
        credit = 1.0 if status == "covered" else params.partial_credit if status == "partial" else 0.0
        earned += credit * point.weight
        fb = getattr(point.feedback, status)
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
                feedback=getattr(fb, lang),
            )
        )
    score = earned / rubric.total_weight

    mis_results = []
    for ev, prob in detected:
        m = next(x for x in rubric.misconceptions if x.id == ev.target.id)
        score -= m.penalty * params.misconception_penalty_scale
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
    share = evidence.negated_share
    if share >= params.negated_answer_at:
        # Most on-topic clauses deny what they state: the answer as a whole is negated.
        any_negated = True
        score *= params.negated_factor
        notes.append(f"{share:.0%} of the on-topic clauses are negated")
    if any_negated:
        flags.append("negated")

    # Answer-level guards.
    if evidence.empty:
        flags.append("empty")
        notes.append("the answer is empty")
        score = 0.0
    elif evidence.copies_question:
        flags.append("copies_question")
        notes.append("the answer restates the question without answering it")
        score = 0.0
    else:
        if evidence.keyword_list >= params.keyword_list_at and score > params.keyword_list_cap:
            flags.append("keyword_list")
            notes.append(f"a list of terms without explanation earns at most {params.keyword_list_cap:.2f}")
            score = params.keyword_list_cap
        # Off-topic: it matches another question clearly better, and this one weakly or in one point only.
        covered = sum(p.status == "covered" for p in point_results)
        off = topic.best_other >= topic.own + params.off_topic_margin and (topic.own < params.off_topic_z or covered <= 1)
        if off:
            flags.append("off_topic")
            notes.append(f"the answer addresses another question ({topic.best_other_id}), not {rubric.id}")
            score = 0.0
    score = round(min(1.0, max(0.0, score)), 4)
    return GradeResult(
        question_id=rubric.id,
        answer=analysis.text,
        score=score,
        mark=round(score * rubric.total, 2),
        total=rubric.total,
        language=analysis.language,
        points=point_results,
        misconceptions=mis_results,
        flags=flags,
        notes=notes,
        signature=signature,
    )
