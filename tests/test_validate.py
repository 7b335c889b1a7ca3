"""`grader validate` and the rubric schema: real files, every bad-input case, no model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.cli import main
from grader.rubric import Rubric, validate_paths
from grader.rubric.load import parse_rubric_text

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"

GOOD = """\
id: demo
title: {vi: "Tốc độ học", en: "Learning rate"}
question:
  vi: "Điều gì xảy ra khi learning rate quá lớn?"
  en: "What happens when the learning rate is too large?"
points:
  - id: diverges
    weight: 2
    statement: {vi: "Loss dao động hoặc phân kỳ.", en: "The loss oscillates or diverges."}
    phrasings:
      vi: ["loss nhảy qua lại quanh điểm tối ưu và không hội tụ"]
      en: ["the updates overshoot the minimum and training diverges"]
    keywords:
      - term: diverge
        aliases: ["phân kỳ"]
      - overshoot
    feedback:
      covered: {vi: "Đúng.", en: "Right."}
      partial: {vi: "Gần đúng.", en: "Almost."}
      missing: {vi: "Thiếu ý phân kỳ.", en: "Say that it diverges."}
misconceptions:
  - id: faster_always
    statement: {vi: "LR lớn luôn học nhanh hơn.", en: "A larger LR always learns faster."}
    phrasings:
      vi: ["learning rate càng lớn thì mô hình càng học nhanh và tốt hơn"]
      en: ["a bigger learning rate always makes training faster and better"]
    contradicts: [diverges]
    feedback: {vi: "Không đúng.", en: "Not so."}
examples:
  - kind: complete
    answer: "The loss jumps around and diverges."
    expected_score: {min: 0.8, max: 1.0}
    covers: [diverges]
"""


def write(tmp_path: Path, text: str | bytes, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def problems_of(path: Path) -> list[str]:
    _, problems = validate_paths([path])
    return [str(p) for p in problems if p.severity == "error"]


def test_bundled_rubrics_are_valid():
    loaded, problems = validate_paths([RUBRICS])
    assert [str(p) for p in problems] == []
    ids = sorted(lr.rubric.id for lr in loaded)
    assert ids == sorted(f"q{i}" for i in range(1, 13))


@pytest.mark.parametrize("qid", [f"q{i}" for i in range(1, 13)])
def test_bundled_rubric_content(qid):
    loaded, _ = validate_paths([RUBRICS])
    r = next(lr.rubric for lr in loaded if lr.rubric.id == qid)
    assert 2 <= len(r.points) <= 6
    assert r.misconceptions, "every question lists the misconceptions interviewers hear"
    for p in r.points:
        assert len(p.phrasings.vi) >= 3 and len(p.phrasings.en) >= 3, p.id
        assert p.keywords, p.id
    assert r.model_answer is not None and r.model_answer.vi and r.model_answer.en
    assert len(r.examples) >= 6
    kinds = {e.kind for e in r.examples}
    assert {"complete", "partial", "misconception", "negated", "keyword_list", "off_topic"} <= kinds


def test_good_file_passes(tmp_path):
    assert problems_of(write(tmp_path, GOOD)) == []


def test_keyword_shorthand_and_nfc():
    lr = parse_rubric_text(GOOD.replace("phân kỳ", "pha\u0302n ky\u0300"))
    kw = lr.rubric.points[0].keywords
    assert kw[1].term == "overshoot" and kw[1].required is False
    assert kw[0].aliases == ["phân kỳ"]  # decomposed input is stored in NFC


def test_broken_yaml_reports_line(tmp_path):
    p = write(tmp_path, GOOD.replace("    weight: 2\n", "    weight: [2\n"))
    out = problems_of(p)
    assert len(out) == 1 and "YAML syntax error" in out[0]
    assert out[0].startswith(f"{p}:")


def test_unknown_field_typo_is_an_error_with_line(tmp_path):
    p = write(tmp_path, GOOD.replace("    weight: 2", "    weigth: 2"))
    out = problems_of(p)
    assert f"{p}:{GOOD.splitlines().index('    weight: 2') + 1}: unknown field 'weigth'" in "\n".join(out)
    assert any("missing required field 'points.0.weight'" in o for o in out)


def test_wrong_type(tmp_path):
    p = write(tmp_path, GOOD.replace("weight: 2", "weight: heavy"))
    out = problems_of(p)
    assert len(out) == 1 and ":8: 'points.0.weight'" in out[0] and "number" in out[0]


def test_negative_weight_and_bad_band(tmp_path):
    text = GOOD.replace("weight: 2", "weight: -1").replace("{min: 0.8, max: 1.0}", "{min: 0.9, max: 0.2}")
    out = problems_of(write(tmp_path, text))
    assert any("greater than 0" in o for o in out)
    assert any("min (0.9) is greater than max (0.2)" in o for o in out)


def test_duplicate_ids_within_and_across_files(tmp_path):
    dup_point = GOOD.replace("misconceptions:", """  - id: diverges
    weight: 1
    statement: {vi: "Lặp lại.", en: "Again."}
    phrasings: {vi: ["một câu khác hẳn"], en: ["another sentence entirely"]}
    feedback:
      covered: {vi: "a", en: "a"}
      partial: {vi: "b", en: "b"}
      missing: {vi: "c", en: "c"}
misconceptions:""")
    out = problems_of(write(tmp_path, dup_point))
    assert any("duplicate point id 'diverges'" in o for o in out)
    d = tmp_path / "set"
    d.mkdir()
    write(d, GOOD, "a.yaml")
    write(d, GOOD, "b.yaml")
    out = problems_of(d)
    assert any("question id 'demo' is already used by" in o and "b.yaml:1:" in o for o in out)


def test_missing_language_unknown_reference_duplicate_phrasing(tmp_path):
    text = (
        GOOD.replace('      en: ["the updates overshoot the minimum and training diverges"]\n', "")
        .replace("contradicts: [diverges]", "contradicts: [divergence]")
        .replace('["learning rate càng lớn thì mô hình càng học nhanh và tốt hơn"]', '["Loss nhảy qua lại quanh điểm tối ưu và  không hội tụ"]')
    )
    out = "\n".join(problems_of(write(tmp_path, text)))
    assert "point 'diverges' has no 'en' reference phrasing" in out
    assert "contradicts unknown point 'divergence' (use one of: diverges)" in out
    assert "duplicate phrasing" in out and "already under point 'diverges'" in out


def test_empty_keyword(tmp_path):
    text = GOOD.replace("      - overshoot", '      - "  "')
    line = text.splitlines().index('      - "  "') + 1
    out = problems_of(write(tmp_path, text))
    assert len(out) == 1 and f":{line}: 'points.0.keywords.1.term': String should have at least 1 character" in out[0]


def test_all_problems_in_one_run(tmp_path):
    text = GOOD.replace("weight: 2", "weigth: 2").replace("id: faster_always", "id: Faster-Always")
    out = problems_of(write(tmp_path, text))
    assert len(out) >= 3  # unknown field, missing weight, bad id


def test_not_utf8_empty_and_not_a_mapping(tmp_path):
    bad = write(tmp_path, GOOD.encode("utf-8") + "\n# ghi chú\n".encode("cp1258"), "latin.yaml")
    out = problems_of(bad)
    assert len(out) == 1 and "not valid UTF-8" in out[0] and f"{bad}:{GOOD.count(chr(10)) + 2}:" in out[0]
    assert "the file is empty" in problems_of(write(tmp_path, "  \n", "empty.yaml"))[0]
    assert "top level must be a mapping" in problems_of(write(tmp_path, "- a\n- b\n", "list.yaml"))[0]


def test_duplicate_yaml_key(tmp_path):
    out = problems_of(write(tmp_path, GOOD.replace("id: demo\n", "id: demo\nid: demo2\n")))
    assert len(out) == 1 and "duplicate key" in out[0].lower() and ":2:" in out[0]


def test_shared_keyword_is_a_warning(tmp_path):
    text = GOOD.replace("      - overshoot", "      - overshoot\n      - faster").replace(
        "    contradicts: [diverges]", "    keywords: [faster]\n    contradicts: [diverges]"
    )
    _, problems = validate_paths([write(tmp_path, text)])
    warnings = [str(p) for p in problems if p.severity == "warning"]
    assert any("keyword 'faster' is shared by diverges, faster_always" in w for w in warnings)


def test_cli_exit_codes_and_messages(tmp_path, capsys):
    assert main(["validate", str(RUBRICS)]) == 0
    bad = write(tmp_path, GOOD.replace("weight: 2", "weigth: 2"))
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown field 'weigth'" in err and "Traceback" not in err
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1


def test_validate_is_fast_and_imports_no_model():
    """The lean path: a fresh interpreter validating the 12 rubrics must not import torch."""
    code = (
        "import sys, time; t=time.perf_counter(); from grader.cli import main; rc=main(['validate','-q','rubrics']);"
        "print(rc, *(m in sys.modules for m in ('torch', 'sentence_transformers', 'numpy')), round(time.perf_counter()-t, 3))"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert out[:4] == ["0", "False", "False", "False"]
    assert time.perf_counter() - start < 10  # generous: a sanity bound, the benchmark measures it


def test_published_json_schema_is_current():
    published = json.loads((ROOT / "schema" / "rubric.schema.json").read_text(encoding="utf-8"))
    assert published == Rubric.model_json_schema(), "run: grader schema -o schema/rubric.schema.json"


def test_misconception_pattern_that_fires_on_its_own_point_is_an_error(tmp_path):
    """A planted pattern that matches the point's own phrasing would mark correct answers wrong."""
    planted = GOOD.replace(
        "    contradicts: [diverges]",
        "    contradicts: [diverges]\n    patterns:\n      - terms: [[loss], [diverges, không hội tụ]]\n        window: 6",
    )
    errors = problems_of(write(tmp_path, planted))
    assert any(
        "pattern 1 of misconception 'faster_always' matches point 'diverges'" in e and e.split(":")[1] == "29" for e in errors
    ), errors
    # The same claim, narrowed to what only the misconception says, passes.
    narrow = GOOD.replace(
        "    contradicts: [diverges]",
        "    contradicts: [diverges]\n    patterns:\n      - [[learning rate càng lớn, the larger the learning rate], [càng tốt, the better]]",
    )
    assert problems_of(write(tmp_path, narrow)) == []


def test_pattern_schema_shorthand_and_limits():
    from grader.rubric.schema import Pattern

    p = Pattern.model_validate([["bias cao", "high bias"], ["overfit"]])
    assert p.terms == [["bias cao", "high bias"], ["overfit"]] and p.window == 4 and p.unless == []
    with pytest.raises(ValueError):
        Pattern.model_validate({"terms": []})
    with pytest.raises(ValueError):
        Pattern.model_validate({"terms": [[]]})
    with pytest.raises(ValueError):
        Pattern.model_validate({"terms": [["x"]], "window": 99})
