"""The `grader` command with the real model: grade (argument, file, stdin, JSON), explain, evaluate, errors."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from grader.cli import main
from grader.fixtures import FIXTURE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "BN chuẩn hóa activation của mỗi layer về mean 0, variance 1 theo mini-batch."

def test_grade_text_json_file_and_stdin(tmp_path, capsys, monkeypatch):
    assert main(["grade", "q1", ANSWER]) == 0
    out = capsys.readouterr().out
    assert out.startswith("q1: ") and "[x] normalize_activations" in out and "signature: grader:" in out

    assert main(["grade", "q1", ANSWER, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question_id"] == "q1" and 0 < data["score"] <= 1

    f = tmp_path / "a.txt"
    f.write_text(ANSWER, encoding="utf-8-sig")
    assert main(["grade", "q1", "--answer-file", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == data["score"]

    monkeypatch.setattr(sys, "stdin", io.StringIO(ANSWER))
    assert main(["grade", "q1", "--markdown"]) == 0
    assert "**q1:" in capsys.readouterr().out

def test_unknown_question_is_a_clear_error(capsys):
    assert main(["grade", "q42", "x"]) == 2
    err = capsys.readouterr().err
    assert "unknown question id 'q42'" in err and "Traceback" not in err

def test_explain_shows_segments_matches_and_sum(capsys):
    assert main(["explain", "q1", ANSWER + " Nó không giúp giảm overfitting."]) == 0
    out = capsys.readouterr().out
    assert "segment(s):" in out and "normalize_activations: best segment" in out and "score: earned" in out

def test_evaluate_prints_agreement_and_control(tmp_path, capsys):
    rows = []
    for f in sorted((ROOT / "fixtures").glob("*.csv"))[:2]:
        with f.open(encoding="utf-8") as fh:
            rows.extend(list(csv.DictReader(fh))[:8])
    small = tmp_path / "small.csv"
    with small.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIXTURE_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    assert main(["evaluate", str(small)]) == 0
    out = capsys.readouterr().out
    assert "## all split (16 answers)" in out and "| Pearson |" in out and "length alone" in out
    assert "partial > wrong pairs" in out and "| complete |" in out
