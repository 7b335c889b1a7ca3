"""`grader batch` and grader.batch: real CSV files in every form an export takes, the real model.

Uses the session ``grader`` fixture (tests/conftest.py). CSVs are small; the resume test runs the
command in subprocesses (each loads the model once) and kills them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from grader import batch
from grader.batch import (
    RESULT_COLUMNS,
    BatchInputError,
    BatchInterrupted,
    ResumeError,
    detect_format,
    grade_csv,
    neutralise,
)
from grader.batch.run import FIRST_CHUNK

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

HEADER = ["candidate", "question_id", "submitted_at", "answer", "note"]
# (question, answer); Vietnamese with and without diacritics, English, mixed; multi-line and quoted cells.
ANSWERS = [
    ("q1", "Batch Norm chuẩn hóa activation của mỗi layer về mean 0, phương sai 1 theo mini-batch.\nNhờ đó gradient ổn định, mô hình hội tụ nhanh hơn."),
    ("q1", "Batch norm chuan hoa activation ve mean 0, phuong sai 1; nho vay gradient on dinh va co the dung learning rate lon hon."),
    ("q2", 'High bias means the model is too simple and underfits;\nhigh variance means it "memorises" the training data and overfits.'),
    ("q5", "Backprop dùng chain rule để tính gradient của loss theo từng weight, from the output layer back to the input, rồi cập nhật bằng gradient descent."),
    ("q8", "Learning rate quá lớn thì loss dao động hoặc phân kỳ, quá nhỏ thì hội tụ rất chậm."),
    ("q10", "With imbalanced data, accuracy is misleading: use precision, recall, F1, and resample or weight the classes."),
    ("q11", "Epoch là một lượt đi qua toàn bộ dữ liệu, batch là một nhóm mẫu, iteration là một lần cập nhật trọng số."),
    ("q2", "Bias cao là underfitting, variance cao là overfitting,\r\ncần cân bằng độ phức tạp của mô hình."),
]


def table(rows=ANSWERS, notes=None):
    """Rows of the sample table: extra columns before, between and after the graded ones."""
    out = [HEADER]
    for i, (q, a) in enumerate(rows, 1):
        note = notes[i - 1] if notes else f'ghi chú {i}, "trích dẫn"'
        out.append([f"C{i:03d}", q, f"2026-05-{i:02d} 10:{i:02d}", a, note])
    return out


def write_csv(path: Path, rows, *, encoding="utf-8", delimiter=",", lineterminator="\r\n") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator).writerows(rows)
    text = buf.getvalue()
    if encoding == "cp1258":  # Windows-1258 spells Vietnamese tones as combining marks after the base letter
        path.write_bytes(to_cp1258(text))
    else:
        path.write_bytes(text.encode(encoding))
    return path


def to_cp1258(text: str) -> bytes:
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        d = unicodedata.normalize("NFD", ch)
        out.append(unicodedata.normalize("NFC", "".join(c for c in d if c not in tones)) + "".join(c for c in d if c in tones))
    return "".join(out).encode("cp1258")


def read_output(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.fixture(scope="module")
def reference(grader, tmp_path_factory):
    """The sample table as plain UTF-8 with commas, graded: the output every other form must match."""
    d = tmp_path_factory.mktemp("ref")
    src = write_csv(d / "in.csv", table())
    summary = grade_csv(src, d / "out.csv", grader)
    assert summary.exit_code == 0, summary.to_text()
    return read_output(d / "out.csv")


# ---------------------------------------------------------------------------
# the output
# ---------------------------------------------------------------------------


def test_reference_output_layout(reference, grader):
    header, rows = reference[0], reference[1:]
    assert header == HEADER + list(RESULT_COLUMNS)
    assert len(rows) == len(ANSWERS)
    direct = grader.grade_many(ANSWERS)
    for row, (q, a), res in zip(rows, ANSWERS, direct):
        d = dict(zip(header, row))
        assert d["question_id"] == q and d["answer"] == a  # input cells unchanged, multi-line ones included
        assert d["status"] == "ok" and d["error"] == ""
        assert d["score"] == f"{res.score:.4f}" and d["mark"] == f"{res.mark:.2f}"
        assert d["covered_points"].split() == [p.id for p in res.points if p.status == "covered"]
        assert d["missing_points"].split() == [p.id for p in res.points if p.status == "missing"]
        assert d["points"] == "; ".join(f"{p.id}={p.status}:{p.coverage:.2f}" for p in res.points)
        assert d["flags"].split() == list(res.flags)
        assert d["misconceptions"].split() == [m.id for m in res.misconceptions]
        assert d["signature"] == grader.signature
        assert d["feedback"] and "\n" not in d["feedback"] and "\r" not in d["feedback"]
    assert any(float(r[header.index("score")]) > 0.3 for r in rows)


@pytest.mark.parametrize(
    ("form", "encoding", "delimiter", "newline"),
    [
        ("utf8-bom", "utf-8-sig", ",", "\r\n"),
        ("utf16-tab", "utf-16", "\t", "\r\n"),  # Excel's "Unicode text" export
        ("cp1258", "cp1258", ",", "\r\n"),
        ("semicolon", "utf-8", ";", "\n"),
        ("tab", "utf-8", "\t", "\n"),
        ("lf", "utf-8", ",", "\n"),
    ],
)
def test_input_forms_give_the_reference_output(grader, reference, tmp_path, form, encoding, delimiter, newline):
    src = write_csv(tmp_path / f"{form}.csv", table(), encoding=encoding, delimiter=delimiter, lineterminator=newline)
    fmt = detect_format(src, required=["question_id", "answer"])
    assert codecs.lookup(fmt.encoding).name == codecs.lookup(encoding).name
    assert fmt.delimiter == delimiter
    summary = grade_csv(src, tmp_path / "out.csv", grader)
    assert summary.exit_code == 0
    assert read_output(tmp_path / "out.csv") == reference


def test_cp1252_semicolon(grader, tmp_path):
    rows = [ANSWERS[1], ANSWERS[2], ANSWERS[5]]  # texts Windows-1252 can spell
    notes = ["Café – “résumé”", "naïve façade", "€ 30, déjà vu"]
    src = write_csv(tmp_path / "in.csv", table(rows, notes), encoding="cp1252", delimiter=";")
    assert detect_format(src, required=["answer"]) == batch.CsvFormat("cp1252", ";")
    grade_csv(src, tmp_path / "out.csv", grader)
    out = as_dicts(read_output(tmp_path / "out.csv"))
    assert [r["note"] for r in out] == notes
    assert [r["answer"] for r in out] == [a for _, a in rows]
    assert all(r["status"] == "ok" for r in out)


def test_forced_encoding_and_delimiter(grader, tmp_path):
    src = write_csv(tmp_path / "in.csv", table(ANSWERS[:2]), encoding="cp1258", delimiter="|")
    grade_csv(src, tmp_path / "out.csv", grader, encoding="cp1258", delimiter="|")
    out = as_dicts(read_output(tmp_path / "out.csv"))
    assert [r["answer"] for r in out] == [a for _, a in ANSWERS[:2]]


def test_error_rows(grader, tmp_path):
    long_answer = ("Batch norm chuẩn hóa activation về mean 0, phương sai 1 và giúp gradient ổn định. " * 2500).strip()
    assert len(long_answer) > 131072  # larger than csv's default field limit
    lines = [
        "id,question_id,answer,extra",
        'r1,q1,"Batch norm chuẩn hóa activation về mean 0, phương sai 1.",a',
        "r2,q99,some answer,b",  # unknown question
        "r3,q2,,c",  # empty answer: graded, flagged
        "r4,q1",  # missing cells
        "r5,q3,an answer,d,unquoted,comma",  # extra cells
        "r6,,an answer,e",  # empty question id
        f'r7,q1,"{long_answer}",f',  # absurdly long
        " Q1 ,q1,trailing empty cells are fine,g,,",
        "",  # blank line: skipped
        ",,,",  # empty spreadsheet row: skipped
        "r9, Q1 ,Batch norm giúp hội tụ nhanh hơn.,h",  # ids are matched ignoring case and spaces
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    data += b"r10,q1,caf\xe9 cr\xe8me,i\r\n"  # not UTF-8
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    summary = grade_csv(src, tmp_path / "out.csv", grader, id_column="id")
    out = as_dicts(read_output(tmp_path / "out.csv"))
    by = {r["id"]: r for r in out}
    assert [r["id"] for r in out] == ["r1", "r2", "r3", "r4", "r5", "r6", "r7", " Q1 ", "r9", "r10"]
    assert by["r1"]["status"] == "ok"
    assert by["r2"]["status"] == "error" and "unknown question id 'q99'" in by["r2"]["error"]
    assert by["r2"]["score"] == "" and by["r2"]["mark"] == ""
    assert by["r3"]["status"] == "ok" and by["r3"]["score"] == "0.0000" and "empty" in by["r3"]["flags"].split()
    assert by["r4"]["status"] == "error" and "2 cell(s)" in by["r4"]["error"] and "answer" in by["r4"]["error"]
    assert by["r5"]["status"] == "error" and "6 cells" in by["r5"]["error"]
    assert by["r6"]["status"] == "error" and "empty question id" in by["r6"]["error"]
    assert by["r7"]["status"] == "ok" and "truncated" in by["r7"]["flags"].split()
    assert by["r7"]["answer"] == long_answer  # the copied cell is unchanged
    assert by[" Q1 "]["status"] == "ok"
    assert by["r9"]["status"] == "ok" and by["r9"]["question_id"] == " Q1 "
    assert by["r10"]["status"] == "error" and "not valid text" in by["r10"]["error"]
    assert by["r10"]["answer"] == "caf\ufffd cr\ufffdme"
    assert (summary.rows, summary.ok, summary.errors, summary.blank_skipped) == (10, 5, 5, 2)
    assert summary.exit_code == 1
    assert summary.error_kinds == {"unknown_question": 1, "missing_cells": 1, "extra_cells": 1, "empty_question_id": 1, "undecodable": 1}
    text = summary.to_text()
    assert "10 row(s)" in text and "5 error(s)" in text and "row 2 (line 3, id r2)" in text and "q1 " in text


def test_missing_column_fails_before_loading_the_model(tmp_path):
    src = write_csv(tmp_path / "in.csv", [["id", "question", "text"], ["1", "q1", "x"]])

    def no_model():
        raise AssertionError("the model must not be loaded for a bad header")

    with pytest.raises(BatchInputError) as err:
        grade_csv(src, tmp_path / "out.csv", no_model)
    msg = str(err.value)
    assert "'question_id'" in msg and "'id', 'question', 'text'" in msg and "\n" not in msg
    assert not (tmp_path / "out.csv").exists()


def test_cli_missing_column_exit_2(tmp_path, capsys):
    from grader.cli import main

    src = write_csv(tmp_path / "in.csv", [["id", "question_id", "text"], ["1", "q1", "x"]])
    assert main(["batch", str(src), "-o", str(tmp_path / "out.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'answer'" in err and "--answer-column" in err


def test_formulas_are_neutralised(grader, tmp_path):
    cells = ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"]
    rows = [["=cmd|' /C calc'!A0", "question_id", "answer"]]
    rows += [[c, "q8", c + " learning rate quá lớn thì loss phân kỳ"] for c in cells]
    src = write_csv(tmp_path / "in.csv", rows)
    grade_csv(src, tmp_path / "out.csv", grader)
    out = read_output(tmp_path / "out.csv")
    assert out[0][0] == "'=cmd|' /C calc'!A0"
    for row, c in zip(out[1:], cells):
        assert row[0] == "'" + c and row[2] == "'" + c + " learning rate quá lớn thì loss phân kỳ"
    for row in out:
        assert not any(cell.startswith(batch.FORMULA_PREFIXES) for cell in row)
    assert neutralise("-0.5") == "'-0.5" and neutralise("ok") == "ok" and neutralise("") == ""


def test_jsonl_output(grader, tmp_path):
    src = write_csv(tmp_path / "in.csv", table(ANSWERS[:3]) + [["C9", "nope", "", "x", "=1"]])
    summary = grade_csv(src, tmp_path / "out.jsonl", grader, fmt="jsonl", id_column="candidate")
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and summary.errors == 1
    objs = [json.loads(line) for line in lines]
    for i, (obj, (q, a)) in enumerate(zip(objs, ANSWERS[:3]), 1):
        assert obj["row"] == i and obj["status"] == "ok" and obj["error"] is None and obj["id"] == f"C{i:03d}"
        assert obj["input"]["answer"] == a and list(obj["input"]) == HEADER
        assert obj["result"] == grader.grade(q, a).model_dump(mode="json")
    assert objs[3]["status"] == "error" and objs[3]["result"] is None and "unknown question id" in objs[3]["error"]
    assert objs[3]["input"]["note"] == "=1"  # JSON is not a spreadsheet: cells are as they were


def test_cli_stdin_stdout(grader, monkeypatch, tmp_path):
    from grader.cli import batch as cli_batch
    from grader.cli import main

    monkeypatch.setattr(cli_batch, "grader_from_args", lambda args: grader)
    data = io.BytesIO()
    write_csv(tmp_path / "in.csv", table(ANSWERS[:3]), encoding="utf-8-sig", delimiter=";")
    stdin = io.TextIOWrapper(io.BytesIO((tmp_path / "in.csv").read_bytes()), encoding="utf-8")
    stdout = io.TextIOWrapper(data, encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["batch", "-", "-o", "-", "--quiet"]) == 0
    stdout.flush()
    text = data.getvalue().decode("utf-8")
    assert not text.startswith("\ufeff")  # no BOM on standard output
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == HEADER + list(RESULT_COLUMNS)
    assert [r[3] for r in rows[1:]] == [a for _, a in ANSWERS[:3]]


def test_cli_summary_and_exit_code(grader, monkeypatch, tmp_path, capsys):
    from grader.cli import batch as cli_batch
    from grader.cli import main

    monkeypatch.setattr(cli_batch, "grader_from_args", lambda args: grader)
    src = write_csv(tmp_path / "in.csv", table(ANSWERS[:2]) + [["C9", "q42", "", "x", ""]])
    assert main(["batch", str(src), "-o", str(tmp_path / "out.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "3 row(s): 2 ok, 1 error(s)" in err and "rows/s" in err and "mean score per question: q1" in err
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 3  # format from the extension


def test_existing_output_replaced_only_on_completion(grader, tmp_path):
    src = write_csv(tmp_path / "in.csv", table())
    out = tmp_path / "out.csv"
    out.write_text("old\n", encoding="utf-8")

    class Interrupting:
        """The real grader, interrupted (like Ctrl-C) during its third chunk."""

        def __init__(self):
            self.calls = 0
            self.rubrics, self.signature = grader.rubrics, grader.signature

        def grade_many(self, items, **kw):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return grader.grade_many(items, **kw)

    with pytest.raises(BatchInterrupted) as info:
        grade_csv(src, out, Interrupting(), chunk_size=2)
    done = min(FIRST_CHUNK, 2) + 2  # two chunks were written
    assert info.value.rows_done == done
    assert out.read_text(encoding="utf-8") == "old\n"  # untouched until the new output is complete
    partial = tmp_path / "out.csv.partial"
    progress = json.loads((tmp_path / "out.csv.progress.json").read_text(encoding="utf-8"))
    assert progress["rows_done"] == done and progress["bytes_written"] == partial.stat().st_size

    # A torn write after the last checkpoint (a chunk half-written when the power went): dropped on resume.
    with partial.open("ab") as fh:
        fh.write(b'C099,q1,2026-01-01,"half a row')
    summary = grade_csv(src, out, grader, resume=True, chunk_size=2)
    assert summary.resumed_rows == done and summary.rows == len(ANSWERS) and summary.graded_this_run == len(ANSWERS) - done
    assert not partial.exists() and not (tmp_path / "out.csv.progress.json").exists()
    ref = tmp_path / "ref.csv"
    grade_csv(src, ref, grader)
    assert out.read_bytes() == ref.read_bytes()


def test_resume_refuses_another_input_or_options(grader, tmp_path):
    src = write_csv(tmp_path / "in.csv", table())
    out = tmp_path / "out.csv"

    def interrupted(**kw):
        calls = []

        class G:
            rubrics, signature = grader.rubrics, grader.signature

            def grade_many(self, items, **k):
                calls.append(1)
                if len(calls) == 2:
                    raise KeyboardInterrupt
                return grader.grade_many(items, **k)

        with pytest.raises(BatchInterrupted):
            grade_csv(src, out, G(), chunk_size=2, **kw)

    interrupted()
    with pytest.raises(ResumeError, match="option 'answer_column'"):
        grade_csv(src, out, grader, resume=True, answer_column="note")
    with pytest.raises(ResumeError, match="option 'format'"):
        grade_csv(src, out, grader, resume=True, fmt="jsonl")
    write_csv(src, table(ANSWERS[::-1]))  # same size, other content
    with pytest.raises(ResumeError, match="input's"):
        grade_csv(src, out, grader, resume=True)
    # Without --resume it starts over.
    assert grade_csv(src, out, grader).rows == len(ANSWERS)
    with pytest.raises(BatchInputError, match="--resume"):
        grade_csv("-", out, grader, resume=True)


def test_grade_dataframe_and_partition(grader, reference):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(table()[1:], columns=HEADER)
    df.loc[len(df)] = ["C99", "q404", "x", "an answer", ""]
    df.loc[len(df)] = ["C98", "q1", "x", None, ""]
    out = batch.grade_dataframe(df, grader, chunk_size=3)
    assert list(out.columns) == HEADER + list(RESULT_COLUMNS)
    assert len(out) == len(df) and list(out["candidate"]) == list(df["candidate"])
    ref = as_dicts(reference)
    for i, r in enumerate(ref):
        assert f"{out['score'].iloc[i]:.4f}" == r["score"]
        assert out["points"].iloc[i] == r["points"] and out["feedback"].iloc[i] == r["feedback"]
    assert out["status"].iloc[-2] == "error" and "unknown question id" in out["error"].iloc[-2]
    assert out["status"].iloc[-1] == "error" and "missing answer" in out["error"].iloc[-1]
    assert pd.isna(out["score"].iloc[-1])
    meta = batch.partition_meta(df)
    assert list(meta.columns) == list(out.columns) and dict(meta.dtypes) == dict(out.dtypes)
    # A result column whose name the input already uses is prefixed.
    clash = batch.grade_partition(df.iloc[:1].assign(score="human: 9"), grader)
    assert clash["score"].iloc[0] == "human: 9" and "grader_score" in clash.columns


def test_pandas_missing_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        batch.grade_dataframe(object())


def test_dask_example_matches_the_command(grader, tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("dask.distributed")
    rows = table(ANSWERS * 2 + [("q77", "unknown question")])
    src = write_csv(tmp_path / "in.csv", rows, encoding="utf-8-sig")
    grade_csv(src, tmp_path / "cli.csv", grader)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_batch.py"), str(src), "-o", str(tmp_path / "dask.csv"), "--workers", "2",
         "--partitions", "3"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    signatures = {r["signature"] for r in as_dicts(read_output(tmp_path / "dask.csv")) if r["signature"]}
    if signatures != {grader.signature}:  # only when rubric or combiner files are edited while the test runs
        pytest.skip(f"the grader changed while the test ran: {signatures} vs {grader.signature}")
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()


# ---------------------------------------------------------------------------
# interrupted and resumed, in real processes
# ---------------------------------------------------------------------------

SHORT = [
    ("q1", "BN chuẩn hóa activation về mean 0."),
    ("q2", "High variance means overfitting."),
    ("q8", "Learning rate lớn quá thì loss phân kỳ."),
    ("q11", "Mot epoch la mot luot qua toan bo du lieu."),
    ("q10", "Dùng F1 thay vì accuracy khi dữ liệu lệch."),
    ("q5", "Backprop dùng chain rule để tính gradient."),
]


def _command(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", "batch", str(src), "-o", str(out), "--chunk-size", "4", "--id-column", "id", *extra]


def _wait_for_rows(proc: subprocess.Popen, progress: Path, more_than: int, timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it was interrupted: {proc.stderr.read() if proc.stderr else ''}")
        try:
            done = json.loads(progress.read_text(encoding="utf-8"))["rows_done"]
        except (FileNotFoundError, ValueError, KeyError):
            done = -1
        if done > more_than:
            return int(done)
        time.sleep(0.005)
    raise AssertionError("no progress")


def test_killed_runs_resume_to_every_row_exactly_once(grader, tmp_path):
    n = 60
    rows = [["id", "question_id", "answer", "extra"]]
    rows += [[f"A{i:03d}", SHORT[i % len(SHORT)][0], f"{SHORT[i % len(SHORT)][1]} ({i})", f"x{i}"] for i in range(n)]
    src = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    progress = tmp_path / "out.csv.progress.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    # 1. SIGTERM after the first chunk: a clean stop (exit 130) that keeps what was written.
    proc = subprocess.Popen(_command(src, out), cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    first = _wait_for_rows(proc, progress, 0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    assert not out.exists()

    # 2. Resumed, then killed with SIGKILL (no clean-up at all) after at least one more chunk.
    proc = subprocess.Popen(_command(src, out, "--resume"), cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    second = _wait_for_rows(proc, progress, first)
    proc.kill()
    proc.communicate(timeout=60)
    assert not out.exists() and second < n

    # 3. Resumed to the end.
    done = subprocess.run(_command(src, out, "--resume"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{n} row(s)" in done.stderr and "from an earlier run" in done.stderr
    assert not progress.exists() and not (tmp_path / "out.csv.partial").exists()

    got = read_output(out)
    ref_path = tmp_path / "ref.csv"
    grade_csv(src, ref_path, grader, id_column="id")
    ref = read_output(ref_path)
    assert [r[0] for r in got[1:]] == [f"A{i:03d}" for i in range(n)]  # every row once, in order
    assert got == ref  # the same scores and cells as an uninterrupted run
