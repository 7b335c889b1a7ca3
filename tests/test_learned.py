"""The learned matching: generated training text, the per-rubric probe, the guards that read it,
and how the whole engine does on answers written without the rubric in view (the dev hold-out set)."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from grader.compile.augment import denied, hurried, reversed_claim, shuffled, term_list, unmarked
from grader.compile.probe import LIST, NONE, SALAD, contra_class, fit_probe, point_class, training_texts
from grader.evaluate.fixtures import load_fixtures
from grader.evaluate.metrics import agreement
from grader.paths import bundled_rubrics_dir
from grader.rubric import load_rubric_set
from grader.text.keywords import CompiledKeyword, match_keyword
from grader.text.normalize import fold, normalize
from grader.text.segment import segment

ROOT = Path(__file__).resolve().parent.parent


def _rubrics():
    return {lr.rubric.id: lr.rubric for lr in load_rubric_set([str(bundled_rubrics_dir())])}


# --- generated copies: deterministic, and each one really is what its name says -------------------


def test_denied_copies_deny_in_both_languages():
    en = "A learning rate that is too large makes the loss diverge."
    vi = "Learning rate quá lớn làm loss phân kỳ."
    for text in (en, vi):
        copy = denied(text)
        assert copy is not None and copy != text
        assert copy == denied(text)  # seeded by the text itself
        low = copy.lower()
        assert any(w in low for w in ("not", "n't", "no,", "không", "myth", "chứ")), copy


def test_reversed_claims_swap_one_contrast_word():
    text = "Too small a learning rate makes training slow."
    copy = reversed_claim(text)
    assert copy is not None and copy != text
    changed = [(a, b) for a, b in zip(text.split(), copy.split()) if a != b]
    assert len(changed) == 1 and len(text.split()) == len(copy.split()), changed
    assert reversed_claim("Nothing to swap here at all.") is None


def test_shuffled_keeps_the_words_and_changes_their_order():
    text = "gradients flow backwards from the loss through every layer"
    copy = shuffled(text)
    assert copy is not None and copy != text and Counter(copy.split()) == Counter(text.split())
    assert shuffled("too short") is None


def test_hurried_and_unmarked_copies():
    assert unmarked("Đạo hàm bằng không") == "Dao ham bang khong"
    copy = hurried("Because the learning rate is too large, the loss diverges.")
    assert len(copy.split()) < len("Because the learning rate is too large, the loss diverges.".split())
    lst = term_list(["batch norm", "mean", "variance", "gamma", "beta"], "seed")
    assert lst == term_list(["batch norm", "mean", "variance", "gamma", "beta"], "seed")
    assert 3 <= sum(t in lst.lower() for t in ("batch norm", "mean", "variance", "gamma", "beta")) <= 5


def test_training_texts_cover_every_class_of_a_rubric():
    rubrics = _rubrics()
    q8 = rubrics["q8"]
    others = [p.statement.en for r in rubrics.values() if r.id != "q8" for p in r.points]
    examples = training_texts(q8, others, ["The weather is nice today."])
    classes = {c for _, c in examples}
    assert {point_class(p.id) for p in q8.points} <= classes
    assert {contra_class(p.id) for p in q8.points} & classes
    assert {LIST, SALAD, NONE} <= classes
    assert len(examples) == len(set(examples))
    assert training_texts(q8, others, ["The weather is nice today."]) == examples  # deterministic


# --- the probe itself (pure: any embedding function) ---------------------------------------------


def test_probe_separates_classes_it_was_fitted_on():
    rng = np.random.default_rng(0)
    centres = {c: rng.normal(size=16) for c in ("p:a", "p:b", NONE)}
    examples = [(f"{c}-{i}", c) for c in centres for i in range(30)]
    noise = {t: rng.normal(scale=0.3, size=16) for t, _ in examples}

    def embed(texts):
        return np.stack([centres[t.rsplit("-", 1)[0]] + noise[t] for t in texts])

    probe = fit_probe(examples, embed)
    proba = probe.proba(embed([t for t, _ in examples]))
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    predicted = [probe.classes[i] for i in proba.argmax(axis=1)]
    assert predicted == [c for _, c in examples]
    assert probe.index("p:b") == probe.classes.index("p:b") and probe.index("m:x") is None


# --- the exact rules kept beside it ---------------------------------------------------------------


def test_a_lone_letter_is_no_keyword():
    """Issue 12: 'a', 'e', 'I' scored 0.6 on five questions through a fuzzy hit on one letter of a term."""
    keywords = [CompiledKeyword.build(k.term, k.aliases) for r in _rubrics().values() for p in r.points for k in p.keywords]
    for answer in ("a", "e", "I", "b"):
        hits = [h for kw in keywords if (h := match_keyword(kw, normalize(answer), fold(normalize(answer))))]
        assert hits == [], (answer, hits)
    hit = match_keyword(CompiledKeyword.build("learning rate"), "the learning rate", "the learning rate")
    assert hit is not None and hit.credit == 1.0


def test_arrows_split_a_chain_into_cause_effect_links():
    segs = [s.text for s in segment("lr quá lớn -> loss dao động -> không hội tụ")]
    assert any("->" in s for s in segs) and len(segs) >= 2, segs


# --- with the real model ---------------------------------------------------------------------------


def test_word_salad_and_denials_of_a_correct_answer_lose_the_credit(grader):
    answer = (
        "Backpropagation applies the chain rule from the loss backwards, layer by layer, to get the gradient "
        "of the loss with respect to every weight; an optimizer such as SGD then uses those gradients to update the weights."
    )
    full = grader.grade("q5", answer).score
    salad = grader.grade("q5", shuffled(answer) or "").score
    assert full >= 0.6 and salad <= 0.2, (full, salad)


def test_quality_on_the_dev_set_written_blind(grader):
    """fixtures/holdout/dev-2026-12-06.csv: 144 answers in realistic registers, written blind, never fitted on.
    Measured with this engine (see the closing note of issue 12): Pearson 0.81, MAE 0.13; misconceptions 0.20,
    negated 0.16, word salad 0.05, one-character answers 0. The floors sit a little under."""
    fixtures = load_fixtures([ROOT / "fixtures" / "holdout" / "dev-2026-12-06.csv"])
    assert len(fixtures) == 144
    scores = [r.score for r in grader.grade_many([(f.question_id, f.answer) for f in fixtures])]
    a = agreement(fixtures, scores)
    assert a.pearson >= 0.77 and a.mae <= 0.15, a
    assert a.by_kind["misconception"] <= 0.25 and a.by_kind["negated"] <= 0.22 and a.by_kind["word_salad"] <= 0.15, a.by_kind
    assert a.by_kind["complete"] >= 0.85, a.by_kind
    tiny = [s for f, s in zip(fixtures, scores) if len(f.answer.split()) <= 1]
    assert tiny and max(tiny) <= 0.05, tiny
    assert statistics.mean(scores) > 0.2  # not a grader that gives everything nothing


def test_the_shipped_probes_are_what_fitting_gives(grader):
    """grader/data/probes.npz holds the bundled rubrics' probes fitted (python -m grader.train.probes): the
    bundled grader uses them, and refitting one from its examples gives the same numbers."""
    from grader.compile.build import background_sentences, probe_examples
    from grader.compile.probe import examples_digest, shipped_probes
    from grader.train.probes import same

    shipped = shipped_probes()
    rubrics = [c.rubric for c in grader.compiled.values()]
    examples = probe_examples(rubrics, background_sentences())
    digests = {r.id: examples_digest(grader.reference_encoder.model_id, examples[r.id]) for r in rubrics}
    assert set(digests.values()) == set(shipped), "the shipped probes are stale: python -m grader.train.probes"
    assert all(grader.compiled[rid].probe is shipped[d] for rid, d in digests.items())
    refit = fit_probe(examples["q8"], grader.reference_encoder.encode)
    assert same({"q8": refit}, {"q8": shipped[digests["q8"]]})


def test_an_edited_rubric_gets_its_probe_fitted_afresh(grader):
    from grader.compile.build import compile_rubrics

    q8 = grader.compiled["q8"].rubric
    point = q8.points[0]
    edited = q8.model_copy(update={"points": [point.model_copy(update={"id": "renamed"}), *q8.points[1:]]})
    compiled = compile_rubrics([edited], grader.reference_encoder)
    probe = compiled["q8"].probe
    assert probe is not None and "p:renamed" in probe.classes and probe is not grader.compiled["q8"].probe


def test_quality_on_the_set_sealed_until_the_probe_shipped(grader):
    """fixtures/holdout/sealed-2026-12-06.csv: 144 answers in realistic registers, scored only in aggregate until
    the engine of issue 12 was final. Measured then: Pearson 0.791, MAE 0.141, negated 0.05, word salad 0.02,
    one-character answers 0, complete 0.90. The floors sit a little under; misconceptions (0.28 against a
    human 0.14) and analogies (0.15 against 0.68) are what it still gets wrong, not pinned here."""
    fixtures = load_fixtures([ROOT / "fixtures" / "holdout" / "sealed-2026-12-06.csv"])
    assert len(fixtures) == 144
    scores = [r.score for r in grader.grade_many([(f.question_id, f.answer) for f in fixtures])]
    a = agreement(fixtures, scores)
    assert a.pearson >= 0.76 and a.mae <= 0.16, a
    assert a.by_kind["negated"] <= 0.12 and a.by_kind["word_salad"] <= 0.1 and a.by_kind["complete"] >= 0.85, a.by_kind
    tiny = [s for f, s in zip(fixtures, scores) if len(f.answer.split()) <= 1]
    assert tiny and max(tiny) <= 0.05, tiny
