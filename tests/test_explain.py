"""`grader explain` renders the trace the grading produced: checked by its numbers, with the real model."""

from __future__ import annotations

import re

import pytest

from grader.authoring.explain import render_trace
from grader.cli import main

# A partial answer that states one misconception (tune_on_test, penalty 0.1): the score stays above 0,
# so the penalty actually subtracted shows in the final score.
TUNED_ON_TEST = (
    "The weights are learned by the optimizer, while things like the learning rate are fixed by me before training. "
    "To pick them I train a few models and keep the setting that gets the highest accuracy on the test set."
)
NUMBER = r"(-?\d+(?:\.\d+)?)"


def _score_line(text: str) -> str:
    (line,) = [s for s in text.splitlines() if s.startswith("score: ")]
    return line


def test_the_printed_sum_is_the_score(grader):
    trace = grader.trace("q7", TUNED_ON_TEST)
    result = trace.result
    assert [m.id for m in result.misconceptions] == ["tune_on_test"] and 0 < result.score < 1, render_trace(trace)
    line = _score_line(render_trace(trace))
    earned, total, first = map(float, re.search(rf"earned {NUMBER}/{NUMBER} = {NUMBER}", line).groups())
    assert earned == sum(p.credit * p.weight for p in result.points) and total == sum(p.weight for p in result.points)
    assert first == pytest.approx(earned / total, abs=5e-4)
    score = earned / total
    for _mid, penalty, scale, after in re.findall(rf"misconception (\w+): -{NUMBER} x {NUMBER} -> {NUMBER}", line):
        score -= float(penalty) * float(scale)  # what scoring subtracts: the penalty times the combiner's scale
        assert float(after) == pytest.approx(score, abs=5e-4)
    assert float(scale) == grader.params.misconception_penalty_scale
    final = float(re.search(rf"-> {NUMBER} \(", line).group(1))
    assert final == pytest.approx(score, abs=5e-4) and final == pytest.approx(result.score, abs=5e-4)
    assert line.endswith(f"({result.mark:g}/{result.total:g})")


def test_points_and_misconceptions_are_the_graded_ones(grader):
    trace = grader.trace("q7", TUNED_ON_TEST)
    text = render_trace(trace)
    for ev, prob, pr in zip(trace.evidence.points, trace.point_probabilities, trace.result.points):
        (line,) = [s for s in text.splitlines() if s.startswith(f"  {pr.id}: ")]
        assert f"z={ev.z:.2f}" in line and f"P(covered)={prob:.2f}" in line and line.endswith(f"-> {pr.status}, credit {pr.credit:g} x weight {pr.weight:g}")
        assert round(prob * (grader.params.negated_factor if pr.negated else 1.0), 4) == pr.coverage
    for ev, prob in zip(trace.evidence.misconceptions, trace.misconception_probabilities):
        assert f"  {ev.target.id}: best segment [{ev.segment}] z={ev.z:.2f} kw={ev.keyword_share:.2f} P(stated)={prob:.2f}" in text
        if ev.target.id == "tune_on_test" and ev.pattern is None:
            assert round(prob, 4) == trace.result.misconceptions[0].confidence
    segments = [s for s in text.splitlines() if re.match(r"  \[\d+\] ", s)]
    assert len(segments) == len(trace.analysis.segments)


@pytest.mark.slow
def test_explain_command_encodes_the_answer_once(grader, monkeypatch, capsys):
    calls: list[int] = []
    backend = type(grader.encoder)  # the command builds its grader on the same (default) backend
    encode = backend.encode

    def counting(self, texts):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return encode(self, texts)

    monkeypatch.setattr(backend, "encode", counting)
    assert main(["explain", "q7", TUNED_ON_TEST]) == 0
    out = capsys.readouterr().out
    assert len(calls) == 1, calls  # the rubrics' references come from the cache; the answer is encoded once
    assert _score_line(out) == _score_line(render_trace(grader.trace("q7", TUNED_ON_TEST)))
