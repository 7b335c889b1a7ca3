"""The `grader` command: grade (argument, file, stdin, JSON), evaluate, fit, errors; the options declared once."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

import pytest

from grader.cli import build_parser, main
from grader.evaluate.fixtures import FIXTURE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "BN chuẩn hóa activation của mỗi layer về mean 0, variance 1 theo mini-batch."
# Every command that grades, with the positional arguments it needs.
GRADING_COMMANDS = {
    "grade": ["q1", "x"],
    "explain": ["q1", "x"],
    "evaluate": ["fixtures"],
    "fit": ["fixtures"],
    "calibrate": ["marked.csv"],
    "test-rubrics": [],
    "lint": [],
    "batch": ["in.csv", "-o", "out.csv"],
}


def _small_fixtures(tmp_path: Path, per_file: int = 8, files: int = 2) -> Path:
    rows = []
    for f in sorted((ROOT / "fixtures").glob("*.csv"))[:files]:
        with f.open(encoding="utf-8") as fh:
            rows.extend(list(csv.DictReader(fh))[:per_file])
    small = tmp_path / "small.csv"
    with small.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIXTURE_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return small


@pytest.mark.slow
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


@pytest.mark.slow
def test_unknown_question_is_a_clear_error(capsys):
    assert main(["grade", "q42", "x"]) == 2
    err = capsys.readouterr().err
    assert "unknown question id 'q42'" in err and "Traceback" not in err


@pytest.mark.slow
def test_evaluate_prints_agreement_and_control(tmp_path, capsys):
    assert main(["evaluate", str(_small_fixtures(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "## all split (16 answers)" in out and "| Pearson |" in out and "length alone" in out
    assert "partial > wrong pairs" in out and "| complete |" in out


def test_evaluate_does_not_guess_from_the_header(tmp_path, capsys):
    """A labelled CSV is read as one only when asked (--labelled); otherwise a clear error, before any model loads."""
    marked = tmp_path / "marked.csv"
    marked.write_text("question_id,answer,score\nq1,some answer,1\n", encoding="utf-8")
    assert main(["evaluate", str(marked)]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) answer_id" in err and "--labelled" in err and "Traceback" not in err
    assert main(["evaluate", str(ROOT / "fixtures"), "--plot", "x.png"]) == 2
    assert "--plot only apply with --labelled" in capsys.readouterr().err
    assert main(["evaluate", "--labelled", "--split", "fit", str(marked)]) == 2


@pytest.mark.slow
def test_evaluate_labelled(tmp_path, capsys):
    marked = tmp_path / "marked.csv"
    with marked.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "answer", "human_score"])
        w.writerows([["q1", ANSWER, 1], ["q1", "Em không biết ạ.", 0], ["q8", "Learning rate quá lớn thì loss phân kỳ.", 1], ["q8", "Batch là dữ liệu.", 0]])
    assert main(["evaluate", "--labelled", "--no-cache", str(marked)]) == 0
    out = capsys.readouterr().out
    assert "## marked.csv (4 answers; human scores binary, 0 to 1)" in out and "| macro-F1 |" in out


@pytest.mark.slow
def test_fit_writes_to_the_working_folder_and_leaves_the_grader_alone(grader, tmp_path, monkeypatch, capsys):
    from grader.calibrate.combiner import fit_combiner
    from grader.evaluate.fixtures import load_fixtures

    bundled = ROOT / "grader" / "data" / "combiner.json"
    before = bundled.read_bytes()
    monkeypatch.chdir(tmp_path)
    small = _small_fixtures(tmp_path, per_file=12, files=3)
    assert build_parser().parse_args(["fit", str(small)]).output == "combiner.json"
    assert main(["fit", str(small)]) == 0
    assert "wrote combiner.json" in capsys.readouterr().out
    written = json.loads((tmp_path / "combiner.json").read_text(encoding="utf-8"))
    assert written["fitted_on"].endswith("fixture answers") and "fit_mae" in written["metrics"]
    assert bundled.read_bytes() == before  # the installed package is not written to

    # fitting reads the grader and changes nothing in it; its parameters cannot be swapped under its signature
    params, signature = grader.params, grader.signature
    fitted = fit_combiner(grader, [f for f in load_fixtures([small]) if f.split == "fit"])
    assert grader.params is params and grader.signature == signature and fitted.digest() != params.digest()
    with pytest.raises(AttributeError):
        grader.params = fitted  # type: ignore[misc]
    other = grader.grade("q1", ANSWER)
    assert other.signature == signature


def test_model_options_are_declared_once_and_reach_every_grading_command():
    parser = build_parser()
    for command, positional in GRADING_COMMANDS.items():
        args = parser.parse_args([command, *positional, "--rubrics", "mine/", "--rubrics", "more/", "--model", "m"])
        assert (args.rubrics, args.model) == (["mine/", "more/"], "m"), command
        assert parser.parse_args([command, *positional]).model == "bundled", command
        # --backend goes straight to the loader: the default is openvino, any of BACKENDS, nothing else
        assert parser.parse_args([command, *positional]).backend == "openvino", command
        assert parser.parse_args([command, *positional, "--backend", "torch"]).backend == "torch", command
    cli = ROOT / "grader" / "cli"
    sources = {p.name: p.read_text(encoding="utf-8") for p in cli.glob("*.py")}
    declared = {name: len(re.findall(r'"--(?:rubrics|model)"', text)) for name, text in sources.items()}
    assert sum(declared.values()) == 2 and declared["common.py"] == 2, declared
    built = {name: len(re.findall(r"\bGrader(?:\.from_path|\.default)?\(", text)) for name, text in sources.items()}
    assert sum(built.values()) == 2 and built["common.py"] == 2, built  # only grader_from_args builds a Grader


def test_backend_flag_is_checked_before_anything_loads(capsys):
    from grader.embedding.backends import BACKENDS

    with pytest.raises(SystemExit) as exc:  # an argparse choice: refused while parsing, before any model
        main(["grade", "q1", "answer", "--backend", "tensorrt"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("grader: ") and "tensorrt" in err and all(b in err for b in BACKENDS)


def test_api_backend_is_checked_before_anything_loads():
    from grader.engine import Grader

    with pytest.raises(ValueError, match="unknown encoder backend 'tensorrt'"):
        Grader.default(backend="tensorrt")
