"""Rows of a batch: what to grade in each, grading them a chunk at a time, their result columns and rendering.

Shared by the CSV command (:mod:`grader.batch.run`) and the pandas/Dask functions
(:mod:`grader.batch.frames`), so both write the same cells.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from grader.csv_in import clean_cell
from grader.result import HARD_FLAGS
from grader.rubric.ids import resolve_question_id, unknown_question_message

if TYPE_CHECKING:  # pragma: no cover
    from grader.engine import Grader
    from grader.result import GradeResult

#: The columns appended after the input's columns, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "score",
    "mark",
    "status",
    "error",
    "covered_points",
    "partial_points",
    "missing_points",
    "points",
    "misconceptions",
    "flags",
    "feedback",
    "signature",
)
#: A result column whose name an input column already uses gets this prefix.
COLLISION_PREFIX = "grader_"
#: Cells starting with one of these are formulas to a spreadsheet; CSV output prefixes them with "'".
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Answers are cut to this many characters before analysis (the engine cuts at MAX_ANSWER_CHARS and
#: flags ``truncated``; cutting a 10 MB cell first saves normalising all of it). NFC can shorten
#: decomposed Vietnamese text about threefold, so the margin keeps the engine's cut where it would be.
PRECUT_FACTOR = 4
_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would not execute: formulas (``=``, ``+``, ``-``, ``@``, tab, CR first) get a ``'`` prefix."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def output_columns(input_columns: Sequence[str]) -> list[str]:
    """Names of the result columns for this input: :data:`RESULT_COLUMNS`, prefixed with ``grader_`` where an input column has the name."""
    taken = set(input_columns)
    out = []
    for name in RESULT_COLUMNS:
        new = name
        while new in taken:
            new = COLLISION_PREFIX + new
        taken.add(new)
        out.append(new)
    return out


def short_feedback(result: GradeResult, feedback_language: str | None = None, max_items: int = 3) -> str:
    """One line: the guards' notes, then misconceptions, then the missing and partial points (heaviest first)."""
    lang = feedback_language or ("en" if result.language == "en" else "vi")
    if HARD_FLAGS.intersection(result.flags):
        return _one_line(" | ".join(result.notes))
    parts = list(result.notes)
    parts += [m.feedback for m in result.misconceptions]
    gaps = sorted((p for p in result.points if p.status != "covered"), key=lambda p: (p.status == "partial", -p.weight))
    parts += [p.feedback for p in gaps]
    if not parts:
        n = len(result.points)
        return f"All {n} points covered." if lang == "en" else f"Đã nêu đủ {n}/{n} ý."
    more = len(parts) - max_items
    text = " | ".join(_one_line(p) for p in parts[:max_items])
    if more > 0:
        text += f" (+{more} more)" if lang == "en" else f" (+{more} ý khác)"
    return text


def result_fields(result: GradeResult, feedback_language: str | None = None) -> dict[str, Any]:
    """The result columns of a graded row (score and mark as floats, the rest as text)."""

    def ids(status: str) -> str:
        return " ".join(p.id for p in result.points if p.status == status)

    return {
        "score": result.score,
        "mark": result.mark,
        "status": "ok",
        "error": "",
        "covered_points": ids("covered"),
        "partial_points": ids("partial"),
        "missing_points": ids("missing"),
        "points": "; ".join(f"{p.id}={p.status}:{p.coverage:.2f}" for p in result.points),
        "misconceptions": " ".join(m.id for m in result.misconceptions),
        "flags": " ".join(result.flags),
        "feedback": short_feedback(result, feedback_language),
        "signature": result.signature,
    }


def error_fields(reason: str) -> dict[str, Any]:
    """The result columns of a row that could not be graded."""
    fields: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS, "")
    fields.update(score=None, mark=None, status="error", error=_one_line(reason))
    return fields


def format_fields(fields: dict[str, Any]) -> list[str]:
    """The result columns of a row as CSV cells (score with 4 decimals, mark with 2, errors empty)."""
    out = []
    for name in RESULT_COLUMNS:
        v = fields[name]
        if name in ("score", "mark"):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                out.append("")
            else:
                out.append(f"{float(v):.4f}" if name == "score" else f"{float(v):.2f}")
        else:
            out.append("" if v is None else str(v))
    return out


# ---------------------------------------------------------------------------
# grading rows
# ---------------------------------------------------------------------------


@dataclass
class Row:
    """A data row to grade: its cells (exactly one per header column), what to grade or why not."""

    index: int  # 1-based number of the data row
    line: int
    cells: list[str]
    row_id: str = ""
    question_id: str = ""
    answer: str = ""
    error: str = ""
    error_kind: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    result: GradeResult | None = None


class QuestionIds:
    """Resolves the rows' question ids by the one rule (:mod:`grader.rubric.ids`: case and surrounding spaces ignored)."""

    def __init__(self, grader: Grader):
        self.known = list(grader.rubrics)

    def resolve(self, qid: str) -> str | None:
        """The rubric id that ``qid`` names, or None."""
        return resolve_question_id(qid, self.known)

    def unknown(self, qid: str) -> str:
        """The error message for an unknown question id."""
        return unknown_question_message(qid, self.known)


@lru_cache(maxsize=1)
def precut() -> int:
    """How many characters of an answer are kept before analysis (see PRECUT_FACTOR)."""
    from grader.analysis import MAX_ANSWER_CHARS

    return MAX_ANSWER_CHARS * PRECUT_FACTOR


def grade_rows(grader: Grader, rows: Sequence[Row], feedback_language: str | None) -> None:
    """Grade the rows without an error with one ``grade_many`` call; fill every row's fields."""
    from grader.engine import check_answer, check_feedback_language

    check_feedback_language(feedback_language)  # a bad option fails the batch, not every row
    for r in rows:
        if not r.error:
            try:
                check_answer(r.answer)
            except (TypeError, ValueError) as exc:  # a DataFrame cell with undecodable characters
                r.error, r.error_kind = str(exc), "undecodable"
    todo = [r for r in rows if not r.error]
    results: list[GradeResult | Exception]
    if todo:
        items = [(r.question_id, r.answer[: precut()]) for r in todo]
        try:
            results = list(grader.grade_many(items, feedback_language=feedback_language))
        except Exception:  # one bad answer must not sink the chunk: grade one by one to find it
            results = []
            for item in items:
                try:
                    results.append(grader.grade_many([item], feedback_language=feedback_language)[0])
                except Exception as exc:  # noqa: BLE001 - reported in the row
                    results.append(exc)
        for r, res in zip(todo, results):
            if isinstance(res, Exception):
                r.error, r.error_kind = f"internal error: {type(res).__name__}: {res}", "internal"
            else:
                r.result = res
                r.fields = result_fields(res, feedback_language)
    for r in rows:
        if r.error:
            r.fields = error_fields(r.error)


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------


class Renderer:
    """Turns graded rows into text: CSV (formulas neutralised) or JSONL."""

    def __init__(self, header: Sequence[str], fmt: str):
        self.fmt = fmt
        self.header = list(header)
        self.result_names = output_columns(header)
        keys: list[str] = []
        for h in self.header:  # JSON keys must be unique
            k, n = h, 2
            while k in keys:
                k, n = f"{h}_{n}", n + 1
            keys.append(k)
        self.keys = keys

    def head(self) -> str:
        """The header line (CSV only)."""
        if self.fmt != "csv":
            return ""
        return self._csv([[neutralise(clean_cell(c)) for c in [*self.header, *self.result_names]]])

    @staticmethod
    def _csv(rows: Iterable[Sequence[str]]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue()

    def render(self, rows: Sequence[Row]) -> str:
        """The text of ``rows``: CSV records or JSON lines."""
        if self.fmt == "csv":
            return self._csv([neutralise(clean_cell(c)) for c in [*r.cells, *format_fields(r.fields)]] for r in rows)
        lines = []
        for r in rows:
            obj = {
                "row": r.index,
                "line": r.line,
                "id": r.row_id or None,
                "status": r.fields["status"],
                "error": r.fields["error"] or None,
                "input": {k: clean_cell(c) for k, c in zip(self.keys, r.cells)},
                "result": r.result.model_dump(mode="json") if r.result is not None else None,
            }
            lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
        return "".join(lines)
