"""The grading engine with the real bundled model: API, guards, feedback, determinism, cache, quality."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pathlib import Path

from grader import Grader
from grader.analysis import analyse_many
from grader.embedding.cache import CachedEncoder
from grader.engine import UnknownQuestionError
from grader.evaluate.fixtures import load_fixtures
from grader.evaluate.metrics import agreement, pair_ranking, twin_gaps
from grader.text.normalize import strip_diacritics

ROOT = Path(__file__).resolve().parent.parent

Q1_FULL = (
    "Batch Normalization chuẩn hóa đầu ra của mỗi layer theo từng mini-batch về mean 0 và variance 1, "
    "sau đó scale và shift bằng gamma, beta học được. Nhờ phân phối activation ổn định nên gradient không bị "
    "nổ hay triệt tiêu, train hội tụ nhanh hơn và có thể dùng learning rate lớn hơn. Giá trị cũng ít rơi vào "
    "vùng bão hòa của sigmoid/tanh, mô hình bớt phụ thuộc vào cách khởi tạo weight. Ngoài ra nhiễu từ thống kê "
    "của batch tạo hiệu ứng regularization nhẹ, giảm overfitting nên có thể dùng ít dropout hơn."
)
Q1_PARTIAL = "BN normalize activation của mỗi layer về zero mean, unit variance theo batch nên train ổn định hơn."


@pytest.fixture(scope="module")
def g(grader: Grader) -> Grader:
    return grader


def test_full_answer_scores_high_with_evidence(g):
    r = g.grade("q1", Q1_FULL)
    assert r.score >= 0.8, r.to_text()
    assert r.question_id == "q1" and r.language == "vi" and r.flags == []
    covered = [p for p in r.points if p.status == "covered"]
    assert len(covered) >= 4
    for p in covered:
        assert p.evidence is not None
        assert r.answer[p.evidence.start : p.evidence.end] == p.evidence.text
        assert p.feedback
    assert r.mark == pytest.approx(r.score * r.total, abs=0.01)


def test_partial_between_nothing_and_full(g):
    full, partial = g.grade("q1", Q1_FULL).score, g.grade("q1", Q1_PARTIAL).score
    assert 0.1 <= partial < full
    assert g.grade("q1", Q1_PARTIAL).points[0].status == "covered"


def test_english_and_no_diacritics_answers_earn_credit(g):
    en = (
        "It standardises each layer's activations over the mini-batch to zero mean and unit variance, then applies "
        "a learnable scale and shift. Training becomes more stable, gradients neither explode nor vanish, and you "
        "can use a higher learning rate. It also adds a little regularization because of batch noise."
    )
    r = g.grade("q1", en)
    assert r.language == "en" and r.score >= 0.5, r.to_text()
    vi = g.grade("q1", Q1_FULL)
    nodiac = g.grade("q1", strip_diacritics(Q1_FULL))
    assert nodiac.language == "vi_nodiac"
    assert abs(nodiac.score - vi.score) <= 0.15, (vi.score, nodiac.score)


def test_negated_answer_earns_little(g):
    r = g.grade(
        "q1",
        "BN không chuẩn hóa activation về mean 0 variance 1. Nó không giúp gradient ổn định, không cho phép dùng "
        "learning rate lớn hơn và cũng không giúp giảm overfitting.",
    )
    assert r.score <= 0.3 and "negated" in r.flags, r.to_text()


def test_keyword_list_is_capped(g):
    r = g.grade("q1", "zero mean, unit variance, gamma beta, gradient ổn định, learning rate lớn, bão hòa, regularization")
    assert "keyword_list" in r.flags and r.score <= 0.2
    # the same terms chained with arrows relate cause and effect: a terse claim, not a list
    chain = g.grade(
        "q5",
        "tinh output -> so voi nhan ra loss -> dao ham loss theo tung trong so (chain rule, tu cuoi ve dau) "
        "-> optimizer cap nhat w = w - lr * grad",
    )
    assert "keyword_list" not in chain.flags and chain.score >= 0.2, chain.to_text()


def test_copy_of_question_earns_nothing(g):
    for text in ("Trình bày ý nghĩa của Batch Normalization", "trinh bay y nghia cua batch normalization?"):
        r = g.grade("q1", text)
        assert r.score == 0 and "copies_question" in r.flags


def test_off_topic_answer_is_flagged(g):
    r = g.grade(
        "q1",
        "Data generator đọc dữ liệu từ ổ đĩa theo từng batch rồi yield cho model, nên không phải load cả dataset vào "
        "RAM, lại có thể augment ngay lúc đọc.",
    )
    assert r.score == 0 and "off_topic" in r.flags, r.to_text()
    # An answer about a neighbouring topic that one point mentions (BN allows a larger learning rate):
    # it is not always flagged, but without the point's comparison it earns at most partial credit.
    near = g.grade(
        "q1",
        "Learning rate quá lớn thì loss dao động qua lại quanh điểm tối ưu rồi phân kỳ, còn quá nhỏ thì hội tụ rất "
        "chậm, phải train rất nhiều epoch mới tới.",
    )
    assert near.score <= 0.1 and all(p.status != "covered" for p in near.points), near.to_text()


def test_misconception_detected_and_cancels_point(g):
    r = g.grade(
        "q9",
        "Ảnh đầu vào tăng gấp đôi chiều rộng và chiều cao thì số tham số của CNN tăng gấp 4 lần, vì số pixel tăng 4 "
        "lần nên mỗi conv layer cần nhiều weight hơn tương ứng.",
    )
    assert r.misconceptions, r.to_text()
    assert r.score <= 0.3
    assert all(m.feedback and m.evidence is not None for m in r.misconceptions)


def test_misconception_pattern_catches_swapped_roles(g):
    """Embeddings cannot tell swapped roles apart; the rubric's pattern does, and says why."""
    swapped = g.grade(
        "q2",
        "Bias cao nghĩa là mô hình học quá kỹ tập train nên bị overfitting, còn variance cao là khi mô hình quá đơn "
        "giản nên underfitting.",
    )
    (m,) = swapped.misconceptions
    assert m.id == "bias_variance_swapped" and m.confidence == 1.0 and m.matched_pattern
    assert {p.id for p in swapped.points if p.contradicted_by} == {"high_bias_underfitting", "high_variance_overfitting"}
    assert swapped.score <= 0.1
    right = g.grade(
        "q2",
        "Bias cao nghĩa là mô hình quá đơn giản nên underfitting, còn variance cao là khi mô hình học quá kỹ tập "
        "train nên bị overfitting.",
    )
    assert not right.misconceptions and right.score > 0.3, right.to_text()


def test_short_elliptical_answer_earns_partial_credit(g):
    r = g.grade("q9", "Không đổi ạ.")
    assert 0 < r.score <= 0.4 and r.point("params_unchanged").status == "partial", r.to_text()
    # a short wrong reply built from the question's words is a wrong answer, not a copy of the question
    wrong = g.grade("q9", "Gấp đôi ạ.")
    assert wrong.score == 0 and "copies_question" not in wrong.flags, wrong.to_text()
    assert g.grade("q9", "Em không biết ạ.").score == 0


def test_a_claim_reported_and_contested_earns_nothing(g):
    # the speaker attributes the claim to others and disowns it: a denial, like "I don't think X"
    said = "Data generators let you train on a dataset that does not fit in RAM, since they load one batch at a time."
    reported = (
        "Some people say generators let you train on a dataset that does not fit in RAM, since they load one batch "
        "at a time, but honestly today's machines hold everything, I never bother with them."
    )
    own, theirs = g.grade("q12", said), g.grade("q12", reported)
    assert own.point("memory_saving").status == "covered", own.to_text()
    assert theirs.point("memory_saving").status == "missing" and theirs.point("memory_saving").negated, theirs.to_text()

def test_negations_that_are_not_denials(g):
    zero = g.grade("q1", "BN chuẩn hóa activation của mỗi layer để có trung bình bằng không và phương sai bằng một.")
    assert zero.point("normalize_activations").status == "covered" and "negated" not in zero.flags, zero.to_text()
    counterfactual = g.grade(
        "q6",
        "Nếu không có hàm kích hoạt thì cả mạng dù sâu đến đâu cũng chỉ là một hàm tuyến tính, nên không học được "
        "quan hệ phi tuyến.",
    )
    assert counterfactual.point("nonlinearity").status == "covered", counterfactual.to_text()
    denied = g.grade("q6", "Hàm kích hoạt không giúp mạng học quan hệ phi tuyến.")
    assert denied.point("nonlinearity").negated and denied.score == 0


def test_negative_claims_the_rubric_itself_makes_are_not_denials(g):
    # "no extra parameters" is the right answer to q9; the "because" clause that explains it is
    # outside the negation's reach, so neither point is read as denied.
    r = g.grade(
        "q9",
        "The convolution layers don't gain any extra weights, because every kernel is only k x k x C_in "
        "numbers that slide over the whole picture, whatever its resolution.",
    )
    assert "negated" not in r.flags and r.score >= 0.3, r.to_text()
    assert not r.point("params_unchanged").negated and not r.point("depends_on_filters").negated, r.to_text()
    # "lr cao hơn mà không sợ loss nổ": "mà" opens a second predicate, it does not deny the first
    lr = g.grade("q1", "Có BN thì em đặt learning rate cao hơn hẳn mà không sợ loss bị nổ.")
    assert not lr.point("higher_learning_rate").negated, lr.to_text()
    # "without X" is the rubric's own "no X" ("không bị phân kỳ"), not a denial of its prevention
    wo = g.grade("q1", "Thanks to batch norm we can use a much higher learning rate without the loss diverging.")
    assert wo.point("higher_learning_rate").status == "covered" and "negated" not in wo.flags, wo.to_text()
    # ... while denying the prevention still denies the point
    no = g.grade("q1", "Batch norm does not prevent the loss from diverging when the learning rate is higher.")
    assert no.point("higher_learning_rate").status != "covered", no.to_text()
    # the right formulas are not the swapped-definitions misconception
    f = g.grade("q4", "Precision = TP/(TP+FP), tức trong số mẫu báo positive bao nhiêu cái đúng; recall = TP/(TP+FN).")
    assert not f.misconceptions and f.point("precision_recall_f1").status != "missing", f.to_text()


def test_empty_and_garbage(g):
    for text in ("", "   ", "???", "asdf qwer zxcv"):
        r = g.grade("q2", text)
        assert r.score <= 0.05, (text, r.to_text())
    assert "empty" in g.grade("q2", "  ").flags


def test_unknown_question(g):
    with pytest.raises(UnknownQuestionError, match="unknown question id 'q99'"):
        g.grade("q99", "x")


def test_determinism_and_batch_equals_single(g):
    items = [("q1", Q1_FULL), ("q1", Q1_PARTIAL), ("q11", "Epoch là một lần duyệt hết toàn bộ tập train.")]
    many = g.grade_many(items)
    again = g.grade_many(items)
    assert [r.model_dump_json() for r in many] == [r.model_dump_json() for r in again]
    single = g.grade("q1", Q1_PARTIAL)
    assert single.score == pytest.approx(many[1].score, abs=1e-3)


def test_result_serialisation_and_signature(g):
    r = g.grade("q1", Q1_PARTIAL)
    data = json.loads(r.model_dump_json())
    assert set(data) >= {"score", "points", "misconceptions", "flags", "signature"}
    sig = r.signature
    assert sig.startswith("grader:0.1.0|model:intfloat/multilingual-e5-small") and "|rubrics:" in sig and "|combiner:" in sig
    text, md = r.to_text(), r.to_markdown()
    assert "signature:" in text and sig in md
    en = g.grade("q1", Q1_PARTIAL, feedback_language="en")
    assert en.points[0].feedback == g.rubrics["q1"].points[0].feedback.covered.en


def test_embedding_cache_reused_and_corruption_recomputed(g, tmp_path):
    texts = ["một câu", "another sentence"]
    calls = []

    class Counting:
        model_id = g.encoder.model_id

        def encode(self, ts):
            calls.append(len(ts))
            return g.encoder.encode(ts)

    enc = Counting()
    first = CachedEncoder(enc, tmp_path).encode(texts)
    second = CachedEncoder(enc, tmp_path).encode(texts)  # a new process reads the shard
    assert calls == [2] and np.array_equal(first, second)
    (f,) = tmp_path.glob("*/shard-*.npz")
    f.write_bytes(f.read_bytes()[:50])  # a torn shard: its texts are encoded again
    third = CachedEncoder(enc, tmp_path).encode(texts)
    assert calls == [2, 2] and np.allclose(first, third, atol=1e-6)
    fourth = CachedEncoder(enc, tmp_path).encode([*texts, "a third one"])  # only the new text is encoded
    assert calls == [2, 2, 1] and np.allclose(fourth[:2], first, atol=1e-6)


def test_custom_rubric_folder_and_model_path(g, tmp_path):
    src = next((ROOT / "rubrics").glob("q08-*.yaml"))
    (tmp_path / "lr.yaml").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    mine = Grader.from_path(tmp_path, encoder=g.encoder, cache_dir=tmp_path / "cache")
    assert mine.question_ids == ["q8"]
    r = mine.grade("q8", "LR quá lớn thì loss dao động, nhảy qua lại quanh cực tiểu và có thể phân kỳ ra NaN.")
    assert r.score > 0.2
    assert mine.rubric_hash != g.rubric_hash


def test_fixture_quality_on_held_out_split(g):
    """The engine against human scores on the test split (never used for fitting)."""
    fixtures = [f for f in load_fixtures([ROOT / "fixtures"]) if f.split == "test"]
    analyses = analyse_many([f.answer for f in fixtures], g.encoder)
    scores = [g.grade_analysed(f.question_id, a).score for f, a in zip(fixtures, analyses)]
    a = agreement(fixtures, scores)
    # Floors a little under the measured figures (Pearson 0.94, MAE 0.08, pairs 0.94): regressions fail.
    assert a.pearson >= 0.90 and a.mae <= 0.10, a
    assert pair_ranking(fixtures, scores) >= 0.90
    assert a.by_kind["complete"] >= 0.85
    assert a.by_kind["keyword_list"] <= 0.2 and a.by_kind["negated"] <= 0.3 and a.by_kind["off_topic"] <= 0.1
    gaps = twin_gaps(fixtures, scores)
    assert gaps and max(gaps) <= 0.15


def test_quality_on_answers_written_blind(g):
    """The engine on the first hold-out set (fixtures/holdout/blind-2026-11-27.csv), which no fit has seen."""
    fixtures = load_fixtures([ROOT / "fixtures" / "holdout" / "blind-2026-11-27.csv"])
    assert len(fixtures) == 72
    scores = [r.score for r in g.grade_many([(f.question_id, f.answer) for f in fixtures])]
    a = agreement(fixtures, scores)
    # Floors a little under the figures measured when it was still blind (Pearson 0.92, MAE 0.10, pairs 0.96).
    assert a.pearson >= 0.88 and a.mae <= 0.12, a
    assert pair_ranking(fixtures, scores) >= 0.90
    assert a.by_kind["complete"] >= 0.85 and a.by_kind["misconception"] <= 0.2
    assert a.by_kind["keyword_list"] <= 0.2 and a.by_kind["negated"] <= 0.3 and a.by_kind["off_topic"] <= 0.1


def test_each_segment_reference_product_is_computed_once(g, monkeypatch):
    """One answer: one product per target of its rubric (evidence, sibling points, negated share and topic share
    them) and one per point of each other question (its topic strength), no more."""
    import grader.match.similarity as similarity

    (an,) = analyse_many([Q1_FULL], g.encoder)
    products = []
    real = similarity.reference_match

    def counting(cosines):  # type: ignore[no-untyped-def]
        products.append(cosines.shape)
        return real(cosines)

    monkeypatch.setattr(similarity, "reference_match", counting)
    g.grade_analysed("q1", an)
    own = g.compiled["q1"]
    others = sum(len(c.points) for qid, c in g.compiled.items() if qid != "q1")
    assert len(products) == len(own.points) + len(own.misconceptions) + others


def test_reference_embeddings_are_cached_text_by_text(g, tmp_path):
    """Editing one phrasing of one rubric encodes that phrasing and nothing else."""
    from grader.rubric import load_rubric_set

    calls: list[list[str]] = []

    class Counting:
        model_id = g.encoder.model_id

        def encode(self, texts):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return g.encoder.encode(texts)

    rubrics = [lr.rubric for lr in load_rubric_set([ROOT / "rubrics"])][:2]
    Grader(rubrics, Counting(), cache_dir=tmp_path)
    assert len(calls) == 1  # a cold cache: every reference in one encoder call
    point = rubrics[0].points[0]
    edited_point = point.model_copy(update={"phrasings": point.phrasings.model_copy(update={"vi": [*point.phrasings.vi[1:], "Một cách nói mới của ý này."]})})
    edited = rubrics[0].model_copy(update={"points": [edited_point, *rubrics[0].points[1:]]})
    Grader([edited, *rubrics[1:]], Counting(), cache_dir=tmp_path)
    # the phrasing, and the probe's generated copies of it (grader.compile.augment): nothing else
    from grader.compile.augment import denied, hurried, reversed_claim, shuffled, spoken, unmarked

    new = "Một cách nói mới của ý này."
    copies = {new} | {c for c in (f(new) for f in (unmarked, hurried, spoken, denied, reversed_claim, shuffled)) if c}
    assert len(calls) == 2 and calls[1][0] == new and set(calls[1]) <= copies, calls[1:]


@pytest.mark.parametrize(
    ("question", "stated", "denied"),
    [
        (
            "q1",
            "BN có tác dụng regularization nhẹ, vì mean và variance tính trên từng mini-batch có nhiễu nên mô hình đỡ overfitting hơn.",
            "Em không nghĩ là BN thực sự có tác dụng regularization nhẹ nhờ nhiễu của mean và variance trên từng mini-batch đâu ạ.",
        ),
        (
            "q12",
            "Generator load data theo từng batch khi train, nên dữ liệu lớn hơn RAM vẫn train được mà không cần nạp hết vào bộ nhớ.",
            "Em không nghĩ là người ta dùng generator để load data theo từng batch cho dữ liệu lớn hơn RAM đâu, thói quen thôi.",
        ),
        (
            "q12",
            "A generator yields one batch at a time, so a dataset larger than RAM can be trained on without loading it all into memory.",
            "I don't really think people use a generator to yield one batch at a time for datasets larger than RAM, it's just habit.",
        ),
    ],
)
def test_a_negated_belief_denies_the_points_of_its_clause(g, question, stated, denied):
    # "I don't think X": the point stated in X, however far from the negation, is denied, not earned.
    said, unsaid = g.grade(question, stated), g.grade(question, denied)
    assert said.score > 0.1 and any(p.status != "missing" for p in said.points)
    assert unsaid.score <= 0.05 and all(p.status == "missing" for p in unsaid.points)
    assert any(p.negated for p in unsaid.points)
