"""The match stage: what one analysed answer offers each point and misconception of a compiled rubric.

``similarity`` (every segment x reference product, once), ``polarity`` (is the evidence denied?),
``answer`` (answer-level signals: a list of terms, a copy of the question, denied clauses) and
``evidence`` (per target and per answer, the stage's output: :class:`AnswerEvidence`).
"""

from grader.match.evidence import AnswerEvidence, TargetEvidence, TopicContext, collect_evidence

__all__ = ["AnswerEvidence", "TargetEvidence", "TopicContext", "collect_evidence"]
