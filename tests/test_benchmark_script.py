"""Model-free helpers of the benchmark scripts: guard switches, CV folds, C choice, per-question calibration,
reference mode's answer-vs-reference features."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_benchmarks as rb  # noqa: E402

from grader.score.params import CombinerParams  # noqa: E402


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


def test_group_offsets_shift_towards_each_groups_labels() -> None:
    from reference_features import fit_group_offsets, logit

    logits = [0.0] * 40
    labels = [1.0] * 18 + [0.0] * 2 + [0.0] * 18 + [1.0] * 2
    groups = ["a"] * 20 + ["b"] * 20
    off = fit_group_offsets(logits, labels, groups, strength=1.0)
    assert off["a"] > 1.0 and off["b"] < -1.0
    assert off["a"] == pytest.approx(-off["b"])
    weak = fit_group_offsets(logits, labels, groups, strength=100.0)
    assert 0 < weak["a"] < off["a"]  # stronger shrinkage, smaller shift
    assert logit(0.5) == 0.0
    with pytest.raises(ValueError):
        fit_group_offsets([0.0], [1.0, 0.0], ["a"])


def test_demote_question_drops_question_words_only() -> None:
    from reference_features import demote_question, demoted_words

    q = "Why does the bulb go out when the switch is opened?"
    a = "The switch opens a gap, so the bulbs go out."
    assert "gap" in demote_question(a, q)
    assert "switch" not in demote_question(a, q).lower() and "bulb" not in demote_question(a, q).lower()
    assert demoted_words(a, q) == ["gap"]
    assert demoted_words("", q) == []


def test_word_match_exact_stem_prefix_and_typos() -> None:
    from reference_features import word_match

    assert word_match("gap", "gap") == 1.0
    assert word_match("connected", "connecting") == 1.0  # same crude stem
    assert word_match("evaporates", "evaporation") == 0.9  # long common prefix
    assert 0.8 <= word_match("terminal", "termnal") < 1.0  # a typo
    assert word_match("battery", "switch") == 0.0


def test_aligned_share_is_a_weighted_recall() -> None:
    from reference_features import aligned_share, idf_weights

    ref, ans = ["gap", "circuit", "closed"], ["gap", "closed"]
    assert aligned_share(ref, ans) == pytest.approx(2 / 3)
    assert aligned_share(ans, ref) == 1.0
    assert aligned_share([], ans) == 0.0
    idf = idf_weights(["the circuit is closed", "a closed circuit", "there is a gap"])
    assert idf("gap") > idf("circuit")  # rarer in the answers, weighs more
    assert aligned_share(ref, ["circuit"], idf) < 1 / 3  # the common word counts for less than a third


def test_negator_count() -> None:
    from reference_features import negator_count

    assert negator_count("It is not closed and there's no gap") == 2
    assert negator_count("It doesn’t work") == 1
    assert negator_count("The bulb is on") == 0
    assert negator_count("i dont know, it can't") == 2
