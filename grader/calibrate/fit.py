"""Fitting a :class:`~grader.score.calibration.Calibration` to human scores (``grader calibrate``).

A logistic model over the features of each :class:`~grader.result.GradeResult`, fitted on
part of the rows (fixed seed) to report held-out figures, then refitted on all of them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from grader._version import __version__
from grader.evaluate.metrics import label_metrics, macro_f1
from grader.result import GradeResult
from grader.score.calibration import FEATURES, Calibration, raw_score, result_features

if TYPE_CHECKING:
    from grader.engine import Grader


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
        raw = label_metrics([model.to_scale(raw_score(results[i])) for i in held_idx], h, labels=label_set, scale=(lo, hi))
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
    sig = grader.signature_fields
    return fit_calibration(
        results,
        human,
        model_id=sig.model or "",
        rubric_hash=sig.rubrics or "",
        combiner=sig.combiner or "",
        **kw,  # type: ignore[arg-type]
    )
