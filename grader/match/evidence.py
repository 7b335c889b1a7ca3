"""What one analysed answer offers each point and misconception of a rubric: the match stage.

Pure functions of (compiled rubric, answer analysis): semantic evidence (the
best-matching segment, standardised against the target's background), keyword
evidence (rapidfuzz on accented and folded text), polarity (a negation in the
evidence span that the matched reference does not share), the misconceptions'
word patterns, the answer-level signals and the topic context. Nothing here
depends on the combiner's parameters, so the evidence of an answer is computed
once and can be scored with any parameters (:mod:`grader.score`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from grader.analysis import AnswerAnalysis
from grader.compile import CompiledRubric, Target
from grader.compile.probe import contra_class, misconception_class, point_class
from grader.match.answer import copies_question, keyword_list_score, negated_share, structure_shares
from grader.match.polarity import adds_negation
from grader.match.similarity import NO_MATCH, RubricSimilarity
from grader.text.keywords import KeywordHit, keyword_coverage, match_keyword
from grader.text.negation import opens_with_break
from grader.text.normalize import fold, normalize
from grader.text.patterns import PatternMatch, find_pattern, is_conditional
from grader.text.segment import word_count

# How much worse (in z) a segment holding one of the point's terms may match than the best
# segment and still be preferred as the evidence.
KEYWORD_SEGMENT_MARGIN = 0.5


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
    # The rubric probe (grader.compile.probe): the highest probability, over the segments, that one
    # states this target, and (points only) that one contradicts it.
    probe: float = 0.0
    probe_contra: float = 0.0


@dataclass(frozen=True)
class TopicContext:
    """How well the answer matches the asked question and the best other question of the set."""

    own: float
    best_other: float
    best_other_id: str | None


@dataclass(frozen=True)
class AnswerEvidence:
    """Everything about one answer to one question that does not depend on the combiner's parameters."""

    points: list[TargetEvidence]
    misconceptions: list[TargetEvidence]
    negated_share: float
    keyword_list: float
    copies_question: bool
    empty: bool
    topic: TopicContext
    # The rubric probe's reading of the answer's smallest segments (grader.match.answer.structure_shares).
    list_share: float = 0.0
    salad_share: float = 0.0
    contra_share: float = 0.0


def _has_keyword(target: Target, text: str) -> bool:
    norm = normalize(text)
    folded = fold(norm)
    return any(match_keyword(k, norm, folded) is not None for k in target.keywords)


def target_evidence(target: Target, similarity: RubricSimilarity) -> TargetEvidence:
    """Best segment, keyword coverage and polarity for ``target``."""
    analysis = similarity.analysis
    english = analysis.language == "en"
    share, hits, required_ok = keyword_coverage(target.keywords, analysis.norm_text, analysis.folded_text)
    if not analysis.segments:
        return TargetEvidence(target, NO_MATCH, 0.0, -1, "", share, hits, required_ok)
    sim = similarity.of(target)
    best_ref, best = sim.best_ref, sim.match
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
    sentence = analysis.segments[analysis.sentence_of[seg]].text
    negated = adds_negation(analysis.segments[seg].text, target, bool(target.ref_negated[ref]), english, sentence)
    if negated and seg not in with_terms:
        # The sentence's head is negated, but the clause that says this point opens with
        # "because"/"nên" …: the negation there belongs to another claim ("no extra parameters,
        # because each filter is k×k×C"); judge the point on its own clause.
        inner = analysis.clauses[seg]
        if inner:
            c = max(inner, key=lambda i: float(best[i]))
            if c != inner[0] and opens_with_break(analysis.segments[c].text):
                negated = adds_negation(
                    analysis.segments[c].text, target, bool(target.ref_negated[int(best_ref[c])]), english, analysis.segments[c].text
                )
    is_point = target.kind == "point"
    states = similarity.probe_column(point_class(target.id) if is_point else misconception_class(target.id))
    contra = similarity.probe_column(contra_class(target.id)) if is_point else None
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
        probe=float(states.max()) if states is not None else 0.0,
        probe_contra=float(contra.max()) if contra is not None else 0.0,
    )


def _pattern_units(analysis: AnswerAnalysis) -> list[int]:
    """Segments a misconception pattern is searched in: the clauses, and whole sentences that open with a condition."""
    leaves = analysis.leaves
    leaf_set = set(leaves)
    conditional = [i for i, s in enumerate(analysis.segments) if i not in leaf_set and s.kind == "sentence" and is_conditional(s.text)]
    return leaves + conditional


def rubric_evidence(similarity: RubricSimilarity) -> tuple[list[TargetEvidence], list[TargetEvidence]]:
    """Evidence for every point and every misconception of the rubric."""
    compiled, analysis = similarity.compiled, similarity.analysis
    points = [target_evidence(t, similarity) for t in compiled.points]
    zmat = similarity.point_z
    for k, ev in enumerate(points):  # the best sibling point on this point's segment
        if ev.segment >= 0:
            siblings = np.delete(zmat[:, ev.segment], k)
            ev.segment_point_z = float(siblings.max()) if len(siblings) else ev.z
    mis = [target_evidence(t, similarity) for t in compiled.misconceptions]
    leaves = _pattern_units(analysis) if any(t.patterns for t in compiled.misconceptions) else []
    english = analysis.language == "en"
    for ev in mis:
        for i in leaves:
            seg, ctx = analysis.segments[i].text, analysis.segments[analysis.sentence_of[i]].text
            hit = next((m for p in ev.target.patterns if (m := find_pattern(p, seg, english, ctx))), None)
            if hit is not None:
                ev.pattern, ev.segment = hit, i
                break
        if ev.segment >= 0 and compiled.points:
            ev.segment_point_z = float(zmat[:, ev.segment].max())
    return points, mis


def topic_context(similarity: RubricSimilarity, others: Iterable[CompiledRubric]) -> TopicContext:
    """The answer's topic strength for its question and for the best other question of the set."""
    rivals = [(RubricSimilarity(c, similarity.analysis).topic_strength, c.id) for c in others]
    best, best_id = max(rivals, default=(NO_MATCH, None))
    return TopicContext(own=similarity.topic_strength, best_other=best, best_other_id=best_id)


def collect_evidence(compiled: CompiledRubric, analysis: AnswerAnalysis, others: Iterable[CompiledRubric] = ()) -> AnswerEvidence:
    """The parameter-free evidence of one answer for one rubric; ``others``: the set's other rubrics (for the topic)."""
    similarity = RubricSimilarity(compiled, analysis)
    points, mis = rubric_evidence(similarity)
    list_share, salad_share, contra_share = structure_shares(similarity)
    return AnswerEvidence(
        points=points,
        misconceptions=mis,
        negated_share=negated_share(similarity),
        keyword_list=keyword_list_score(analysis.text),
        copies_question=copies_question(compiled, analysis),
        empty=word_count(analysis.text) == 0,
        topic=topic_context(similarity, others),
        list_share=list_share,
        salad_share=salad_share,
        contra_share=contra_share,
    )
