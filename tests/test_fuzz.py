"""Fuzzing the entry points with hypothesis: random bytes, unicode, huge and tiny inputs thrown at ``grade``,
``validate`` and ``batch``. Whatever comes in: no exception but the documented ones, a located problem or a
one-line error, and every CSV row back exactly once.

Derandomised (the same examples on every run, so CI is stable) and sized for 2 cores: the model-free
properties take seconds; the two that grade use the session grader and are marked slow.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import grader.cli.common as cli_common
from grader.batch import grade_csv, neutralise
from grader.cli import main
from grader.csv_in import CsvInputError, CsvReader, detect_format, is_blank
from grader.rubric import RubricError, UnknownQuestionError, resolve_question_id, validate_paths
from grader.rubric.load import parse_rubric_text

ROOT = Path(__file__).resolve().parent.parent
Q8 = next((ROOT / "rubrics").glob("q08-*.yaml")).read_text(encoding="utf-8")
KNOWN = [f"q{i}" for i in range(1, 13)]


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Huge and tiny, odd and ordinary: the inputs a random generator rarely reaches.
EXTREMES = [
    "", " ", "\n", "\x00", "a", "?", "\ufeff", "\u200b" * 50, "\u202eRTL\u202c", "e\u0301" * 3000, "🤖" * 2000,
    "a" * 100_000, "ư" * 40_000, "BN " * 20_000, "\n" * 5_000, "x\r\ny\rz", "\t\x0b\x0c", '"' * 1000, ",;\t|" * 500,
    "=1+2", "-- DROP TABLE", "Batch Normalization giúp chuẩn hóa activation.", "Parameters double.",
]  # fmt: skip
texts = st.one_of(
    st.sampled_from(EXTREMES),
    st.text(max_size=300),  # any unicode but lone surrogates
    st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạ ,.\n\"'-", max_size=300),  # Vietnamese-looking
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
)


# --------------------------------------------------------------------------------------------- validate
def _mutations(draw: st.DrawFn) -> bytes:
    """A real rubric cut, spliced and sprinkled with random text, or random YAML values, or random bytes."""
    kind = draw(st.sampled_from(["rubric", "yaml", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    if kind == "yaml":
        leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
        value = draw(st.recursive(leaves, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=30))
        return yaml.safe_dump(value, allow_unicode=True).encode("utf-8", "surrogatepass")
    lines = Q8.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["cut", "insert", "anchor"]))
        if action == "cut":
            del lines[i : i + draw(st.integers(1, 40))]
        elif action == "insert":
            lines.insert(i, draw(st.text(max_size=60)) + "\n")
        else:  # an anchor and aliases to it, the stuff of alias bombs
            lines[i:i] = ["bomb: &b [x, y, z]\n", *[f"b{k}: [*b, *b, *b]\n" for k in range(draw(st.integers(1, 120)))]]
    return "".join(lines).encode("utf-8", "surrogatepass")


@fuzz(100)
@given(data=st.data())
def test_validate_always_answers_with_located_problems(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("v") / "r.yaml"
    f.write_bytes(_mutations(data.draw))
    start = time.process_time()
    loaded, problems = validate_paths([f])
    assert time.process_time() - start < 1
    assert loaded or problems
    for p in problems:
        assert p.path == str(f) and p.line >= 1 and p.message and "\n" not in str(p), p
    try:
        parse_rubric_text(f.read_bytes().decode("utf-8", "replace"), "r.yaml")
    except RubricError as exc:
        assert exc.problems


# --------------------------------------------------------------------------------------------- grade, before the model
class ModelWanted(BaseException):
    """Raised where the model would load: everything before it passed."""


@fuzz(50)
@given(question=st.one_of(st.sampled_from(["q8", "Q8", " q8 ", "q1", "q08"]), st.text(max_size=20)), answer=st.binary(max_size=400))
def test_grade_command_answers_bad_input_with_one_line(tmp_path_factory, capsys, question, answer):
    folder = tmp_path_factory.mktemp("a")
    f = folder / "answer.txt"
    f.write_bytes(answer)
    rubric = folder / "q8.yaml"
    rubric.write_text(Q8, encoding="utf-8")

    def wanted(name: str) -> None:
        raise ModelWanted

    old = cli_common.load_model
    cli_common.load_model = wanted  # type: ignore[assignment]
    try:
        status = main(["grade", "--rubrics", str(rubric), "--answer-file", str(f), "--", question])
    except ModelWanted:
        # only a known question and a text answer get this far
        assert resolve_question_id(question, ["q8"]) is not None and _is_text(answer), (question, answer)
        return
    finally:
        cli_common.load_model = old  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("grader: ") and err.count("\n") == 1, err


def _is_text(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return b"\0" not in data


# --------------------------------------------------------------------------------------------- CSV reading
@fuzz(120)
@given(body=st.one_of(st.binary(max_size=1500), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_csv_reader_never_fails_on_bytes(tmp_path_factory, body):
    f = tmp_path_factory.mktemp("c") / "in.csv"
    f.write_bytes(b"question_id,answer\n" + body)
    try:
        fmt = detect_format(f, required=["question_id", "answer"])
    except CsvInputError:
        return
    with CsvReader(f, fmt) as reader:
        lines = [rec.line for rec in reader.records()]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


# --------------------------------------------------------------------------------------------- grade, with the model
@pytest.mark.slow
@fuzz(30)
@given(answer=texts, question=st.sampled_from([*KNOWN, "Q3", " q7 "]), lang=st.sampled_from([None, "vi", "en"]))
def test_grade_any_text(grader, answer, question, lang):
    result = grader.grade(question, answer, feedback_language=lang)
    assert result.question_id == question.strip().lower()
    assert 0.0 <= result.score <= 1.0 and len(result.points) == len(grader.rubrics[result.question_id].points)
    for p in result.points:
        if p.evidence is not None:
            assert result.answer[p.evidence.start : p.evidence.end] == p.evidence.text


@pytest.mark.slow
@pytest.mark.parametrize("bad", [b"bytes", 3, None, ["a"], "lone \udcff surrogate"])
def test_grade_refuses_what_is_not_text(grader, bad):
    with pytest.raises((TypeError, ValueError)):
        grader.grade("q1", bad)
    with pytest.raises((TypeError, UnknownQuestionError)):
        grader.grade(bad if not isinstance(bad, str) else "q99", "x")


# --------------------------------------------------------------------------------------------- batch, with the model
rows = st.lists(
    st.tuples(st.sampled_from([*KNOWN, "Q2", " q5 ", "q99", "", "x" * 100]), texts.map(lambda t: t[:2000]), st.text(max_size=10)),
    min_size=1,
    max_size=5,
)


@pytest.mark.slow
@fuzz(12)
@given(table=rows, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]), delimiter=st.sampled_from([",", ";", "\t"]), fmt=st.sampled_from(["csv", "jsonl"]))
def test_batch_gives_every_row_back_once(grader, tmp_path_factory, table, encoding, delimiter, fmt):
    folder = tmp_path_factory.mktemp("b")
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(["question_id", "answer", "note"])
    w.writerows(table)
    src = folder / "in.csv"
    src.write_bytes(buf.getvalue().encode(encoding, "surrogatepass"))
    out = folder / f"out.{fmt}"
    with CsvReader(src, detect_format(src, required=["question_id", "answer"])) as reader:
        expected = [rec.cells for rec in reader.records() if not is_blank(rec)]
    summary = grade_csv(src, out, grader, fmt=fmt, chunk_size=3)
    assert summary.rows == len(expected) == summary.ok + summary.errors
    if fmt == "jsonl":
        got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [g["row"] for g in got] == list(range(1, len(expected) + 1))
        assert [list(g["input"].values()) for g in got] == [(c + ["", "", ""])[:3] for c in expected]
    else:
        got = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))[1:]
        assert [g[:3] for g in got] == [[neutralise(c) for c in (cells + ["", "", ""])[:3]] for cells in expected]


@pytest.mark.slow
@fuzz(12)
@given(body=st.binary(max_size=600))
def test_batch_of_random_bytes_gives_every_record_back_once(grader, tmp_path_factory, body):
    folder = tmp_path_factory.mktemp("r")
    src = folder / "in.csv"
    src.write_bytes(b"question_id,answer\nq1,BN normalizes activations\n" + body)
    with CsvReader(src, detect_format(src, required=["question_id", "answer"])) as reader:
        records = [rec for rec in reader.records() if not is_blank(rec)]
    out = folder / "out.jsonl"
    summary = grade_csv(src, out, grader, fmt="jsonl")
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert summary.rows == len(records) == len(got) and [g["line"] for g in got] == [r.line for r in records]
