"""Calibration (fit, apply, save/load, find), signatures, labelled-CSV metrics and evaluation, `grader calibrate`.

Metrics are checked against values computed by hand; fitting and evaluation use
real grades from the session ``grader`` (its encoder is re-used, no second model).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from grader.calibrate.fit import fit_calibration, split_rows
from grader.embedding.cache import CachedEncoder
from grader.evaluate.labelled import read_labelled
from grader.evaluate.metrics import discretise, label_metrics, macro_f1, quadratic_weighted_kappa
from grader.result import GradeResult, PointResult
from grader.score.calibration import CALIBRATION_FILE, Calibration, find_calibration, result_features
from grader.signature import Signature
from grader.text.restore import data_digest

ROOT = Path(__file__).resolve().parent.parent
BENCH_HEADER = ["question_id", "question", "reference_answer", "student_answer", "gold_score", "gold_label"]


def _result(score: float, coverage: float = 0.5, flags: tuple[str, ...] = (), answer: str = "some answer text") -> GradeResult:
    point = PointResult(
        id="p1", statement="s", weight=1.0, status="covered" if coverage >= 0.5 else "missing", coverage=coverage,
        credit=1.0 if coverage >= 0.5 else 0.0, evidence=None, similarity=2.0 * coverage, keywords=[], feedback="f",
    )
    return GradeResult(
        question_id="q", answer=answer, score=score, mark=score * 10, total=10, language="en", points=[point],
        misconceptions=[], flags=list(flags), notes=[], signature="grader:test",
    )


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# ----------------------------------------------------------------- metrics by hand
def test_metrics_against_hand_computed_values() -> None:
    pred = [0.1, 0.4, 0.35, 0.8]
    human = [0.0, 0.0, 1.0, 1.0]
    m = label_metrics(pred, human, labels=[0.0, 1.0])
    # MAE = (0.1 + 0.4 + 0.65 + 0.2) / 4 = 0.3375; RMSE = sqrt((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert m["mae"] == pytest.approx(0.3375)
    assert m["rmse"] == pytest.approx(math.sqrt(0.6325 / 4))
    # Pearson: pred mean 0.4125, deviations (-0.3125, -0.0125, -0.0625, 0.3875); human deviations ±0.5
    # cov sum = 0.5 * (0.3125 + 0.0125 - 0.0625 + 0.3875) = 0.325; sum sq pred = 0.251875; sum sq human = 1
    assert m["pearson"] == pytest.approx(0.325 / math.sqrt(0.251875))
    # threshold 0.5: predicted classes (0, 0, 0, 1) vs gold (0, 0, 1, 1): accuracy 3/4
    # F1(class 0) = 2*2/(2*2+1+0) = 0.8, F1(class 1) = 2*1/(2*1+0+1) = 2/3; macro = 0.7333
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    # QWK with 2 classes is Cohen's kappa: po = 0.75, pe = 0.75*0.5 + 0.25*0.5 = 0.5 -> 0.5
    assert m["qwk"] == pytest.approx(0.5)
    # Spearman: pred ranks (1, 3, 2, 4), human ranks (1.5, 1.5, 3.5, 3.5): cov 2, var 5 and 4 -> 2 / sqrt(20)
    assert m["spearman"] == pytest.approx(2 / math.sqrt(20))


def test_qwk_three_levels_by_hand() -> None:
    # ratings a = (0, 1, 2, 2), b = (0, 2, 2, 1); weights (i-j)^2/4
    # observed disagreements: (1,2) and (2,1), each weight 1/4 -> sum 0.5
    # marginals a: (1, 1, 2), b: (1, 1, 2); expected counts E = outer / 4
    # sum W*E = (0.25 + 0.25 + 2 + 2 + 0.5 + 0.5) / 4 = 1.375 for the pairs (0,1), (1,0), (0,2), (2,0), (1,2), (2,1)
    a, b = [0, 1, 2, 2], [0, 2, 2, 1]
    marg = [1, 1, 2]
    expected = sum(marg[i] * marg[j] * (i - j) ** 2 / 4 for i in range(3) for j in range(3)) / 4
    assert expected == pytest.approx(1.375)
    assert quadratic_weighted_kappa(a, b, 3) == pytest.approx(1 - 0.5 / 1.375)
    from sklearn.metrics import cohen_kappa_score

    assert quadratic_weighted_kappa(a, b, 3) == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"))


def test_discretise_and_macro_f1() -> None:
    assert discretise([0.1, 0.6, 1.9, 2.6], labels=[0, 1, 2, 3]) == ([0, 1, 2, 3], 4)
    assert discretise([0.0, 0.19, 0.2, 0.99, 1.0], scale=(0.0, 1.0), bins=5) == ([0, 0, 1, 4, 4], 5)
    assert macro_f1([1, 1, 1, 1], [1, 1, 0, 0]) == pytest.approx((0.0 + 2 * 2 / (4 + 2)) / 2)


# ----------------------------------------------------------------- reading CSVs
def test_read_labelled_defaults_and_options(tmp_path: Path) -> None:
    bench = _write_csv(tmp_path / "b.csv", BENCH_HEADER, [["q1", "Q?", "R.", "A one.", "1.0", "correct"], ["q1", "Q?", "R.", "A two.", "0", "incorrect"]])
    rows = read_labelled(bench)
    assert [(r.question_id, r.answer, r.human) for r in rows] == [("q1", "A one.", 1.0), ("q1", "A two.", 0.0)]
    custom = _write_csv(tmp_path / "c.csv", ["qid", "text", "points"], [["q1", "hello", "3"]])
    rows = read_labelled(custom, answer_column="text", score_column="points")
    assert rows[0].answer == "hello" and rows[0].human == 3.0
    from grader.evaluate.labelled import LabelledInputError

    with pytest.raises(LabelledInputError, match="no score column"):
        read_labelled(custom, answer_column="text")
    bad = _write_csv(tmp_path / "x.csv", ["question_id", "answer", "score"], [["q1", "a", "good"]])
    with pytest.raises(LabelledInputError, match=r"x.csv:2: score 'good'"):
        read_labelled(bad)


def test_every_csv_is_read_the_same_way(tmp_path: Path) -> None:
    """Labelled sets, fixtures and batch exports share one reader: a spreadsheet's cp1252, semicolon export with a
    multi-line cell and blank rows reads as labelled rows (the labelled reader once took UTF-8 and commas only)."""
    text = 'question_id;answer;score\r\nq1;"Caf\u00e9 na\u00efve;\r\nsecond line";0,5\r\n;;\r\nq2;plain;1\r\n'
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    rows = read_labelled(path)
    assert [(r.question_id, r.answer, r.human, r.line) for r in rows] == [
        ("q1", "Caf\u00e9 na\u00efve;\r\nsecond line", 0.5, 2),
        ("q2", "plain", 1.0, 5),
    ]
    from grader.csv_in import CsvInputError
    from grader.evaluate.fixtures import load_fixtures

    with pytest.raises(CsvInputError, match=r"export.csv:1: missing column\(s\) answer_id"):
        load_fixtures([path])


# ----------------------------------------------------------------- Calibration object
def _manual_calibration(**kw: object) -> Calibration:
    base = dict(features=["score"], mean=[0.5], std=[0.25], coef=[2.0], intercept=0.5, model_id="m", rubric_hash="h")
    base.update(kw)
    return Calibration(**base)  # type: ignore[arg-type]


def test_calibration_round_trip_and_find(tmp_path: Path) -> None:
    cal = _manual_calibration(threshold=0.6, label_kind="binary", labels=[0.0, 1.0], metrics={"calibrated_mae": 0.2})
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    cal.save(rubrics / CALIBRATION_FILE)
    data = json.loads((rubrics / CALIBRATION_FILE).read_text())
    assert data["format_version"] == 1 and data["coef"] == [2.0]
    assert Calibration.load(rubrics / CALIBRATION_FILE) == cal
    assert find_calibration(rubrics) == cal
    assert find_calibration([tmp_path / "elsewhere", str(rubrics)]) == cal
    assert find_calibration(rubrics / "q1.yaml") == cal  # beside a rubric file
    assert find_calibration(tmp_path) is None
    (tmp_path / CALIBRATION_FILE).write_text("{}")
    with pytest.raises(ValueError, match="not a valid calibration file"):
        find_calibration(tmp_path)


def test_apply_keeps_raw_score_and_guards() -> None:
    cal = _manual_calibration(threshold=0.6, label_kind="binary")
    r = _result(0.5)
    out = cal.apply(r)
    expected = 1 / (1 + math.exp(-0.5))  # z = 0.5 + 2 * (0.5 - 0.5) / 0.25
    assert out.score == pytest.approx(expected, abs=1e-4)
    assert out.mark == pytest.approx(round(out.score * 10, 2))
    assert "raw engine score 0.50" in out.notes[-1] and "judged correct" in out.notes[-1]
    assert out.signature.startswith(r.signature) and "|calibration:" in out.signature
    assert cal.apply(out) is out  # idempotent: the signature names a calibration
    assert Signature.parse(out.signature) == Signature(version="test", calibration=cal.digest())
    assert cal.decide(r) is True and cal.predict(r) == pytest.approx(expected)
    assert cal.apply(_result(0.9, flags=("off_topic",))).score == 0.0
    assert cal.apply(_result(0.9, flags=("empty",))).score == 0.0
    assert cal.apply(_result(0.15, flags=("keyword_list",))).score <= 0.15
    assert set(result_features(r)) >= {"score", "coverage_mean", "misconception", "negated", "log_words"}


def test_split_rows_is_fixed() -> None:
    fit, held = split_rows(50, 0.2, seed=3)
    assert len(held) == 10 and sorted(fit + held) == list(range(50))
    assert split_rows(50, 0.2, seed=3) == (fit, held)
    assert split_rows(8, 0.2) == (list(range(8)), [])


def test_cached_encoder_encodes_each_text_once(tmp_path: Path) -> None:
    import numpy as np

    class Counting:
        model_id = "counting"

        def __init__(self) -> None:
            self.seen: list[str] = []

        def encode(self, texts):  # type: ignore[no-untyped-def]
            self.seen.extend(texts)
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    inner = Counting()
    enc = CachedEncoder(inner, tmp_path)
    v = enc.encode(["a", "bb", "a"])
    assert v.shape == (3, 2) and v[0, 0] == 1 and v[1, 0] == 2
    assert inner.seen == ["a", "bb"]
    again = CachedEncoder(inner, tmp_path)  # a new process would read the shards
    assert again.encode(["bb", "ccc"])[0, 0] == 2
    assert inner.seen == ["a", "bb", "ccc"]
    assert again.encode([]).shape[0] == 0


# ----------------------------------------------------------------- with the real model
GOOD = {
    "q8": [
        "If the learning rate is too large the updates overshoot the minimum and the loss oscillates or diverges; if it is too small training converges very slowly.",
        "Learning rate quá lớn thì loss dao động, phân kỳ; quá nhỏ thì hội tụ rất chậm, tốn nhiều epoch.",
        "Too small a learning rate makes convergence slow, too large makes it overshoot and diverge.",
    ],
    "q11": [
        "An epoch is one full pass over the training data, a batch is a group of samples, and an iteration is one weight update on one batch.",
        "Epoch là một lượt qua toàn bộ dữ liệu, batch là một nhóm mẫu, iteration là một lần cập nhật trọng số.",
    ],
}
WEAK = {
    "q8": ["The learning rate is a hyperparameter.", "It changes the speed.", "I am not sure, maybe something about the model size."],
    "q11": ["Epoch is a word used in deep learning.", "Batch is data.", "I don't know."],
}


@pytest.fixture(scope="module")
def graded(grader):  # type: ignore[no-untyped-def]
    items = [(q, a, 1.0) for q, answers in GOOD.items() for a in answers] + [(q, a, 0.0) for q, answers in WEAK.items() for a in answers]
    results = grader.grade_many([(q, a) for q, a, _ in items])
    return items, results


@pytest.mark.slow
def test_biased_labels_shift_calibrated_scores(graded) -> None:  # type: ignore[no-untyped-def]
    items, results = graded
    raw = [r.score for r in results]
    assert min(raw[: len(raw) // 2]) >= 0 and len(set(raw)) > 2
    # a lenient marker: everyone gets 0.4 more than the engine gives; a harsh one 0.4 less
    lenient = [min(1.0, s + 0.4) for s in raw]
    harsh = [max(0.0, s - 0.4) for s in raw]
    up = fit_calibration(results, lenient, test_share=0, scale=(0.0, 1.0))
    down = fit_calibration(results, harsh, test_share=0, scale=(0.0, 1.0))
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    up_scores = [up.apply(r).score for r in results]
    down_scores = [down.apply(r).score for r in results]
    assert mean(up_scores) > mean(raw) + 0.15
    assert mean(down_scores) < mean(raw) - 0.15
    # the ranking survives calibration: good answers stay above weak ones on average
    n_good = sum(len(v) for v in GOOD.values())
    assert mean(up_scores[:n_good]) > mean(up_scores[n_good:])
    assert up.label_kind == "continuous" and up.threshold is None


@pytest.mark.slow
def test_binary_calibration_has_threshold_and_held_out_metrics(graded) -> None:  # type: ignore[no-untyped-def]
    items, results = graded
    human = [h for _, _, h in items]
    cal = fit_calibration(results * 2, human * 2, test_share=0.25, seed=1, model_id="m", rubric_hash="h")
    assert cal.label_kind == "binary" and cal.threshold is not None and 0.05 <= cal.threshold <= 0.95
    assert cal.n_held_out == 6 and cal.n_fit == 22
    assert {"raw_mae", "calibrated_mae", "calibrated_macro_f1"} <= set(cal.metrics)
    good = [cal.decide(r) for r, (_, _, h) in zip(results, items) if h == 1.0]
    assert sum(good) >= len(good) - 1


@pytest.mark.slow
def test_evaluate_labelled_report_and_plot(grader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from grader.evaluate.labelled import evaluate_labelled

    rows = [[q, "", "", a, 1 if q in GOOD and a in GOOD[q] else 0, ""] for q in GOOD for a in GOOD[q] + WEAK[q]]
    path = _write_csv(tmp_path / "by_id.csv", BENCH_HEADER, rows)
    plot = tmp_path / "plot.png"
    report = evaluate_labelled(grader, path, plot_path=plot)
    results = grader.grade_many([(r[0], r[3]) for r in rows])
    expected = label_metrics([r.score for r in results], [float(r[4]) for r in rows], labels=[0.0, 1.0])
    assert f"| MAE | {expected['mae']:.3f} |" in report
    assert f"| macro-F1 | {expected['macro_f1']:.3f} |" in report
    assert "QWK (2 labels)" in report and "length alone" in report
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_calibrate_command_on_reference_rows(grader, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from grader.cli import build_parser

    q = "How did you separate the salt from the water?"
    ref = "The water was evaporated, leaving the salt."
    good = ["We evaporated the water and the salt stayed.", "Let the water evaporate, salt is left.", "The water evaporates so only salt remains.", "Boil it until the water is gone and salt remains."]
    bad = ["We used a filter.", "With a magnet.", "I poured it into a cup.", "We shook the jar."]
    rows = [["salt", q, ref, a, 1, ""] for a in good] + [["salt", q, ref, a, 0, ""] for a in bad]
    q2 = "Why does a bulb light?"
    ref2 = "The bulb is in a closed path with the battery."
    rows += [["bulb", q2, ref2, "It is in a closed circuit with the battery.", 1, ""], ["bulb", q2, ref2, "Because it is yellow.", 0, ""]]
    path = _write_csv(tmp_path / "labelled.csv", BENCH_HEADER, rows)
    out_dir = tmp_path / "drafted"
    args = build_parser().parse_args(["calibrate", str(path), "--save-rubrics", str(out_dir), "--held-out", "0.2", "--no-cache"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "binary labels" in printed and "decision threshold" in printed
    cal = find_calibration(out_dir)
    assert cal is not None and cal.label_kind == "binary" and cal.n_fit == 10 and cal.n_held_out == 2
    assert cal.model_id == grader.encoder.model_id and cal.source == "labelled.csv"
    # the saved rubrics are the ones calibrated on: same hash, and they validate
    from grader.engine import Grader
    from grader.rubric import validate_paths

    loaded, problems = validate_paths([out_dir])
    assert [p for p in problems if p.severity == "error"] == []
    g = Grader([lr.rubric for lr in loaded], grader.encoder)
    assert cal.check(g.signature_fields) == []
    calibrated = [cal.apply(r) for r in g.grade_many([("salt", good[0]), ("salt", bad[0])])]
    assert calibrated[0].score > calibrated[1].score


def test_rubrics_for_rows_drafts_once_per_question_and_uses_known_ids() -> None:
    from grader.evaluate.labelled import LabelledInputError, LabelledRow, rubrics_for_rows
    from grader.rubric import read_rubric_file

    q8 = read_rubric_file(ROOT / "rubrics" / "q08-learning-rate.yaml").rubric
    q11 = read_rubric_file(ROOT / "rubrics" / "q11-epoch-batch-iteration.yaml").rubric
    rows = [
        LabelledRow("10.1", "Why?", "Because A.", "ans 1", 1.0),
        LabelledRow("10.1", "Why?", "Because A.", "ans 2", 0.0),
        LabelledRow("10.1", "Why?", "Because B, and C too.", "ans 3", 0.5),  # same id, another reference
        LabelledRow("", "How does it work exactly?", "It works by magic.", "ans 4", 0.0),
        LabelledRow("q8", "", "", "an answer about learning rates", 1.0),
    ]
    rubric_set, ids = rubrics_for_rows(rows, optional=[q8, q11])
    assert ids[:3] == ["q_10_1", "q_10_1", "q_10_1_2"] and ids[4] == "q8"
    assert ids[3].startswith("work_exactly_")  # first content words of the question and a hash
    assert sorted(r.id for r in rubric_set) == sorted({*ids, "q11"})  # the optional set joins whole
    assert all("drafted-from-reference" in r.tags for r in rubric_set if r.id not in ("q8", "q11"))
    with pytest.raises(LabelledInputError, match="has no rubric"):
        rubrics_for_rows([LabelledRow("q99", "", "", "x", 1.0, line=7)])


def test_rows_find_rubrics_drafted_earlier() -> None:
    from grader.evaluate.labelled import LabelledRow, rubrics_for_rows

    rows = [LabelledRow("EM_45b", "How did you separate the salt?", "The water was evaporated, leaving the salt.", "a", 1.0)]
    first, ids = rubrics_for_rows(rows)
    assert ids == ["em_45b"]
    # a later file (the test split) with the same question and reference meets the saved rubric, not a new draft
    again, ids = rubrics_for_rows(rows + [LabelledRow("EM_45b", "", "", "b", 0.0)], first)
    assert ids == ["em_45b", "em_45b"] and [r.id for r in again] == ["em_45b"]
    # same id, another reference: a new draft beside it
    other = [LabelledRow("EM_45b", "How did you separate the salt?", "Boil the water away.", "c", 1.0)]
    _, ids = rubrics_for_rows(other, first)
    assert ids == ["em_45b_2"]


def test_pair_ranking_by_hand_and_length_matched() -> None:
    from grader.evaluate.fixtures import Fixture
    from grader.evaluate.metrics import pair_ranking

    def fx(aid: str, kind: str, words: int) -> Fixture:
        return Fixture(aid, "q1", kind, "en", 0.0, frozenset(), frozenset(), "", " ".join(["w"] * words))

    fixtures = [fx("p1", "partial", 10), fx("p2", "partial", 30), fx("w1", "negated", 10), fx("w2", "keyword_list", 4)]
    scores = [0.5, 0.2, 0.2, 0.2]
    # pairs: p1>w1, p1>w2, p2=w1 (half), p2=w2 (half) -> 3 / 4
    assert pair_ranking(fixtures, scores) == pytest.approx(0.75)
    # equal length within x1.5: only (p1, w1) -> 1.0
    assert pair_ranking(fixtures, scores, length_ratio=1.5) == pytest.approx(1.0)


# ----------------------------------------------------------------- signatures
def test_signature_is_formatted_once_and_parsed_back(grader) -> None:  # type: ignore[no-untyped-def]
    sig = Signature.parse(grader.signature)
    assert sig == grader.signature_fields and sig.format() == grader.signature
    assert (sig.model, sig.backend, sig.rubrics, sig.combiner, sig.segmenter, sig.restorer) == (
        grader.encoder.model_id,
        grader.encoder.backend,
        grader.rubric_hash,
        grader.params.digest(),
        "seg3",
        data_digest(),
    )
    assert sig.probe is not None and len(sig.probe) == 8
    assert grader.signature == (
        f"grader:0.1.0|model:{sig.model}|backend:{sig.backend}|rubrics:{sig.rubrics}|combiner:{sig.combiner}|probe:{sig.probe}|seg3|restorer:{sig.restorer}"
    )
    calibrated = sig.calibrated("abcd1234").format()
    assert calibrated == grader.signature + "|calibration:abcd1234" and Signature.parse(calibrated).calibration == "abcd1234"
    with pytest.raises(ValueError, match="not a grader signature"):
        Signature.parse("grader:1|model:a|model:b")
    # a calibration checks the fields, not the string: another combiner is named
    cal = _manual_calibration(model_id=sig.model, rubric_hash=sig.rubrics, combiner=sig.combiner)
    assert cal.check(sig) == []
    assert cal.check(sig.model_copy(update={"combiner": "ffffffff"})) == [
        f"calibration fitted with combiner {sig.combiner}, grader uses ffffffff"
    ]


def test_grading_with_other_parameters_names_them_in_the_signature(grader) -> None:  # type: ignore[no-untyped-def]
    from grader.analysis import analyse_many

    (an,) = analyse_many(["Epoch là một lượt qua toàn bộ dữ liệu."], grader.encoder)
    other = grader.params.model_copy(update={"partial_credit": 0.3})
    result = grader.grade_analysed("q11", an, params=other)
    assert Signature.parse(result.signature).combiner == other.digest() != grader.params.digest()
    assert grader.grade_analysed("q11", an).signature == grader.signature
