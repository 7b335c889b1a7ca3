"""The guards: what detected misconceptions and the answer-level signals do to the score.

The signals themselves are evidence (:mod:`grader.match.answer`); here the combiner's
thresholds decide. Misconceptions cancel the points they contradict and subtract a
penalty; an answer whose on-topic clauses are mostly denials is scaled down; an empty
answer, a copy of the question and an answer to another question earn nothing; a bare
list of terms is capped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.match.evidence import AnswerEvidence, TargetEvidence
from grader.result import Flag
from grader.score.notes import note
from grader.score.params import CombinerParams


@dataclass(frozen=True)
class GuardVerdict:
    """A guard that fired: its flag, the score it leaves, and the values of the note that explains it."""

    flag: Flag
    score: float
    values: dict[str, Any] = field(default_factory=dict)

    def note_in(self, lang: str) -> str:
        """The note in ``lang`` ('vi' or 'en'), from :data:`grader.score.notes.NOTES`."""
        return note(self.flag, lang, **self.values)

    @property
    def note(self) -> str:
        """The note in English (the trace's steps)."""
        return self.note_in("en")


def detected_misconceptions(
    evidence: AnswerEvidence, probabilities: list[float], params: CombinerParams
) -> list[tuple[TargetEvidence, float]]:
    """The misconceptions the answer states, with their confidence: a matched pattern (1.0), or a probability at
    or above ``misconception_at`` on evidence that is not negated."""
    detected: list[tuple[TargetEvidence, float]] = []
    for ev, prob in zip(evidence.misconceptions, probabilities):
        if ev.pattern is not None:
            detected.append((ev, 1.0))  # stated outright: a rule, not a probability
        elif prob >= params.misconception_at and not ev.negated:
            detected.append((ev, prob))
    return detected


def negated_answer(score: float, evidence: AnswerEvidence, params: CombinerParams) -> GuardVerdict | None:
    """Most on-topic clauses deny what they state: the answer as a whole is negated."""
    share = evidence.contra_share if params.signals == "probe" else evidence.negated_share
    if share < params.negated_answer_at:
        return None
    return GuardVerdict("negated", score * params.negated_factor, {"share": share})


def answer_guards(
    score: float, evidence: AnswerEvidence, covered_points: int, params: CombinerParams, question_id: str
) -> list[GuardVerdict]:
    """The answer-level guards that fire, in order: empty or a copy of the question (final), else a list of
    terms (capped) and an answer to another question."""
    if evidence.empty:
        return [GuardVerdict("empty", 0.0)]
    if evidence.copies_question:
        return [GuardVerdict("copies_question", 0.0)]
    out = []
    listed = evidence.list_share if params.signals == "probe" else evidence.keyword_list
    if listed >= params.keyword_list_at and score > params.keyword_list_cap:
        score = params.keyword_list_cap
        out.append(GuardVerdict("keyword_list", score, {"cap": params.keyword_list_cap}))
    elif params.signals == "probe" and evidence.salad_share >= params.salad_at and score > params.keyword_list_cap:
        score = params.keyword_list_cap
        out.append(GuardVerdict("word_salad", score, {"cap": params.keyword_list_cap}))
    # Off-topic: it matches another question clearly better, and this one weakly or in one point only.
    topic = evidence.topic
    if topic.best_other >= topic.own + params.off_topic_margin and (topic.own < params.off_topic_z or covered_points <= 1):
        out.append(GuardVerdict("off_topic", 0.0, {"other": topic.best_other_id, "question": question_id}))
    return out
