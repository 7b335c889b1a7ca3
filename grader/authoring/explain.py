"""``grader explain``: how one answer was graded, step by step, for rubric authors.

It renders the :class:`~grader.score.grade.Trace` the grading itself produced: the same
segments, evidence and probabilities, and the score's steps as they were computed (nothing
is encoded or scored a second time).
"""

from __future__ import annotations

from grader.score.grade import Trace


def render_trace(trace: Trace) -> str:
    """A plain-text account of ``trace``."""
    analysis, evidence, params, result = trace.analysis, trace.evidence, trace.params, trace.result
    out = [f"question {result.question_id}, language {analysis.language}, {len(analysis.segments)} segment(s):"]
    if analysis.restored and analysis.restoration is not None:
        # Everything below reads the restored text; the results quote the answer as written.
        out.insert(0, f"restored ({analysis.restoration.mode} mode; segments index this text): {analysis.text}")
    for i, s in enumerate(analysis.segments):
        out.append(f"  [{i}] {s.kind:8} {s.start:>4}-{s.end:<4} {s.text}")
    out.append("")
    out.append("points (z = standardised similarity of the best segment; kw = keyword share):")
    for ev, prob, pr in zip(evidence.points, trace.point_probabilities, result.points):
        out.append(
            f"  {ev.target.id}: best segment [{ev.segment}] cos={ev.cosine:.3f} z={ev.z:.2f} "
            f"(background mean {ev.target.mu:.3f}, sd {ev.target.sigma:.3f}); kw={ev.keyword_share:.2f} "
            f"{[h.term for h in ev.keyword_hits]}; P(covered)={prob:.2f}"
            + (" NEGATED" if pr.negated else "")
            + (f" CONTRADICTED by {pr.contradicted_by}" if pr.contradicted_by else "")
            + f" -> {pr.status}, credit {pr.credit:g} x weight {pr.weight:g}"
        )
        out.append(f'      matched reference: "{ev.reference}"')
    if evidence.misconceptions:
        out.append("misconceptions:")
        for ev, prob in zip(evidence.misconceptions, trace.misconception_probabilities):
            out.append(
                f"  {ev.target.id}: best segment [{ev.segment}] z={ev.z:.2f} kw={ev.keyword_share:.2f} "
                f"P(stated)={prob:.2f} (threshold {params.misconception_at:.2f})"
                + (f' PATTERN "{ev.pattern.words}" -> stated' if ev.pattern is not None else "")
            )
    out.append("")
    out.append(
        f"guards: keyword-list score {evidence.keyword_list:.2f} (cap at >= {params.keyword_list_at}), "
        f"copies question: {evidence.copies_question}, topic strength {evidence.topic.own:.2f} "
        f"(off-topic below {params.off_topic_z} when another question is {params.off_topic_margin} higher)"
    )
    first, *rest = trace.steps
    steps = [f"earned {trace.earned:g}/{trace.total_weight:g} = {first.score:.3f}"]
    steps += [f"{s.what} -> {s.score:.3f}" for s in rest]
    line = f"score: {'; '.join(steps)}; flags {result.flags or 'none'} -> {trace.steps[-1].score:.3f}"
    if result.raw_score is not None:
        line += f", calibrated {result.score:.3f}"
    out.append(f"{line} ({result.mark:g}/{result.total:g})")
    out.append(f"signature: {result.signature}")
    return "\n".join(out)
