"""A compiled rubric: every point and misconception as a :class:`Target` ready to be matched, for one encoder.

A point's raw cosine means little by itself (e5 puts unrelated on-topic text at ≈0.86 and a
paraphrase at ≈0.89), so every target carries the mean and spread of its similarity to
*background* text (see :mod:`grader.compile.build`); matching works with standardised
similarities (z-scores) rather than cosines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.compile.probe import RubricProbe
from grader.rubric.schema import Rubric
from grader.text.keywords import CompiledKeyword
from grader.text.patterns import CompiledPattern

MIN_SIGMA = 0.01
# A text's match to a target is the mean cosine of its TOP_REFS closest references: one
# reference alone lets a chance resemblance through (measured on the fixtures' fit split:
# Pearson 0.935 -> 0.939, pair ranking 0.946 -> 0.960, widest no-diacritics twin gap 0.36 -> 0.18).
TOP_REFS = 2


def reference_match(sims: np.ndarray) -> np.ndarray:
    """A text's match to a target: the mean of its ``TOP_REFS`` highest cosines along the last axis (references)."""
    k = min(TOP_REFS, sims.shape[-1])
    if k == 1:
        return sims.max(axis=-1)
    return np.partition(sims, -k, axis=-1)[..., -k:].mean(axis=-1)


@dataclass
class Target:
    """A point or a misconception, ready to be matched."""

    id: str
    kind: str  # "point" or "misconception"
    weight: float  # point weight, or misconception penalty
    refs: list[str]  # reference texts: the statement and the phrasings, NFC
    ref_negated: np.ndarray  # bool per reference
    emb: np.ndarray  # (len(refs), dim)
    keywords: tuple[CompiledKeyword, ...]
    contradicts: tuple[str, ...] = ()
    # Keywords that the references themselves put after a negation or a word like
    # "tránh"/"avoid": a negation before them in an answer is not a denial.
    negatable_keywords: frozenset[str] = frozenset()
    patterns: tuple[CompiledPattern, ...] = ()  # misconceptions only: rules that detect the claim
    mu: float = 0.0
    sigma: float = 1.0

    def z(self, cos: np.ndarray | float) -> np.ndarray | float:
        """Standardise a match (see :func:`reference_match`) against this target's background."""
        return (cos - self.mu) / self.sigma

    def best_z(self, vec: np.ndarray) -> float:
        """Standardised match of one embedding to this target."""
        return float(self.z(float(reference_match(self.emb @ vec))))


@dataclass
class CompiledRubric:
    """A rubric with everything the matcher needs, for one encoder."""

    rubric: Rubric
    points: list[Target]
    misconceptions: list[Target]
    question_texts: list[str]  # normalised vi/en question text
    question_emb: np.ndarray
    probe: RubricProbe | None = None  # learned from the rubric's own text (grader.compile.probe)

    @property
    def id(self) -> str:
        """The rubric's question id."""
        return self.rubric.id
