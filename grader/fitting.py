"""Fitting the combiner (``grader fit``) on the fit split of graded fixtures.

Two logistic regressions (point covered?, misconception stated?) over a handful
of evidence features, then a small grid search of the guard thresholds that
minimises the mean absolute error against the human scores. Nothing is tuned
on single answers, and the test split is never seen here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from grader.analysis import AnswerAnalysis, analyse_many
from grader.engine import Grader
from grader.fixtures import Fixture
from grader.matching.combine import CombinerParams, misconception_features, point_features
from grader.matching.features import rubric_evidence
from grader.scoring import collect_evidence


def _logistic(x: list[list[float]], y: list[int]) -> tuple[float, ...]:
    if len(set(y)) < 2:
        raise ValueError("the fixtures need both positive and negative examples to fit on")
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(np.array(x), np.array(y))
    return (float(model.intercept_[0]), *(float(c) for c in model.coef_[0]))


def fit_combiner(grader: Grader, fixtures: Sequence[Fixture], analyses: Sequence[AnswerAnalysis] | None = None) -> CombinerParams:
    """Fit the combiner on ``fixtures`` (callers pass the fit split)."""
    fixtures = [f for f in fixtures if f.question_id in grader.rubrics]
    if analyses is None:
        analyses = analyse_many([f.answer for f in fixtures], grader.encoder)
    px: list[list[float]] = []
    py: list[int] = []
    mx: list[list[float]] = []
    my: list[int] = []
    for f, an in zip(fixtures, analyses):
        points, mis = rubric_evidence(grader.compiled[f.question_id], an)
        if f.kind != "negated":  # negated answers are the negation guard's job, not the regression's
            for ev in points:
                px.append(point_features(ev))
                py.append(int(ev.target.id in f.covers))
        for ev in mis:
            mx.append(misconception_features(ev, points))
            my.append(int(ev.target.id in f.misconceptions))
    point_coef = _logistic(px, py)
    mis_coef = _logistic(mx, my) if len(set(my)) == 2 else CombinerParams().misconception
    base = CombinerParams(point=point_coef, misconception=mis_coef)  # type: ignore[arg-type]

    # Thresholds: a small grid, scored by MAE against human scores on the same (fit) answers.
    grid = {
        "covered_at": [0.4, 0.5],
        "partial_at": [0.2, 0.3],
        "partial_credit": [0.4, 0.6],
        "misconception_at": [0.4, 0.5, 0.6],
        "off_topic_z": [0.5, 1.0],
        "off_topic_margin": [0.75, 1.0, 1.25, 1.5],
        "negated_answer_at": [0.5, 0.75],
        "misconception_penalty_scale": [1.0, 2.0],
        "keyword_list_cap": [0.05, 0.15],
    }
    evidence = [collect_evidence(grader.compiled[f.question_id], an) for f, an in zip(fixtures, analyses)]
    topics = [grader.topic(f.question_id, an) for f, an in zip(fixtures, analyses)]
    best: tuple[float, CombinerParams] | None = None
    saved = grader.params
    for values in itertools.product(*grid.values()):
        trial = base.model_copy(update=dict(zip(grid, values)))
        grader.params = trial
        scores = [
            grader.grade_analysed(f.question_id, an, evidence=ev, topic=tp).score
            for f, an, ev, tp in zip(fixtures, analyses, evidence, topics)
        ]
        mae = float(np.mean(np.abs(np.array(scores) - np.array([f.human_score for f in fixtures]))))
        if best is None or mae < best[0] - 1e-9:
            best = (mae, trial)
    grader.params = saved
    assert best is not None
    return best[1].model_copy(update={"fitted_on": f"{len(fixtures)} fixture answers", "metrics": {"fit_mae": round(best[0], 4)}})
