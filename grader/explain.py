"""``grader explain``: how one answer was graded, step by step, for rubric authors."""

from __future__ import annotations

from grader.analysis import analyse_many
from grader.engine import Grader
from grader.matching.combine import misconception_probability, point_probability
from grader.matching.features import rubric_evidence, topic_strength
from grader.matching.guards import copies_question, keyword_list_score


def explain(grader: Grader, question_id: str, answer: str) -> str:
    """A plain-text trace of the grading of ``answer``."""
    result = grader.grade(question_id, answer)
    analysis = analyse_many([answer], grader.encoder)[0]
    compiled = grader.compiled[question_id]
    params = grader.params
    out = [f"question {question_id}, language {analysis.language}, {len(analysis.segments)} segment(s):"]
    for i, s in enumerate(analysis.segments):
        out.append(f"  [{i}] {s.kind:8} {s.start:>4}-{s.end:<4} {s.text}")
    points, mis = rubric_evidence(compiled, analysis)
    out.append("")
    out.append("points (z = standardised similarity of the best segment; kw = keyword share):")
    for ev, pr in zip(points, result.points):
        prob = point_probability(params, ev)
        out.append(
            f"  {ev.target.id}: best segment [{ev.segment}] cos={ev.cosine:.3f} z={ev.z:.2f} "
            f"(background mean {ev.target.mu:.3f}, sd {ev.target.sigma:.3f}); kw={ev.keyword_share:.2f} "
            f"{[h.term for h in ev.keyword_hits]}; P(covered)={prob:.2f}"
            + (" NEGATED" if pr.negated else "")
            + (f" CONTRADICTED by {pr.contradicted_by}" if pr.contradicted_by else "")
            + f" -> {pr.status}, credit {pr.credit:g} x weight {pr.weight:g}"
        )
        out.append(f'      matched reference: "{ev.reference}"')
    if mis:
        out.append("misconceptions:")
        for ev in mis:
            prob = misconception_probability(params, ev, points)
            out.append(
                f"  {ev.target.id}: best segment [{ev.segment}] z={ev.z:.2f} kw={ev.keyword_share:.2f} "
                f"P(stated)={prob:.2f} (threshold {params.misconception_at:.2f})"
                + (f' PATTERN "{ev.pattern.words}" -> stated' if ev.pattern is not None else "")
            )
    own = topic_strength(compiled, analysis)
    out.append("")
    out.append(
        f"guards: keyword-list score {keyword_list_score(analysis.text):.2f} (cap at >= {params.keyword_list_at}), "
        f"copies question: {copies_question(compiled, analysis)}, topic strength {own:.2f} "
        f"(off-topic below {params.off_topic_z} when another question is {params.off_topic_margin} higher)"
    )
    earned = sum(p.credit * p.weight for p in result.points)
    total_w = sum(p.weight for p in result.points)
    penalty = sum(m.penalty for m in result.misconceptions)
    out.append(
        f"score: earned {earned:g}/{total_w:g} = {earned / total_w:.3f}, misconception penalties {penalty:g}, "
        f"flags {result.flags or 'none'} -> {result.score:.3f} ({result.mark:g}/{result.total:g})"
    )
    out.append(f"signature: {result.signature}")
    return "\n".join(out)
