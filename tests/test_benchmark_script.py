"""Model-free helpers of benchmarks/run_benchmarks.py: guard switches, CV folds, C choice, per-question calibration."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_benchmarks as rb  # noqa: E402

from grader.matching.combine import CombinerParams  # noqa: E402


def _items(n_questions: int = 6, per_question: int = 40, seed: int = 0) -> list[rb.Item]:
    """Synthetic answers: one informative feature, and questions that differ in how often they are right."""
    rng = random.Random(seed)
    out = []
    for q in range(n_questions):
        bias = -1.5 + 3 * q / max(1, n_questions - 1)  # some questions mostly right, others mostly wrong
        for i in range(per_question):
            x = rng.gauss(0, 1)
            gold = float(x + bias + rng.gauss(0, 0.7) > 0)
            it = rb.Item("c", "train", f"q{q}", "question", "reference", f"answer {q}-{i}", gold, "")
            it.features = {"x": x}
            out.append(it)
    return out


def test_guards_off_switches_each_guard_and_all() -> None:
    on = CombinerParams()
    none = rb.guards_off(on)
    for fields in rb.GUARD_OFF.values():
        for k, v in fields.items():
            if k in CombinerParams.model_fields:
                assert getattr(none, k) == v
    only = rb.guards_off(on, ["negation"])
    assert only.negated_factor == 1.0 and only.off_topic_z == on.off_topic_z
    assert on.negated_factor != 1.0  # the original is left alone


def test_folds_by_question_keep_questions_together() -> None:
    items = _items()
    folds = rb._folds(items, k=3, by_question=True)
    by_q: dict[str, set[int]] = {}
    for it, f in zip(items, folds):
        by_q.setdefault(it.question_id, set()).add(f)
    assert all(len(v) == 1 for v in by_q.values())
    assert set(rb._folds(items, k=3)) == {0, 1, 2}
    assert rb._folds(items, k=3) == rb._folds(items, k=3)  # fixed seed


def test_logistic_scorer_chooses_c_and_per_question_calibration_helps_on_seen_questions() -> None:
    train, held = _items(seed=1), _items(seed=2)
    vector = lambda it: [it.features["x"]]  # noqa: E731
    glob = rb.logistic_scorer("global", vector, train, binary=True, c=None)
    assert glob.c in rb.C_GRID and glob.note.startswith("C=") and glob.threshold is not None
    perq = rb.per_question_scorer(rb.PER_QUESTION, glob, vector, train, True, glob.c)
    assert "shrinkage" in perq.note

    def f1(sc: rb.Scorer) -> float:
        return rb.macro_f1([int(v >= sc.threshold) for v in sc.scores(held)], [int(it.gold >= 0.5) for it in held])

    assert f1(perq) > f1(glob)  # the questions' different base rates are learnt from their train answers
    unseen = rb.Item("c", "test", "new question", "q", "r", "a", 1.0, "")
    unseen.features = {"x": 0.3}
    assert perq.fn(unseen) == pytest.approx(glob.fn(unseen))  # no train answers: no shift


def test_short_names_drop_parenthesised_details() -> None:
    assert rb._short(rb.PER_QUESTION) == "same, guards on, + per-question calibration"
    assert rb._short(f"{rb.REFERENCE}, guards off") == "reference mode + question demoting, word alignment, guards off"
