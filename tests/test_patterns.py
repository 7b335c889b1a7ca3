"""Misconception patterns: ordered term groups inside one clause, not under a negation (no model)."""

from __future__ import annotations

import pytest

from grader.rubric.schema import Pattern
from grader.text.patterns import CompiledPattern, clauses_of, find_pattern, pattern_matches_text


def compile_(terms, **kw) -> CompiledPattern:
    p = Pattern(terms=terms, **kw)  # validated as a rubric's pattern is
    return CompiledPattern.build(p.terms, p.window, p.unless)


SWAP = compile_(
    [["bias cao", "high bias"], ["overfit", "học quá kỹ", "memorise"]], window=5, unless=["variance", "phương sai"]
)


@pytest.mark.parametrize(
    ("text", "english", "hit"),
    [
        ("Bias cao nghĩa là mô hình học quá kỹ tập train", False, "bias cao nghĩa là mô hình học quá kỹ"),
        ("High bias means the model overfits", True, "high bias means the model overfits"),  # prefix: overfit-s
        ("bias cao thi model hoc qua ky", False, "bias cao thi model hoc qua ky"),  # typed without diacritics
        ("high bias leads to overfiting", True, "high bias leads to overfiting"),  # one typo in a long word
    ],
)
def test_pattern_matches_the_claim_in_any_form(text, english, hit):
    m = find_pattern(SWAP, text, english)
    assert m is not None and m.words == hit


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("Overfitting là khi bias cao", False),  # wrong order
        ("High bias means underfitting and high variance means overfitting", True),  # 'variance' between: unless
        ("High bias means the model is too simple and it never overfits", True),  # too far apart (window 5)
        ("Không phải bias cao thì overfit", False),  # denied
        ("It is not true that high bias means overfitting", True),  # denied before the first group
        ("Nếu không có regularization thì bias cao cũng học quá kỹ", False),  # counterfactual sentence
        ("Thay vì nói bias cao là học quá kỹ", False),  # "thay vì": put aside, not claimed
    ],
)
def test_pattern_does_not_fire_on_other_statements(text, english):
    assert find_pattern(SWAP, text, english) is None


def test_single_group_pattern_and_terms_carrying_a_negation():
    p = compile_([["không cần optimizer", "no need for an optimizer"]])
    assert find_pattern(p, "Backprop tự update luôn, không cần optimizer", english=False) is not None
    assert find_pattern(p, "There is no need for an optimizer here", english=True) is not None


def test_clauses_and_text_level_matching():
    assert clauses_of("High bias underfits, while high variance overfits. Done.") == [
        "High bias underfits",
        "while high variance overfits.",
        "Done.",
    ]
    # Each clause is searched on its own: the contrast clause does not join "high bias" to "overfits".
    assert pattern_matches_text(SWAP, "High bias underfits, while high variance overfits.") is None
    assert pattern_matches_text(SWAP, "Nói chung high bias thì model sẽ overfit.") is not None


def test_a_condition_and_its_consequence_are_searched_together():
    swapped = compile_([["too big", "too large"], ["slow", "slowly"]], unless=["small"])
    text = "If it's too big, training gets really slow. If it's too small, the loss oscillates."
    assert "If it's too big, training gets really slow." in clauses_of(text)
    assert pattern_matches_text(swapped, text) is not None
    # a statement that is not a condition stays split at its comma
    assert pattern_matches_text(swapped, "The batch is too big, and the slow part is data loading.") is None
