"""The combiner's parameters: the few numbers that turn evidence into coverage, detections and a score.

Fitted on the fixtures' fit split by ``grader fit`` (:mod:`grader.calibrate.combiner`) and shipped
as ``grader/data/combiner.json``; the defaults below are only used when that file is absent.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CombinerParams(BaseModel):
    """The few numbers that turn evidence into coverage, detections and a score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 2
    # P(point covered) = sigmoid(b0 + b1*z + b2*keywords + b3*z*keywords + b4*overshadowed + b5*probe + b6*probe_contra)
    point: tuple[float, float, float, float, float, float, float] = (-4.0, 1.2, 3.0, 0.3, -0.5, 2.0, -2.0)
    # P(misconception stated) = sigmoid(c0 + c1*z + c2*keywords + c3*(z - best contradicted point z)
    #                                   + c4*(z - best point z on the same segment) + c5*probe)
    misconception: tuple[float, float, float, float, float, float] = (-6.0, 1.0, 3.0, 1.0, 1.0, 2.0)
    covered_at: float = Field(0.5, description="coverage at or above which a point is covered")
    partial_at: float = Field(0.25, description="coverage at or above which a point is partly covered")
    partial_credit: float = 0.5
    misconception_at: float = 0.5
    negated_factor: float = Field(0.1, description="coverage kept by a point whose evidence is negated")
    negated_answer_at: float = Field(0.5, description="share of negated on-topic clauses from which the whole answer counts as negated")
    misconception_penalty_scale: float = Field(1.0, description="multiplies each rubric misconception's penalty")
    keyword_list_cap: float = Field(0.15, description="highest score of an answer that is only a list of terms")
    keyword_list_at: float = 0.6
    short_answer_words: int = Field(
        8, description="answers this short are elliptical replies: a point's keyword alone earns partial credit"
    )
    short_answer_keywords: float = Field(0.3, description="keyword share a short answer needs for that partial credit")
    off_topic_z: float = Field(1.0, description="topic strength below which an answer may be off-topic")
    off_topic_margin: float = Field(1.0, description="how much better another question must match")
    signals: Literal["probe", "rules"] = Field(
        "probe",
        description="what decides the list, word-salad and denied-answer guards: the rubric probe (learned) or the hand rules",
    )
    salad_at: float = Field(0.5, description="share of segments read as words without structure from which the answer is capped")
    fitted_on: str = "defaults"
    metrics: dict[str, float] = Field(default_factory=dict)

    def digest(self) -> str:
        """Short hash for result signatures."""
        body = self.model_dump(mode="json", exclude={"fitted_on", "metrics"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]

    @classmethod
    def load(cls, path: Path | None = None) -> CombinerParams:
        """Parameters from ``path``, else the bundled file, else the defaults."""
        if path is not None:
            return cls._parse(Path(path).read_text(encoding="utf-8"), str(path))
        bundled = resources.files("grader.data").joinpath("combiner.json")
        if bundled.is_file():
            return cls._parse(bundled.read_text(encoding="utf-8"), "grader/data/combiner.json")
        return cls()

    @classmethod
    def _parse(cls, text: str, name: str) -> CombinerParams:
        # A file fitted for another feature set cannot be read as this one: say so rather than list fields.
        try:
            version = json.loads(text).get("version")
        except (ValueError, AttributeError):
            version = None
        if version is not None and version != cls.model_fields["version"].default:
            raise ValueError(
                f"{name}: combiner parameters of version {version}, this engine reads version "
                f"{cls.model_fields['version'].default} (refit them with: grader fit FIXTURES -o {name})"
            )
        return cls.model_validate_json(text)
