"""Calibration: mapping the engine's output onto a human grading scale (``grader calibrate``).

The engine's score is a weighted share of covered points; how it relates to the
marks a given teacher gives depends on the rubric style, the question set and
the teacher. A :class:`Calibration` is a small logistic model over a handful of
features of a :class:`~grader.result.GradeResult` (the raw score, point
coverage and similarity, guard flags, misconception confidence, answer length),
fitted on human-scored answers. For two-valued labels (correct / not) it also
holds a decision threshold.

It is saved as a versioned JSON file (``calibration.json``) next to the rubrics
and found there by :func:`find_calibration`. Applying it needs neither numpy
nor a model; fitting it (:mod:`grader.calibrate.fit`) needs scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.atomic import write_atomic
from grader.result import HARD_FLAGS, GradeResult
from grader.score.combine import sigmoid
from grader.score.notes import note, result_language
from grader.signature import Signature

CALIBRATION_FORMAT = 1
CALIBRATION_FILE = "calibration.json"

FEATURES: tuple[str, ...] = (
    "score",
    "coverage_mean",
    "coverage_max",
    "coverage_min",
    "covered_share",
    "similarity_mean",
    "similarity_max",
    "keyword_points",
    "misconception",
    "negated",
    "keyword_list",
    "off_topic",
    "copies_question",
    "empty",
    "log_words",
)


def raw_score(result: GradeResult) -> float:
    """The engine's own score of a result (before a calibration, if one was applied)."""
    raw = getattr(result, "raw_score", None)
    return float(result.score if raw is None else raw)


def result_features(result: GradeResult) -> dict[str, float]:
    """The calibration features of one graded answer (all in small, comparable ranges)."""
    pts = result.points
    total_w = sum(p.weight for p in pts) or 1.0
    cov = [p.coverage for p in pts] or [0.0]
    sims = [max(-5.0, min(10.0, p.similarity)) for p in pts] or [-5.0]
    words = len(result.answer.split())
    flags = set(result.flags)
    return {
        "score": raw_score(result),
        "coverage_mean": sum(p.coverage * p.weight for p in pts) / total_w,
        "coverage_max": max(cov),
        "coverage_min": min(cov),
        "covered_share": sum(p.weight for p in pts if p.status == "covered") / total_w,
        "similarity_mean": sum(s * p.weight for s, p in zip(sims, pts)) / total_w,
        "similarity_max": max(sims),
        "keyword_points": sum(p.weight for p in pts if p.keywords) / total_w,
        "misconception": max((m.confidence for m in result.misconceptions), default=0.0),
        "negated": float("negated" in flags),
        "keyword_list": float("keyword_list" in flags),
        "off_topic": float("off_topic" in flags),
        "copies_question": float("copies_question" in flags),
        "empty": float("empty" in flags),
        "log_words": math.log1p(words),
    }


class Calibration(BaseModel):
    """A fitted mapping from a grade result to the human scale; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal[1] = CALIBRATION_FORMAT
    package_version: str = ""
    created: str = ""
    model_id: str = Field("", description="encoder the calibration was fitted with")
    rubric_hash: str = Field("", description="hash of the rubric set it was fitted on")
    combiner: str = Field("", description="digest of the combiner parameters it was fitted with")
    source: str = Field("", description="the labelled data it was fitted on")
    label_kind: Literal["binary", "continuous"] = "continuous"
    scale_min: float = 0.0
    scale_max: float = 1.0
    labels: list[float] = Field(default_factory=list, description="the distinct human labels, if few")
    features: list[str]
    mean: list[float]
    std: list[float]
    coef: list[float]
    intercept: float
    threshold: float | None = Field(None, description="binary labels: P(correct) at or above which an answer counts as correct")
    n_fit: int = 0
    n_held_out: int = 0
    seed: int = 0
    metrics: dict[str, float] = Field(default_factory=dict, description="held-out figures, raw engine vs calibrated")

    # ----------------------------------------------------------------- applying
    def digest(self) -> str:
        """Short hash of the fitted numbers (for result signatures)."""
        body = self.model_dump(mode="json", include={"features", "mean", "std", "coef", "intercept", "threshold", "scale_min", "scale_max"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]

    def probability(self, result: GradeResult) -> float:
        """The calibrated score in [0, 1] (for binary labels: P(correct)), before the hard guards."""
        feats = result_features(result)
        z = self.intercept
        for name, m, s, c in zip(self.features, self.mean, self.std, self.coef):
            z += c * (feats.get(name, 0.0) - m) / (s or 1.0)
        return sigmoid(z)

    def calibrated_score(self, result: GradeResult) -> float:
        """The calibrated score in [0, 1]; hard guards (empty, copy of the question, off-topic) keep 0, a keyword list keeps its cap."""
        flags = set(result.flags)
        if flags & HARD_FLAGS:  # a calibration never overrides these guards: such answers keep 0
            return 0.0
        p = self.probability(result)
        if "keyword_list" in flags:
            p = min(p, raw_score(result))
        return p

    def to_scale(self, score: float) -> float:
        """A [0, 1] score on the human scale the calibration was fitted on."""
        return self.scale_min + score * (self.scale_max - self.scale_min)

    def predict(self, result: GradeResult) -> float:
        """The predicted human score (on the labels' scale)."""
        return self.to_scale(self.calibrated_score(result))

    def decide(self, result: GradeResult) -> bool | None:
        """Binary labels: whether the answer counts as correct; None for continuous labels."""
        if self.threshold is None:
            return None
        return self.calibrated_score(result) >= self.threshold

    def apply(self, result: GradeResult, lang: str | None = None) -> GradeResult:
        """A copy of ``result`` with the calibrated score and mark, a note keeping the raw score, and a signature suffix.

        The note is in ``lang`` ('vi' or 'en'; default: the answer's). Already calibrated results (their
        signature names a calibration) are returned unchanged.
        """
        signature = Signature.parse(result.signature)
        if signature.calibration is not None:
            return result
        raw = raw_score(result)
        score = round(self.calibrated_score(result), 4)
        lang = lang or result_language(result.language)
        if self.threshold is not None:
            verdict = note("correct" if score >= self.threshold else "not_correct", lang)
            text = note("calibrated_judged", lang, score=score, raw=raw, verdict=verdict, threshold=self.threshold)
        else:
            text = note("calibrated", lang, score=score, raw=raw)
        update: dict[str, object] = {
            "score": score,
            "mark": round(score * result.total, 2),
            "notes": [*result.notes, text],
            "signature": signature.calibrated(self.digest()).format(),
        }
        if "raw_score" in type(result).model_fields:
            update["raw_score"] = raw
        return result.model_copy(update=update)

    def apply_many(self, results: Iterable[GradeResult]) -> list[GradeResult]:
        """``apply`` to each result."""
        return [self.apply(r) for r in results]

    def check(self, signature: Signature) -> list[str]:
        """Why this calibration may not fit the grader of ``signature`` (empty if it does): another model, rubric set or combiner."""
        out = []
        if self.model_id and self.model_id != signature.model:
            out.append(f"calibration fitted with model {self.model_id}, grader uses {signature.model}")
        if self.rubric_hash and self.rubric_hash != signature.rubrics:
            out.append(f"calibration fitted on rubric set {self.rubric_hash}, grader has {signature.rubrics}")
        if self.combiner and self.combiner != signature.combiner:
            out.append(f"calibration fitted with combiner {self.combiner}, grader uses {signature.combiner}")
        return out

    # ------------------------------------------------------------ saving/loading
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the calibration as JSON (folders created)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(p, self.model_dump_json(indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        """Read a calibration file; ValueError names the file if it is not a valid one."""
        p = Path(path)
        try:
            return cls.model_validate_json(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{p}: not a valid calibration file ({exc})") from None


def find_calibration(rubric_dirs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Calibration | None:
    """The ``calibration.json`` next to the rubrics (in a given folder, or beside a given file); None if there is none."""
    if isinstance(rubric_dirs, (str, os.PathLike)):
        rubric_dirs = [rubric_dirs]
    for raw in rubric_dirs:
        p = Path(raw)
        candidate = p / CALIBRATION_FILE if p.is_dir() else p.parent / CALIBRATION_FILE
        if candidate.is_file():
            return Calibration.load(candidate)
    return None
