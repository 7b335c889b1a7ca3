"""How similar each segment of one answer is to each target of one rubric: every product computed once.

The (segments x references) cosines of a target serve its evidence, the sibling-point
comparison, the misconceptions' rivals, the negated-share guard and the answer's topic
strength; :class:`RubricSimilarity` computes each target's product the first time one of
them asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from grader.analysis import AnswerAnalysis
from grader.compile import CompiledRubric, Target, reference_match

NO_MATCH = -10.0  # the z of a target for an answer without segments


@dataclass(frozen=True)
class TargetSimilarity:
    """One target against every segment of an answer."""

    cosines: np.ndarray  # (segments, references)
    best_ref: np.ndarray  # per segment: the index of its closest reference
    match: np.ndarray  # per segment: its match to the target (mean cosine of the closest references)


class RubricSimilarity:
    """The similarities of one analysed answer to the targets of one compiled rubric, computed on first use."""

    def __init__(self, compiled: CompiledRubric, analysis: AnswerAnalysis):
        self.compiled = compiled
        self.analysis = analysis
        self._targets: dict[int, TargetSimilarity] = {}

    def of(self, target: Target) -> TargetSimilarity:
        """The similarity of every segment to ``target`` (the answer must have segments)."""
        found = self._targets.get(id(target))
        if found is None:
            cosines = self.analysis.segment_emb @ target.emb.T
            found = TargetSimilarity(cosines, cosines.argmax(axis=1), reference_match(cosines))
            self._targets[id(target)] = found
        return found

    @cached_property
    def point_z(self) -> np.ndarray:
        """Standardised match of every point (rows) to every segment (columns)."""
        if not self.analysis.segments:
            return np.zeros((len(self.compiled.points), 0))
        return np.stack([np.asarray(t.z(self.of(t).match)) for t in self.compiled.points])

    @cached_property
    def probe_proba(self) -> np.ndarray | None:
        """The rubric probe's class probabilities for every segment, (segments, classes); None without a probe."""
        probe = self.compiled.probe
        if probe is None or not self.analysis.segments:
            return None
        return probe.proba(self.analysis.segment_emb)

    def probe_column(self, cls: str) -> np.ndarray | None:
        """Per segment, the probe's probability of class ``cls`` (None if the rubric's probe has no such class)."""
        proba = self.probe_proba
        k = self.compiled.probe.index(cls) if self.compiled.probe is not None else None
        return None if proba is None or k is None else proba[:, k]

    @cached_property
    def topic_strength(self) -> float:
        """How strongly the answer speaks to this question: the mean of its two best point z-scores."""
        if not self.analysis.segments:
            return NO_MATCH
        zs = sorted(self.point_z.max(axis=1), reverse=True)
        return float(np.mean(zs[:2]))
