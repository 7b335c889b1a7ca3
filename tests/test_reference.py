"""Rubrics drafted from a reference answer: splitting, keywords, YAML that validates cleanly, grading with them.

The drafting tests need no model; the grading test re-uses the session ``grader``'s encoder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import build_parser
from grader.drafting import TODO_PREFIX, draft_points, rubric_from_reference, sanitize_id, split_reference
from grader.rubric import validate_paths
from grader.rubric.dump import rubric_to_yaml
from grader.rubric.load import parse_rubric_text
from grader.text.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent

SALT_Q = "You used several methods to separate and identify the substances in mock rocks. How did you separate the salt from the water?"
SALT_REF = "The water was evaporated, leaving the salt."
CASES = [
    (SALT_Q, SALT_REF, "en"),
    (
        "Explain why you got a voltage reading of 1.5 for terminal 1 and the positive terminal.",
        "Terminal 1 and the positive terminal are separated by the gap",
        "en",
    ),
    (
        "State at least 4 of the differences shown in the lecture between the UDP and TCP headers.",
        "Possible Differences : The UPD header (8 bytes) is much shorter than the TCP header (20-60 bytes) "
        "The UDP header has a fixed length while the TCP header has a variable length Fields contained in the "
        "TCP header and not the UDP header : -Sequence number -Acknowledgment number -Reserved -Flags/Control bits "
        "-Advertised window -Urgent Pointer -Options + Padding. The sender port field is optional in UDP, while the "
        "source port in TCP is necessary to establish the connection. ● UDP has no checksum option ● TCP does",
        "en",
    ),
    (
        "Batch Normalization dùng để làm gì?",
        "BN chuẩn hóa activation của mỗi layer về trung bình 0 và phương sai 1 theo từng mini-batch. "
        "Nhờ đó gradient ổn định hơn, có thể dùng learning rate lớn hơn và mô hình hội tụ nhanh hơn.",
        "vi",
    ),
]


def test_split_reference_into_clauses_and_keeps_all_text() -> None:
    assert split_reference(SALT_REF) == ["The water was evaporated", "leaving the salt"]
    # a list of short items stays one point instead of one point per comma
    assert split_reference("Bulbs A, B and C are still in closed paths with the battery") == [
        "Bulbs A, B and C are still in closed paths with the battery"
    ]
    pieces = split_reference("First idea here. Second idea is this one. Third one now. Fourth idea said. Fifth idea said.", max_points=3)
    assert len(pieces) == 3
    joined = " ".join(pieces)
    for word in ("First", "Second", "Third", "Fourth", "Fifth"):
        assert word in joined
    assert split_reference("   ") == []


def test_keywords_are_distinctive_and_never_shared() -> None:
    points = draft_points(SALT_Q, SALT_REF)
    assert [p.keywords for p in points][0] == ["evaporated"]  # 'water' is in the question
    for q, ref, _ in CASES:
        pts = draft_points(q, ref)
        assert all(p.keywords for p in pts), [p.text for p in pts if not p.keywords]
        forms = [normalize(k) for p in pts for k in p.keywords]
        assert len(forms) == len(set(forms))


def test_sanitize_id() -> None:
    assert sanitize_id("EM_45b") == "em_45b"
    assert sanitize_id("10.1") == "q_10_1"
    assert sanitize_id("BULB_C_VOLTAGE_EXPLAIN_WHY1") == "bulb_c_voltage_explain_why1"


@pytest.mark.parametrize("question,reference,lang", CASES)
def test_from_reference_rubric(question: str, reference: str, lang: str) -> None:
    rubric = rubric_from_reference(question, reference)
    other = "vi" if lang == "en" else "en"
    assert rubric.model_answer is not None and getattr(rubric.model_answer, lang) == reference
    assert 1 <= len(rubric.points) <= 8
    for p in rubric.points:
        own, todo = getattr(p.phrasings, lang), getattr(p.phrasings, other)
        assert own == [p.statement.en]
        assert todo == [TODO_PREFIX + p.statement.en]
        assert 1 <= p.weight <= 10
        assert p.statement.en in p.feedback.missing.en and p.statement.en in p.feedback.covered.vi
    assert rubric.examples[0].answer == reference


@pytest.mark.parametrize("question,reference,lang", CASES)
def test_draft_rubric_command_writes_yaml_that_validates_cleanly(tmp_path: Path, question: str, reference: str, lang: str, capsys) -> None:  # type: ignore[no-untyped-def]
    ref_file = tmp_path / "ref.txt"
    ref_file.write_text(reference, encoding="utf-8")
    out = tmp_path / "rubrics" / "drafted.yaml"
    args = build_parser().parse_args(["draft-rubric", "--question", question, "--reference-file", str(ref_file), "--id", "Q-7", "-o", str(out)])
    assert args.func(args) == 0
    assert "TODO translate" in capsys.readouterr().out
    loaded, problems = validate_paths([out])
    assert problems == [], [str(p) for p in problems]  # no errors and no warnings
    rubric = loaded[0].rubric
    assert rubric.id == "q_7"
    text = out.read_text(encoding="utf-8")
    assert text.count("# TODO translate") == 2 * len(rubric.points)
    assert parse_rubric_text(text).rubric == rubric_from_reference(question, reference, id="q_7")
    # the bundled rubrics and a drafted one validate together
    _, problems = validate_paths([ROOT / "rubrics", out])
    assert [p for p in problems if p.severity == "error"] == []
    # refuses to overwrite without --force
    args = build_parser().parse_args(["draft-rubric", "--question", question, "--reference", reference, "-o", str(out)])
    assert args.func(args) == 2


def test_draft_rubric_to_stdout(capsys) -> None:  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["draft-rubric", "--question", SALT_Q, "--reference", SALT_REF])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("# yaml-language-server")
    assert parse_rubric_text(text).rubric.points[0].id == "p1_evaporated"


def test_empty_inputs_are_errors() -> None:
    with pytest.raises(ValueError, match="reference answer is empty"):
        rubric_from_reference("What?", "  ")
    with pytest.raises(ValueError, match="question is empty"):
        rubric_from_reference("", "An answer.")


def test_drafting_stays_lean() -> None:
    """Drafting and the rubric schema import no model stack (draft-rubric runs in the lean install), and the
    schema no longer reaches up into drafting (``Rubric.from_reference`` made an import circle)."""
    code = (
        "import sys, grader.rubric.schema as s, grader.drafting, grader.cli.draft; assert not hasattr(s.Rubric, 'from_reference');"
        "print(sorted(m for m in ('numpy', 'torch', 'sklearn', 'grader.engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_yaml_of_a_handwritten_rubric_round_trips() -> None:
    from grader.rubric import read_rubric_file

    lr = read_rubric_file(ROOT / "rubrics" / "q08-learning-rate.yaml")
    assert parse_rubric_text(rubric_to_yaml(lr.rubric)).rubric == lr.rubric


@pytest.mark.slow
def test_grading_with_a_drafted_rubric_ranks_good_above_bad(grader) -> None:  # type: ignore[no-untyped-def]
    from grader.engine import Grader

    rubric = rubric_from_reference(SALT_Q, SALT_REF, id="salt")
    g = Grader([rubric], grader.encoder, params=grader.params)
    good, partial, bad, empty = (
        g.grade_many(
            [
                ("salt", "We let the water evaporate and the salt was left behind in the dish."),
                ("salt", "We evaporated the water."),
                ("salt", "We used a magnet to pull the iron filings out of the rock."),
                ("salt", ""),
            ]
        )
    )
    assert good.score > bad.score
    assert partial.score > bad.score
    assert good.score >= partial.score
    assert good.points[0].status == "covered"
    assert empty.score == 0 and "empty" in empty.flags
    # the reference itself passes the drafted rubric's own example
    ref = g.grade("salt", SALT_REF)
    assert rubric.examples[0].expected_score.min <= ref.score <= rubric.examples[0].expected_score.max
