"""Fitting the combiner (``grader fit``) on the fit split of graded fixtures.

Two logistic regressions (point covered?, misconception stated?) over a handful of
evidence features, then a small grid search of the guard thresholds that minimises the
mean absolute error against the human scores. Nothing is tuned on single answers, and
the test split is never seen here. The grader is not changed: each trial scores the same
evidence (computed once per answer) with its own parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.linear_model import LogisticRegression

from grader.analysis import AnswerAnalysis, analyse_many
from grader.engine import Grader
from grader.evaluate.fixtures import Fixture
from grader.rubric import resolve_question_id
from grader.score.combine import misconception_features, point_features
from grader.score.grade import score_answer
from grader.score.params import CombinerParams

# Thresholds searched, scored by MAE against the human scores of the (fit) answers.
MAX_PASSES = 4
GRID: dict[str, list[float]] = {
    "covered_at": [0.4, 0.5],
    "partial_at": [0.2, 0.3],
    "partial_credit": [0.4, 0.6],
    "misconception_at": [0.4, 0.5, 0.6],
    "off_topic_z": [0.5, 1.0],
    "off_topic_margin": [0.75, 1.0, 1.25, 1.5],
    "negated_answer_at": [0.5, 0.75],
    "misconception_penalty_scale": [1.0, 2.0],
    "keyword_list_cap": [0.05, 0.15],
    "keyword_list_at": [0.5, 0.75],
    "salad_at": [0.5, 0.75],
}


def _logistic(x: list[list[float]], y: list[int]) -> tuple[float, ...]:
    if len(set(y)) < 2:
        raise ValueError("the fixtures need both positive and negative examples to fit on")
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(np.array(x), np.array(y))
    return (float(model.intercept_[0]), *(float(c) for c in model.coef_[0]))


def fit_combiner(
    grader: Grader,
    fixtures: Sequence[Fixture],
    analyses: Sequence[AnswerAnalysis] | None = None,
    *,
    signals: Literal["probe", "rules"] = "probe",
) -> CombinerParams:
    """Fit the combiner on ``fixtures`` (callers pass the fit split); ``grader`` is only read.

    ``signals``: whether the list, word-salad and negated-answer guards read the rubric probe or the
    hand rules (an ablation; the probe is what ships)."""
    # ids by the one rule (case and surrounding spaces ignored); fixtures of other questions are left out
    fixtures = [dataclasses.replace(f, question_id=q) for f in fixtures if (q := resolve_question_id(f.question_id, grader.rubrics))]
    if analyses is None:
        analyses = analyse_many([f.answer for f in fixtures], grader.encoder, restoring=grader.restore)
    evidence = [grader.evidence(f.question_id, an) for f, an in zip(fixtures, analyses)]
    px: list[list[float]] = []
    py: list[int] = []
    mx: list[list[float]] = []
    my: list[int] = []
    for f, ev in zip(fixtures, evidence):
        # Denied answers are in too: the probe's contradiction feature is learned from them.
        for p in ev.points:
            px.append(point_features(p))
            py.append(int(p.target.id in f.covers))
        for m in ev.misconceptions:
            mx.append(misconception_features(m, ev.points))
            my.append(int(m.target.id in f.misconceptions))
    point_coef = _logistic(px, py)
    mis_coef = _logistic(mx, my) if len(set(my)) == 2 else CombinerParams().misconception
    base = CombinerParams(point=point_coef, misconception=mis_coef, signals=signals)  # type: ignore[arg-type]

    human = np.array([f.human_score for f in fixtures])

    def mae(trial: CombinerParams) -> float:
        scores = [
            score_answer(grader.compiled[f.question_id], an, ev, trial, grader.signature).result.score
            for f, an, ev in zip(fixtures, analyses, evidence)
        ]
        return float(np.mean(np.abs(np.array(scores) - human)))

    # Coordinate descent over the grid: each threshold in turn takes its best value given the others,
    # until a whole pass changes nothing (a few dozen trials instead of every combination).
    best, best_mae = base, mae(base)
    for _ in range(MAX_PASSES):
        changed = False
        for name, values in GRID.items():
            for v in values:
                if v == getattr(best, name):
                    continue
                trial = best.model_copy(update={name: v})
                m = mae(trial)
                if m < best_mae - 1e-9:
                    best, best_mae, changed = trial, m, True
        if not changed:
            break
    return best.model_copy(update={"fitted_on": f"{len(fixtures)} fixture answers", "metrics": {"fit_mae": round(best_mae, 4)}})
