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
nor a model; fitting needs scikit-learn (the ``model`` extra).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.matching.combine import sigmoid
from grader.result import GradeResult

if TYPE_CHECKING:
    from grader.engine import Grader

CALIBRATION_FORMAT = 1
CALIBRATION_FILE = "calibration.json"

# Guards whose verdict a calibration never overrides: such answers keep score 0.
HARD_GUARDS = ("empty", "copies_question", "off_topic")

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


def _raw_score(result: GradeResult) -> float:
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
        "score": _raw_score(result),
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
        if flags & set(HARD_GUARDS):
            return 0.0
        p = self.probability(result)
        if "keyword_list" in flags:
            p = min(p, _raw_score(result))
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

    def apply(self, result: GradeResult) -> GradeResult:
        """A copy of ``result`` with the calibrated score and mark, a note keeping the raw score, and a signature suffix.

        Already calibrated results (their signature names a calibration) are returned unchanged.
        """
        if "|calibration:" in result.signature:
            return result
        raw = _raw_score(result)
        score = round(self.calibrated_score(result), 4)
        note = f"calibrated score {score:.2f} (raw engine score {raw:.2f}"
        if self.threshold is not None:
            verdict = "correct" if score >= self.threshold else "not correct"
            note += f"; judged {verdict} at threshold {self.threshold:.2f}"
        note += ")"
        update: dict[str, object] = {
            "score": score,
            "mark": round(score * result.total, 2),
            "notes": [*result.notes, note],
            "signature": f"{result.signature}|calibration:{self.digest()}",
        }
        if "raw_score" in type(result).model_fields:
            update["raw_score"] = raw
        return result.model_copy(update=update)

    def apply_many(self, results: Iterable[GradeResult]) -> list[GradeResult]:
        """``apply`` to each result."""
        return [self.apply(r) for r in results]

    def check(self, grader: Grader) -> list[str]:
        """Why this calibration may not fit ``grader`` (empty if it does): another model, rubric set or combiner."""
        out = []
        if self.model_id and self.model_id != grader.encoder.model_id:
            out.append(f"calibration fitted with model {self.model_id}, grader uses {grader.encoder.model_id}")
        if self.rubric_hash and self.rubric_hash != grader.rubric_hash:
            out.append(f"calibration fitted on rubric set {self.rubric_hash}, grader has {grader.rubric_hash}")
        if self.combiner and self.combiner != grader.params.digest():
            out.append(f"calibration fitted with combiner {self.combiner}, grader uses {grader.params.digest()}")
        return out

    # ------------------------------------------------------------ saving/loading
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the calibration as JSON (folders created)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return p

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


# --------------------------------------------------------------------- fitting
def split_rows(n: int, test_share: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """A fixed-seed (fit, held-out) split of ``n`` row indices; no held-out rows below 10 rows."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    k = int(round(n * test_share)) if n >= 10 and test_share > 0 else 0
    return sorted(idx[k:]), sorted(idx[:k])


def fit_fractional_logistic(x: Sequence[Sequence[float]], y01: Sequence[float], c: float = 1.0) -> tuple[list[float], float]:
    """Fractional logistic regression: each row counts as a positive with weight y and a negative with weight 1 - y."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    xa = np.asarray(x, dtype=float)
    ya = np.clip(np.asarray(y01, dtype=float), 0.0, 1.0)
    xx = np.vstack([xa, xa])
    yy = np.concatenate([np.ones(len(ya)), np.zeros(len(ya))])
    ww = np.concatenate([ya, 1.0 - ya])
    keep = ww > 0
    if len(set(yy[keep].tolist())) < 2:
        raise ValueError("the labels are all the same: calibration needs both high and low human scores")
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(xx[keep], yy[keep], sample_weight=ww[keep])
    return [float(v) for v in model.coef_[0]], float(model.intercept_[0])


def best_threshold(prob: Sequence[float], y: Sequence[int]) -> float:
    """The threshold in [0.05, 0.95] that maximises macro-F1 (ties: the one nearest 0.5)."""
    from grader.labelled import macro_f1

    best = (-1.0, 0.0, 0.5)
    for i in range(5, 96):
        t = i / 100
        f1 = macro_f1([int(p >= t) for p in prob], list(y))
        key = (round(f1, 6), -abs(t - 0.5), t)
        if key > best:
            best = key
    return best[2]


def fit_calibration(
    results: Sequence[GradeResult],
    human: Sequence[float],
    *,
    features: Sequence[str] = FEATURES,
    scale: tuple[float, float] | None = None,
    test_share: float = 0.2,
    seed: int = 0,
    refit_all: bool = True,
    c: float = 1.0,
    model_id: str = "",
    rubric_hash: str = "",
    combiner: str = "",
    source: str = "",
) -> Calibration:
    """Fit a calibration of ``results`` to the ``human`` scores.

    The rows are split (fixed ``seed``) into a fit part and a held-out part
    (``test_share``); the held-out figures (raw engine score vs calibrated) go
    into ``metrics``. The saved numbers are then refitted on all rows unless
    ``refit_all`` is false. Labels with two distinct values are ``binary``: the
    calibration then also holds the macro-F1-best threshold (fitted on the fit part).
    """
    from grader.labelled import label_metrics

    if len(results) != len(human):
        raise ValueError(f"{len(results)} results but {len(human)} human scores")
    if len(results) < 4:
        raise ValueError("calibration needs at least 4 labelled answers")
    labels = sorted(set(float(h) for h in human))
    lo, hi = scale if scale is not None else (labels[0], labels[-1])
    if hi <= lo:
        raise ValueError("the human scores are all the same: calibration needs both high and low scores")
    binary = len(labels) == 2
    y01 = [(float(h) - lo) / (hi - lo) for h in human]
    feats = [result_features(r) for r in results]
    names = list(features)
    rows = [[f[n] for n in names] for f in feats]

    def fit(idx: list[int]) -> Calibration:
        cols = list(zip(*[rows[i] for i in idx]))
        mean = [sum(col) / len(col) for col in cols]
        std = [math.sqrt(sum((v - m) ** 2 for v in col) / len(col)) for col, m in zip(cols, mean)]
        std = [s if s > 1e-9 else 1.0 for s in std]
        x = [[(v - m) / s for v, m, s in zip(rows[i], mean, std)] for i in idx]
        coef, intercept = fit_fractional_logistic(x, [y01[i] for i in idx], c)
        cal = Calibration(
            features=names,
            mean=mean,
            std=std,
            coef=coef,
            intercept=intercept,
            label_kind="binary" if binary else "continuous",
            scale_min=lo,
            scale_max=hi,
            labels=labels if len(labels) <= 21 else [],
        )
        if binary:
            prob = [cal.calibrated_score(results[i]) for i in idx]
            cal = cal.model_copy(update={"threshold": best_threshold(prob, [int(y01[i] >= 0.5) for i in idx])})
        return cal

    fit_idx, held_idx = split_rows(len(results), test_share, seed)
    model = fit(fit_idx)
    metrics: dict[str, float] = {}
    if held_idx:
        h = [float(human[i]) for i in held_idx]
        label_set = labels if len(labels) <= 21 else None
        raw = label_metrics([model.to_scale(_raw_score(results[i])) for i in held_idx], h, labels=label_set, scale=(lo, hi))
        cal = label_metrics(
            [model.predict(results[i]) for i in held_idx],
            h,
            labels=label_set,
            scale=(lo, hi),
            threshold=model.to_scale(model.threshold) if model.threshold is not None else None,
        )
        metrics.update({f"raw_{k}": round(v, 4) for k, v in raw.items() if not math.isnan(v)})
        metrics.update({f"calibrated_{k}": round(v, 4) for k, v in cal.items() if not math.isnan(v)})
    if refit_all and held_idx:
        model = fit(list(range(len(results))))
    from grader import __version__

    return model.model_copy(
        update={
            "package_version": __version__,
            "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "model_id": model_id,
            "rubric_hash": rubric_hash,
            "combiner": combiner,
            "source": source,
            "n_fit": len(results) if refit_all else len(fit_idx),
            "n_held_out": len(held_idx),
            "seed": seed,
            "metrics": metrics,
        }
    )


def fit_for_grader(grader: Grader, results: Sequence[GradeResult], human: Sequence[float], **kw: object) -> Calibration:
    """:func:`fit_calibration` with the grader's model id, rubric hash and combiner digest recorded."""
    return fit_calibration(
        results,
        human,
        model_id=grader.encoder.model_id,
        rubric_hash=grader.rubric_hash,
        combiner=grader.params.digest(),
        **kw,  # type: ignore[arg-type]
    )


def logit(p: float) -> float:
    """The log-odds of a probability (clipped to [1e-6, 1 - 1e-6])."""
    p = min(1 - 1e-6, max(1e-6, p))
    return math.log(p / (1 - p))


def fit_group_offsets(logits: Sequence[float], y01: Sequence[float], groups: Sequence[str], strength: float = 3.0) -> dict[str, float]:
    """Per-group shifts of a fitted model's log-odds (e.g. one per question): a per-group calibration.

    For each group ``g`` the shift ``b_g`` maximises the (fractional) log-likelihood of
    ``sigmoid(logit + b_g)`` on that group's labels minus ``strength * b_g**2 / 2``:
    a group with few labelled answers keeps a shift near 0, one with many gets the
    shift its labels ask for. A group absent here gets no shift when applied (use
    ``offsets.get(group, 0.0)``). Only meaningful for groups that have labelled
    answers, i.e. questions already marked (never for unseen questions).
    """
    if not len(logits) == len(y01) == len(groups):
        raise ValueError("logits, labels and groups must have the same length")
    by_group: dict[str, list[tuple[float, float]]] = {}
    for z, y, g in zip(logits, y01, groups):
        by_group.setdefault(g, []).append((float(z), min(1.0, max(0.0, float(y)))))
    out: dict[str, float] = {}
    for g, rows in by_group.items():
        b = 0.0
        for _ in range(50):  # Newton steps on a strictly concave function of one variable
            probs = [sigmoid(z + b) for z, _ in rows]
            grad = sum(p - y for p, (_, y) in zip(probs, rows)) + strength * b
            hess = sum(p * (1 - p) for p in probs) + strength
            step = grad / hess
            b -= step
            if abs(step) < 1e-9:
                break
        out[g] = b
    return out
