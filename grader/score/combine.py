"""Turning evidence into probabilities: the combiner's small logistic models.

P(point covered) and P(misconception stated) from a handful of evidence features; the
coefficients are :class:`~grader.score.params.CombinerParams` fields.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from grader.score.params import CombinerParams

if TYPE_CHECKING:  # annotations only: applying a calibration (which needs sigmoid) stays free of numpy
    from grader.match.evidence import TargetEvidence


def sigmoid(x: float) -> float:
    """The logistic function, clipped so that extreme log-odds do not overflow."""
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def point_features(ev: TargetEvidence) -> list[float]:
    """Feature vector of a point (without the intercept).

    ``overshadowed``: how much better another point of the question matches the same
    segment. Points of one question share vocabulary, so a segment that states one
    of them also resembles its siblings; only keywords should then lift the sibling.
    """
    overshadowed = max(0.0, ev.segment_point_z - ev.z)
    return [ev.z, ev.keyword_share, ev.z * ev.keyword_share, overshadowed, ev.probe, ev.probe_contra]


def misconception_features(ev: TargetEvidence, points: list[TargetEvidence]) -> list[float]:
    """Feature vector of a misconception: its evidence, its margin over the points it contradicts,
    and its margin over the best point on its own evidence segment (a correct point may explain it better)."""
    rivals = [p.z for p in points if p.target.id in ev.target.contradicts] or [max((p.z for p in points), default=0.0)]
    return [ev.z, ev.keyword_share, ev.z - max(rivals), ev.z - ev.segment_point_z, ev.probe]


def point_probability(params: CombinerParams, ev: TargetEvidence) -> float:
    """P(covered) before guards."""
    b = params.point
    x = point_features(ev)
    return sigmoid(b[0] + sum(c * v for c, v in zip(b[1:], x)))


def misconception_probability(params: CombinerParams, ev: TargetEvidence, points: list[TargetEvidence]) -> float:
    """P(the answer states this misconception)."""
    c = params.misconception
    x = misconception_features(ev, points)
    return sigmoid(c[0] + sum(k * v for k, v in zip(c[1:], x)))
