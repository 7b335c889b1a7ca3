"""`grader test-rubrics`: examples and sample CSVs graded with the real engine, failures located."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.engine import Grader
from grader.rubric import load_rubric_set
from grader.authoring.rubric_tests import run_rubric_tests

ROOT = Path(__file__).resolve().parent.parent
GOOD = "Learning rate quá lớn thì loss dao động qua lại quanh cực tiểu, có khi phân kỳ ra NaN; quá nhỏ thì hội tụ rất chậm."


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("rt")
    data = yaml.safe_load(next((ROOT / "rubrics").glob("q08-*.yaml")).read_text(encoding="utf-8"))
    data["examples"] = [
        {"kind": "partial", "answer": GOOD, "expected_score": {"min": 0.2, "max": 1.0}},
        # planted wrong expectations: an honest answer said to score nothing and to cover lr_choose
        {"kind": "other", "answer": GOOD, "expected_score": {"min": 0.0, "max": 0.05}, "covers": ["lr_choose"]},
    ]
    path = d / "q08.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with (d / "q08.samples.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["answer", "expected_min", "expected_max"])
        w.writerow([GOOD, "0.2", "1.0"])
        w.writerow(["Em không biết ạ.", "0", "0.1"])
        w.writerow([GOOD, "0.95", "1.0"])  # a human mark the engine does not reach
    return d


def test_failures_are_located_and_explained(grader, folder):
    loaded = load_rubric_set([folder])
    g = Grader([lr.rubric for lr in loaded], grader.encoder, cache_dir=folder / "cache")
    report = run_rubric_tests(g, loaded)
    assert report.examples == 2 and report.passed == 1
    (failure,) = report.failures
    line = (folder / "q08.yaml").read_text(encoding="utf-8").splitlines().index("- kind: other") + 1
    assert failure.startswith(f"{folder / 'q08.yaml'}:{line}: example 2 (other) scored ")
    assert "expected 0–0.05" in failure and "missing point q8.lr_choose (coverage" in failure
    assert report.samples == 3 and report.samples_in_band == 2 and report.samples_below == 1
    assert "2/3 within band" in report.summary()


@pytest.mark.slow
def test_cli_exit_codes(folder, capsys):
    assert main(["test-rubrics", str(folder / "q08.yaml")]) == 1
    captured = capsys.readouterr()
    assert "example 2 (other)" in captured.err and "1/2 examples passed" in captured.out
