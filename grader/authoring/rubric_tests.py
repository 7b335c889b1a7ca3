"""Rubric tests: grade each rubric's own examples (and sample CSVs) and check them.

A rubric is code: its examples say which score band, points and misconceptions
an answer must get. ``grader test-rubrics`` reports every failed expectation as
``file:line: ...`` with the evidence an author needs to fix the rubric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.csv_in import CsvInputError, read_table
from grader.engine import Grader
from grader.result import GradeResult
from grader.rubric.load import LoadedRubric

SAMPLE_SUFFIX = ".samples.csv"
SAMPLE_COLUMNS = ("answer", "expected_min", "expected_max")


@dataclass
class RubricTestReport:
    """Outcome of testing some rubrics."""

    failures: list[str] = field(default_factory=list)
    examples: int = 0
    passed: int = 0
    samples: int = 0
    samples_in_band: int = 0
    samples_above: int = 0
    samples_below: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """Counts, and for CSV samples the agreement figures."""
        text = f"{self.passed}/{self.examples} examples passed"
        if self.samples:
            text += (
                f"; samples: {self.samples_in_band}/{self.samples} within band "
                f"({self.samples_in_band / self.samples:.0%}), {self.samples_above} scored above, {self.samples_below} below"
            )
        return text


def _band(lo: float, hi: float) -> str:
    return f"{lo:.3g}–{hi:.3g}"


def _point_detail(result: GradeResult, qid: str, pid: str) -> str:
    p = next(x for x in result.points if x.id == pid)
    quote = f' on "{p.evidence.text[:60]}"' if p.evidence else ""
    return f"{qid}.{pid} (coverage {p.coverage:.2f}, similarity z={p.similarity:.2f}{quote})"


def check_example(result: GradeResult, lo: float, hi: float, covers: list[str], not_covers: list[str], misconceptions: list[str]) -> list[str]:
    """The expectations an example's result breaks, in words."""
    problems = []
    if not lo <= result.score <= hi:
        problems.append(f"scored {result.score:.3f}, expected {_band(lo, hi)}")
    status = {p.id: p.status for p in result.points}
    for pid in covers:
        if status.get(pid) != "covered":
            problems.append(f"missing point {_point_detail(result, result.question_id, pid)}")
    for pid in not_covers:
        if status.get(pid) == "covered":
            problems.append(f"covers point it must not: {_point_detail(result, result.question_id, pid)}")
    found = {m.id for m in result.misconceptions}
    for mid in misconceptions:
        if mid not in found:
            problems.append(f"misconception {result.question_id}.{mid} not detected")
    if problems and result.flags:
        problems.append(f"flags: {', '.join(result.flags)}")
    return problems


def run_rubric_tests(grader: Grader, rubrics: list[LoadedRubric]) -> RubricTestReport:
    """Grade every example of ``rubrics`` (and their ``*.samples.csv``) with ``grader``."""
    report = RubricTestReport()
    items: list[tuple[str, str]] = []
    where: list[tuple[LoadedRubric, int]] = []
    for lr in rubrics:
        for i, ex in enumerate(lr.rubric.examples):
            items.append((lr.rubric.id, ex.answer))
            where.append((lr, i))
    results = grader.grade_many(items)
    for (lr, i), result in zip(where, results):
        ex = lr.rubric.examples[i]
        report.examples += 1
        problems = check_example(result, ex.expected_score.min, ex.expected_score.max, ex.covers, ex.not_covers, ex.misconceptions)
        if problems:
            report.failures.append(f"{lr.path}:{lr.line_of(('examples', i))}: example {i + 1} ({ex.kind}) " + "; ".join(problems))
        else:
            report.passed += 1
    for lr in rubrics:
        _run_samples(grader, lr, report)
    return report


def _run_samples(grader: Grader, lr: LoadedRubric, report: RubricTestReport) -> None:
    path = Path(lr.path)
    samples = path.with_name(path.name.rsplit(".", 1)[0] + SAMPLE_SUFFIX)
    if not samples.exists():
        return
    try:
        table = read_table(samples, required=SAMPLE_COLUMNS)
        col = table.require(SAMPLE_COLUMNS, f"need {', '.join(SAMPLE_COLUMNS)}")
    except CsvInputError as exc:
        report.failures.append(str(exc))
        return
    results = grader.grade_many([(lr.rubric.id, r.get(col["answer"])) for r in table.rows])
    for row, result in zip(table.rows, results):
        try:
            lo, hi = float(row.get(col["expected_min"])), float(row.get(col["expected_max"]))
        except ValueError:
            report.failures.append(f"{samples}:{row.line}: expected_min/expected_max must be numbers")
            continue
        report.samples += 1
        if result.score > hi:
            report.samples_above += 1
        elif result.score < lo:
            report.samples_below += 1
        else:
            report.samples_in_band += 1
