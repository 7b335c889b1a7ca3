"""Agreement between computed and human scores: correlations, errors, kappa, F1, pair ranking, twin gaps.

scipy and scikit-learn compute the standard figures; the pair ranking and the
no-diacritics twin gap are this project's own (they need the fixtures' kinds and twins).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score, f1_score, mean_absolute_error, root_mean_squared_error

from grader.evaluate.fixtures import WRONG_KINDS, Fixture
from grader.result import GradeResult


def _corr(fn, a: Sequence[float], b: Sequence[float]) -> float:  # type: ignore[no-untyped-def]
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(fn(a, b)[0])


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation; NaN for fewer than 3 values or a constant series."""
    return _corr(pearsonr, a, b)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation; NaN for fewer than 3 values or a constant series."""
    return _corr(spearmanr, a, b)


# "Equally long" in the length-matched pair ranking: word counts within this factor.
LENGTH_MATCH = 1.5


def pair_ranking(fixtures: Sequence[Fixture], scores: Sequence[float], length_ratio: float | None = None) -> float:
    """Share of same-question (honest partial, wrong) pairs in which the partial answer scores higher (ties: half).

    With ``length_ratio``, only pairs of about equal length count (the longer at most
    ``length_ratio`` times the shorter, in words): there length says nothing.
    """
    by_q: dict[str, tuple[list[tuple[float, int]], list[tuple[float, int]]]] = defaultdict(lambda: ([], []))
    for f, s in zip(fixtures, scores):
        n = max(1, len(f.answer.split()))
        if f.kind == "partial":
            by_q[f.question_id][0].append((s, n))
        elif f.kind in WRONG_KINDS:
            by_q[f.question_id][1].append((s, n))
    wins = total = 0.0
    for partial, wrong in by_q.values():
        for p, pn in partial:
            for w, wn in wrong:
                if length_ratio is not None and max(pn, wn) > length_ratio * min(pn, wn):
                    continue
                wins += 1.0 if p > w else 0.5 if p == w else 0.0
                total += 1
    return wins / total if total else float("nan")


@dataclass
class Agreement:
    """Agreement figures for one scorer."""

    n: int
    pearson: float
    spearman: float
    mae: float
    pair_ranking: float
    by_kind: dict[str, float] = field(default_factory=dict)


def agreement(fixtures: Sequence[Fixture], scores: Sequence[float]) -> Agreement:
    """Correlation, error, pair ranking and mean score per kind."""
    human = [f.human_score for f in fixtures]
    kinds: dict[str, list[float]] = defaultdict(list)
    for f, s in zip(fixtures, scores):
        kinds[f.kind].append(s)
    return Agreement(
        n=len(fixtures),
        pearson=pearson(scores, human),
        spearman=spearman(scores, human),
        mae=float(mean_absolute_error(human, scores)) if fixtures else float("nan"),
        pair_ranking=pair_ranking(fixtures, scores),
        by_kind={k: float(np.mean(v)) for k, v in sorted(kinds.items())},
    )


def point_precision_recall(fixtures: Sequence[Fixture], results: Sequence[GradeResult]) -> tuple[float, float]:
    """Micro precision and recall of status 'covered' against the fixtures' covered points (wrong kinds included)."""
    tp = fp = fn = 0
    for f, r in zip(fixtures, results):
        for p in r.points:
            pred = p.status == "covered"
            gold = p.id in f.covers
            tp += pred and gold
            fp += pred and not gold
            fn += gold and not pred
    return (tp / (tp + fp) if tp + fp else float("nan"), tp / (tp + fn) if tp + fn else float("nan"))


def twin_gaps(fixtures: Sequence[Fixture], scores: Sequence[float]) -> list[float]:
    """|score(answer without diacritics) - score(same answer with them)| for each twin pair."""
    by_id = {f.answer_id: s for f, s in zip(fixtures, scores)}
    return [abs(s - by_id[f.twin_of]) for f, s in zip(fixtures, scores) if f.twin_of and f.twin_of in by_id]


def length_scores(fixtures: Sequence[Fixture]) -> list[float]:
    """The control scorer: answer length, scaled to [0, 1] within the set."""
    lengths = np.array([len(f.answer) for f in fixtures], dtype=float)
    return list(lengths / lengths.max()) if len(lengths) and lengths.max() > 0 else [0.0] * len(fixtures)


def discretise(values: Sequence[float], labels: Sequence[float] | None = None, scale: tuple[float, float] = (0.0, 1.0), bins: int = 5) -> tuple[list[int], int]:
    """Values as classes: the nearest of ``labels``, else ``bins`` equal bins over ``scale``; with the class count."""
    if labels:
        lab = sorted(labels)
        return [min(range(len(lab)), key=lambda i: (abs(v - lab[i]), i)) for v in values], len(lab)
    lo, hi = scale
    width = (hi - lo) or 1.0
    return [min(bins - 1, max(0, int((v - lo) / width * bins))) for v in values], bins


def macro_f1(pred: Sequence[int], gold: Sequence[int]) -> float:
    """Mean F1 over the classes present in ``gold`` or ``pred`` (a class never predicted correctly scores 0)."""
    classes = sorted(set(gold) | set(pred))
    if not classes:
        return float("nan")
    return float(f1_score(list(gold), list(pred), labels=classes, average="macro", zero_division=0.0))


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], k: int) -> float:
    """Cohen's kappa with quadratic weights between two ratings in ``0..k-1`` (NaN when undefined)."""
    if k < 2 or not len(a):
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one class only: kappa is undefined
        return float(cohen_kappa_score(list(a), list(b), labels=list(range(k)), weights="quadratic"))


def label_metrics(
    pred: Sequence[float],
    human: Sequence[float],
    *,
    labels: Sequence[float] | None = None,
    scale: tuple[float, float] | None = None,
    threshold: float | None = None,
    bins: int = 5,
) -> dict[str, float]:
    """Agreement of predictions with human scores, both on the human scale.

    Pearson, Spearman, MAE, RMSE, and quadratic weighted kappa after putting both
    on the label set (``labels``, if the labels are few) or into ``bins`` equal
    bins of ``scale``; for two labels also accuracy and macro-F1, a prediction
    counting as the high label at or above ``threshold`` (default: midway).
    """
    p = np.asarray(pred, dtype=float)
    h = np.asarray(human, dtype=float)
    if len(p) != len(h):
        raise ValueError("pred and human differ in length")
    lo, hi = scale if scale is not None else (float(h.min()), float(h.max())) if len(h) else (0.0, 1.0)
    out = {
        "n": float(len(p)),
        "pearson": pearson(p, h),
        "spearman": spearman(p, h),
        "mae": float(mean_absolute_error(h, p)) if len(p) else float("nan"),
        "rmse": float(root_mean_squared_error(h, p)) if len(p) else float("nan"),
    }
    pc, k = discretise(p, labels, (lo, hi), bins)
    hc, _ = discretise(h, labels, (lo, hi), bins)
    out["qwk"] = quadratic_weighted_kappa(hc, pc, k)
    if labels is not None and len(labels) == 2:
        t = threshold if threshold is not None else (labels[0] + labels[1]) / 2
        yp = [int(v >= t) for v in p]
        yh = [int(v >= (labels[0] + labels[1]) / 2) for v in h]
        out["accuracy"] = float(np.mean([a == b for a, b in zip(yp, yh)]))
        out["macro_f1"] = macro_f1(yp, yh)
    return out
