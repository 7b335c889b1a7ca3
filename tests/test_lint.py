"""`grader lint` catches planted authoring mistakes (real model, real files); the shipped rubrics lint clean
(tests/test_robustness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grader.engine import Grader
from grader.authoring.lint import lint_rubric
from grader.rubric import load_rubric_set, read_rubric_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def planted(grader, tmp_path_factory):
    """q8 with three planted mistakes, beside an untouched q11 (so off-topic context exists)."""
    folder = tmp_path_factory.mktemp("planted")
    data = yaml.safe_load(next((ROOT / "rubrics").glob("q08-*.yaml")).read_text(encoding="utf-8"))
    overshoot = next(p for p in data["points"] if p["id"] == "large_overshoot")
    # 1. an ambiguous point: another id saying what large_overshoot says
    twin = dict(overshoot, id="bouncing_loss", weight=1)
    twin["phrasings"] = {
        "vi": ["Học với learning rate quá cao thì loss cứ nhảy qua nhảy lại quanh điểm cực tiểu."],
        "en": ["A learning rate that is too high makes the loss bounce back and forth around the minimum."],
    }
    twin["keywords"] = []
    data["points"].append(twin)
    # 2. a greedy keyword: the question's own words
    data["points"][0]["keywords"].append({"term": "learning rate quá lớn"})
    # 3. a misconception whose phrasings state the very point it contradicts
    data["misconceptions"].append(
        {
            "id": "planted_wrong",
            "statement": {"vi": "Sai.", "en": "Wrong."},
            "phrasings": {
                "vi": ["Khi learning rate quá nhỏ thì mỗi bước cập nhật rất nhỏ nên training hội tụ rất chậm."],
                "en": ["With a tiny learning rate each update is small, so training converges very slowly."],
            },
            "contradicts": ["small_slow"],
            "feedback": {"vi": "Sai.", "en": "Wrong."},
        }
    )
    (folder / "q08.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "q11.yaml").write_bytes(next((ROOT / "rubrics").glob("q11-*.yaml")).read_bytes())
    loaded = load_rubric_set([folder])
    g = Grader([lr.rubric for lr in loaded], grader.encoder, cache_dir=folder / "cache")
    lr = read_rubric_file(folder / "q08.yaml")
    return "\n".join(str(p) for p in lint_rubric(g, lr)), folder


def test_planted_ambiguous_point_is_reported(planted):
    """A second point saying what large_overshoot says: its phrasings, held out (out of the references and of
    the probe), read as the other point: reported as ambiguous or as misplaced, naming both."""
    report, _ = planted
    lines = [line for line in report.splitlines() if "of 'bouncing_loss'" in line]
    assert lines and all("'large_overshoot'" in line for line in lines), report
    assert all("ambiguous" in line or "not as its own point" in line for line in lines), lines


def test_planted_greedy_keyword_is_reported(planted):
    report, folder = planted
    assert "greedy keyword 'learning rate quá lớn'" in report and "matches the question text" in report
    assert f"{folder / 'q08.yaml'}:" in report


def test_planted_misconception_matching_its_point_is_reported(planted):
    report, _ = planted
    assert "misconception 'planted_wrong': phrasing" in report and "goes undetected and earns 'small_slow'" in report


def test_question_text_scores_near_zero_on_bundled_rubrics(grader):
    for rubric in grader.rubrics.values():
        for text in (rubric.question.vi, rubric.question.en):
            assert grader.grade(rubric.id, text).score <= 0.1, (rubric.id, text)
