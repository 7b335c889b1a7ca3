"""Evidence for each point and misconception of a rubric in one analysed answer.

Pure functions of (compiled rubric, answer analysis): semantic evidence (the
best-matching segment, standardised against the target's background), keyword
evidence (rapidfuzz on accented and folded text) and polarity (a negation in
the evidence span that the matched reference does not share).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader.analysis import AnswerAnalysis, leaf_segments
from grader.compiled import CompiledRubric, Target, match
from grader.matching.keywords import KeywordHit, keyword_coverage, match_keyword
from grader.matching.patterns import PatternMatch, find_pattern, is_conditional
from grader.text.negation import (
    NEGATION_SCOPE_WORDS,
    claim_head,
    opens_with_break,
    denies_benefit,
    folded_negated,
    has_benefit,
    has_preventive,
    in_condition,
    is_counterfactual,
    is_negated,
    scope_after,
    scope_before,
)
from grader.text.normalize import fold, normalize


@dataclass
class TargetEvidence:
    """What the answer offers for one target."""

    target: Target
    z: float  # standardised similarity of the best segment
    cosine: float  # its raw match (mean cosine of the closest references)
    segment: int  # index of the best segment in the analysis, -1 if none
    reference: str  # the best-matching reference text
    keyword_share: float
    keyword_hits: list[KeywordHit] = field(default_factory=list)
    required_ok: bool = True
    negated: bool = False
    # The best z-score of another point on the same segment (for a misconception: of any point):
    # does another target explain this segment better?
    segment_point_z: float = 0.0
    # For misconceptions: the pattern that states the claim outright, if one matched (``segment`` is its clause).
    pattern: PatternMatch | None = None




def sentence_text(analysis: AnswerAnalysis, index: int) -> str:
    """The sentence that holds segment ``index`` (the segment itself if it is a sentence)."""
    seg = analysis.segments[index]
    if seg.kind == "clause":
        for s in analysis.segments:
            if s.kind == "sentence" and s.start <= seg.start and seg.end <= s.end:
                return s.text
    return seg.text


def _clauses_within(analysis: AnswerAnalysis, index: int) -> list[int]:
    """The clauses of sentence ``index``, in order (empty for a clause or an unsplit sentence)."""
    seg = analysis.segments[index]
    if seg.kind != "sentence":
        return []
    return [i for i, s in enumerate(analysis.segments) if s.kind == "clause" and seg.start <= s.start and s.end <= seg.end]


def _inside_other_hit(hit: KeywordHit, hits: list[KeywordHit]) -> bool:
    # The negation after a term belongs to another term of the point ("params" + "không đổi").
    return any(o is not hit and o.start >= hit.end and o.start - hit.end <= 40 for o in hits)


def adds_negation(segment_text: str, target: Target, ref_negated: bool, english: bool, context: str | None = None) -> bool:
    """Whether the evidence segment negates the point.

    Scoped to the point's keywords: "BN không giúp giảm overfitting" negates the
    keyword "overfitting", "không load hết vào RAM" does not negate a keyword that
    itself says "không load hết". Without a keyword in the segment, a negation
    counts only if the matched reference has none: references phrased negatively
    ("không bị kẹt ở vùng bão hòa") are often paraphrased positively, and the
    opposite case (asserting what the rubric denies) is a misconception's job.
    A sentence (``context``) that argues by a negated condition ("nếu không có
    activation thì …") negates nothing.
    """
    if is_counterfactual(context if context is not None else segment_text):
        return False
    norm = normalize(segment_text)
    folded = fold(norm)
    hits = [h for h in (match_keyword(k, norm, folded) for k in target.keywords) if h is not None]
    if hits:
        for h in hits:
            text = norm if h.credit == 1.0 else folded
            if is_negated(text[h.start : h.end], english):
                continue  # the keyword itself carries the negation ("không đổi")
            if denies_benefit(scope_before(text[: h.start]), english):
                return True  # "it won't help when the data is larger than memory"
            before = scope_before(" ".join(text[: h.start].split()[-NEGATION_SCOPE_WORDS:]))
            cue = is_negated(before, english) or (h.credit < 1.0 and is_negated(before, english=False))
            if not cue:
                # The term as subject of a denied predicate: "oversampling cũng không giúp gì".
                after = scope_after(text[h.end :], after_condition=in_condition(scope_before(text[: h.start])))
                if h.term not in target.negatable_keywords and not _inside_other_hit(h, hits) and (
                    is_negated(after, english) or (h.credit < 1.0 and is_negated(after, english=False))
                ):
                    return True
                continue
            # The rubric says this term negatively ("tránh bão hòa", "không bị nổ"): a bare
            # negation paraphrases it; a negation of the prevention ("không giúp giảm") denies it.
            if h.term not in target.negatable_keywords or has_preventive(before) or has_benefit(before):
                return True
        return False
    if ref_negated:
        return False
    head = claim_head(segment_text)
    return is_negated(head, english) or folded_negated(head)


# How much worse (in z) a segment holding one of the point's terms may match than the best
# segment and still be preferred as the evidence.
KEYWORD_SEGMENT_MARGIN = 0.5


def _has_keyword(target: Target, text: str) -> bool:
    norm = normalize(text)
    folded = fold(norm)
    return any(match_keyword(k, norm, folded) is not None for k in target.keywords)


def target_evidence(target: Target, analysis: AnswerAnalysis) -> TargetEvidence:
    """Best segment, keyword coverage and polarity for ``target``."""
    english = analysis.language == "en"
    share, hits, required_ok = keyword_coverage(target.keywords, analysis.norm_text, analysis.folded_text)
    if not analysis.segments:
        return TargetEvidence(target, -10.0, 0.0, -1, "", share, hits, required_ok)
    sims = analysis.segment_emb @ target.emb.T  # (segments, refs)
    best_ref = sims.argmax(axis=1)
    best = match(sims)
    top = int(best.argmax())
    z = float(target.z(float(best[top])))
    seg = top
    # Segments holding one of the point's terms (none can, when the whole answer has none).
    with_terms = [i for i in range(len(best)) if _has_keyword(target, analysis.segments[i].text)] if hits else []
    if with_terms and top not in with_terms:
        # The point's terms are the stronger witness: quote (and check the polarity of) the
        # closest segment that holds one, unless it matches far worse than the best one.
        near = max(with_terms, key=lambda i: float(best[i]))
        if z - float(target.z(float(best[near]))) <= KEYWORD_SEGMENT_MARGIN:
            seg = near
    ref = int(best_ref[seg])
    cosine = float(best[seg])
    negated = adds_negation(
        analysis.segments[seg].text, target, bool(target.ref_negated[ref]), english, sentence_text(analysis, seg)
    )
    if negated and seg not in with_terms:
        # The sentence's head is negated, but the clause that says this point opens with
        # "because"/"nên" …: the negation there belongs to another claim ("no extra parameters,
        # because each filter is k×k×C"); judge the point on its own clause.
        inner = _clauses_within(analysis, seg)
        if inner:
            c = max(inner, key=lambda i: float(best[i]))
            if c != inner[0] and opens_with_break(analysis.segments[c].text):
                negated = adds_negation(
                    analysis.segments[c].text, target, bool(target.ref_negated[int(best_ref[c])]), english, analysis.segments[c].text
                )
    return TargetEvidence(
        target=target,
        z=z,
        cosine=cosine,
        segment=seg,
        reference=target.refs[ref],
        keyword_share=share,
        keyword_hits=hits,
        required_ok=required_ok,
        negated=negated,
    )


def _pattern_units(analysis: AnswerAnalysis) -> list[int]:
    """Segments a misconception pattern is searched in: the clauses, and whole sentences that open with a condition."""
    leaves = leaf_segments(analysis)
    leaf_set = set(leaves)
    conditional = [i for i, s in enumerate(analysis.segments) if i not in leaf_set and s.kind == "sentence" and is_conditional(s.text)]
    return leaves + conditional


def point_z_matrix(compiled: CompiledRubric, analysis: AnswerAnalysis) -> np.ndarray:
    """Standardised match of every point (rows) to every segment (columns) of the answer."""
    if not analysis.segments:
        return np.zeros((len(compiled.points), 0))
    return np.stack([np.asarray(t.z(match(analysis.segment_emb @ t.emb.T))) for t in compiled.points])


def rubric_evidence(
    compiled: CompiledRubric, analysis: AnswerAnalysis, zmat: np.ndarray | None = None
) -> tuple[list[TargetEvidence], list[TargetEvidence]]:
    """Evidence for every point and every misconception of ``compiled``; ``zmat``: its :func:`point_z_matrix`, if computed."""
    points = [target_evidence(t, analysis) for t in compiled.points]
    zmat = point_z_matrix(compiled, analysis) if zmat is None else zmat
    for k, ev in enumerate(points):  # the best sibling point on this point's segment
        if ev.segment >= 0:
            siblings = np.delete(zmat[:, ev.segment], k)
            ev.segment_point_z = float(siblings.max()) if len(siblings) else ev.z
    mis = [target_evidence(t, analysis) for t in compiled.misconceptions]
    leaves = _pattern_units(analysis) if any(t.patterns for t in compiled.misconceptions) else []
    english = analysis.language == "en"
    for ev in mis:
        for i in leaves:
            seg, ctx = analysis.segments[i].text, sentence_text(analysis, i)
            hit = next((m for p in ev.target.patterns if (m := find_pattern(p, seg, english, ctx))), None)
            if hit is not None:
                ev.pattern, ev.segment = hit, i
                break
        if ev.segment >= 0 and compiled.points:
            ev.segment_point_z = float(zmat[:, ev.segment].max())
    return points, mis


def topic_strength(compiled: CompiledRubric, analysis: AnswerAnalysis) -> float:
    """How strongly the answer speaks to this question: mean of its two best point z-scores."""
    if not analysis.segments:
        return -10.0
    zs = sorted(point_z_matrix(compiled, analysis).max(axis=1), reverse=True)
    return float(np.mean(zs[:2]))


def normalized_forms(text: str) -> tuple[str, str]:
    """(normalised, folded) forms of a text."""
    n = normalize(text)
    return n, fold(n)
