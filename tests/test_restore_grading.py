"""Restoring diacritics and shorthand inside grading: the analysis reads the restored text, results quote
the text the candidate wrote (``answer[start:end] == evidence.text``), marked, English and code answers
are graded as written, ``grader explain`` shows the restored text, and twins typed with and without
marks grade alike (the real model)."""

from __future__ import annotations

import hashlib
import statistics
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from grader.analysis import analyse_many
from grader.authoring.explain import render_trace
from grader.evaluate.fixtures import load_fixtures
from grader.result import GradeResult
from grader.signature import Signature

ROOT = Path(__file__).resolve().parent.parent

# Chat Vietnamese without marks and with shorthand (ko, dc, vs, mk, r), and its marked form.
CHAT = "theo mk thi BN giup gradient ko bi no hay bi mat, nen train on dinh hon r dung lr lon hon dc. gamma vs beta la tham so hoc dc"
MARKED = "Theo mình thì BN giúp gradient không bị nổ hay bị mất, nên train ổn định hơn rồi dùng lr lớn hơn được. gamma với beta là tham số học được"


class HashingEncoder:
    """A model-free encoder: a normalised bag of hashed words (deterministic, fast)."""

    model_id = "test-hashing"

    def encode(self, texts):  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest()[:4], 16) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


# --------------------------------------------------------------------------- the analysis (no model)


def test_the_analysis_reads_the_restored_text_and_maps_back_to_the_original():
    (an,) = analyse_many([CHAT], HashingEncoder())
    assert an.restored and an.original == CHAT and an.language == "vi_nodiac"
    assert an.text.startswith("theo mình thì BN giúp gradient không bị nổ")
    assert "với beta là tham số học được" in an.text and "ko" not in an.text.split()
    # Every segment maps back onto the span the candidate typed: the same words, shorthand and all.
    for seg in an.segments:
        start, end = an.to_original(seg.start, seg.end)
        typed = an.original[start:end]
        assert len(typed.split()) == len(seg.text.split()), (typed, seg.text)
    first = an.segments[0]
    assert first.text.endswith("lớn hơn được.")
    start, end = an.to_original(first.start, first.end)
    assert (start, end) == (0, CHAT.index("dc.") + 3)  # the whole first sentence as typed, "dc." included


@pytest.mark.parametrize(
    "answer",
    [
        "Batch Norm chuẩn hóa activation theo mini-batch, nên gradient ổn định và có thể dùng learning rate lớn hơn.",
        "BN normalises activations per mini-batch, so a model can use a larger learning rate; top k and k-means stay.",
        "model.add(BatchNormalization()); x = (x - mu) / sqrt(var + eps); lr = 1e-3",
    ],
)
def test_marked_english_and_code_answers_are_analysed_as_written(answer):
    (an,) = analyse_many([answer], HashingEncoder())
    assert an.text == an.original == unicodedata.normalize("NFC", answer) and not an.restored


def test_restoring_can_be_switched_off():
    (an,) = analyse_many([CHAT], HashingEncoder(), restoring=False)
    assert an.text == an.original == CHAT and not an.restored


def test_the_signature_names_the_restorer_only_when_it_restores():
    from grader import Grader
    from grader.paths import bundled_rubrics_dir
    from grader.rubric import load_rubric_set
    from grader.text.restore import data_digest

    rubrics = [lr.rubric for lr in load_rubric_set([bundled_rubrics_dir()])][:1]
    on = Grader(rubrics, HashingEncoder(), use_cache=False)
    off = Grader(rubrics, HashingEncoder(), use_cache=False, restore=False)
    assert Signature.parse(on.signature).restorer == data_digest() and len(data_digest()) == 8
    assert Signature.parse(off.signature).restorer is None and on.signature.startswith(off.signature)


# --------------------------------------------------------------------------- grading (the real model)


def _quotes_hold(result: GradeResult, answer: str) -> list[str]:
    assert result.answer == unicodedata.normalize("NFC", answer)
    quotes = [e for e in [*(p.evidence for p in result.points), *(m.evidence for m in result.misconceptions)] if e]
    for e in quotes:
        assert result.answer[e.start : e.end] == e.text
    return [e.text for e in quotes]


def test_a_shorthand_answer_is_quoted_as_typed(grader):
    result = grader.grade("q1", CHAT)
    quotes = _quotes_hold(result, CHAT)
    assert quotes and all(q in CHAT for q in quotes)
    assert any(" ko " in f" {q} " or q.endswith(" dc") for q in quotes), quotes  # the shorthand, as typed
    marked = grader.grade("q1", MARKED)
    _quotes_hold(marked, MARKED)
    assert abs(result.score - marked.score) <= 0.1, (result.score, marked.score)
    assert result.language == "vi_nodiac"


def test_a_decomposed_answer_is_quoted_in_nfc(grader):
    answer = unicodedata.normalize("NFD", MARKED)
    result = grader.grade("q1", answer)
    _quotes_hold(result, answer)


def test_explain_shows_the_restored_text(grader):
    text = render_trace(grader.trace("q1", CHAT))
    restored = next(line for line in text.splitlines() if line.startswith("restored ("))
    assert "không bị nổ" in restored and "full mode" in restored
    assert not any(line.startswith("restored (") for line in render_trace(grader.trace("q1", MARKED)).splitlines())


def test_nodiac_twins_grade_alike(grader):
    """The 36 twin pairs of fixtures/holdout/nodiac-2026-12-06.csv (the same answer typed with marks, and
    without them, 12 of them in chat shorthand). Measured with this restorer (benchmarks/diacritics.py):
    mean gap 0.033, max 0.200; without restoring 0.141 and 0.667. The bounds sit half as high again as the
    measured gaps (the matching around the restorer is being changed), and far under the unrestored ones."""
    fixtures = load_fixtures([ROOT / "fixtures" / "holdout" / "nodiac-2026-12-06.csv"])
    scores = {f.answer_id: r.score for f, r in zip(fixtures, grader.grade_many([(f.question_id, f.answer) for f in fixtures]))}
    gaps = [abs(scores[f.answer_id] - scores[f.twin_of]) for f in fixtures if f.twin_of]
    assert len(gaps) == 36
    assert statistics.mean(gaps) <= 0.05 and max(gaps) <= 0.30, sorted(gaps)[-5:]
