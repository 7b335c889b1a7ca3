"""Labelled answer sets: reading them, finding (or drafting) each row's rubric, grading and reporting them.

A *labelled CSV* holds answers with a human score, either for questions that
have a rubric (``question_id, answer, score``) or for questions given with a
reference answer (``question, reference_answer, answer, score``), which are
graded with a rubric drafted by :func:`grader.drafting.rubric_from_reference`.
The public benchmark CSVs (``question_id, question, reference_answer,
student_answer, gold_score``) are read with the defaults.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.csv_in import CsvInputError, Table, read_table
from grader.drafting import draft_id, rubric_from_reference, sanitize_id
from grader.engine import Grader
from grader.evaluate.report import labelled_report
from grader.rubric.ids import resolve_question_id
from grader.rubric.schema import Rubric
from grader.score.calibration import Calibration
from grader.text.normalize import nfc

# Column names tried in order when no name is given (case-insensitive); the first is the benchmarks' name.
COLUMN_CANDIDATES: dict[str, tuple[str, ...]] = {
    "question_id": ("question_id", "qid", "question id"),
    "question": ("question", "question_text", "prompt"),
    "reference": ("reference_answer", "reference", "model_answer", "ref_answer", "desired_answer"),
    "answer": ("student_answer", "answer", "response", "answer_text"),
    "score": ("gold_score", "human_score", "score", "grade", "mark"),
}


class LabelledInputError(ValueError):
    """A labelled CSV that cannot be read: missing columns, a bad score (names file and line)."""


@dataclass(frozen=True)
class LabelledRow:
    """One human-scored answer."""

    question_id: str
    question: str
    reference: str
    answer: str
    human: float
    line: int = 0


def _csv_files(path: str | os.PathLike[str]) -> list[Path]:
    p = Path(path)
    return sorted(p.glob("*.csv")) if p.is_dir() else [p]


def _column(table: Table, role: str, given: str | None) -> str | None:
    if given is None:
        return table.first_column(COLUMN_CANDIDATES[role])
    found = table.column(given)
    if found is None:
        raise LabelledInputError(f"{table.path}: no column '{given}' (columns: {', '.join(table.header)})")
    return found


def _score(raw: str) -> float:
    """A human score; a decimal comma ("0,5") is read as a point."""
    return float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else float(raw)


def read_labelled(
    csv_path: str | os.PathLike[str],
    *,
    question_id_column: str | None = None,
    question_column: str | None = None,
    reference_column: str | None = None,
    answer_column: str | None = None,
    score_column: str | None = None,
    limit: int | None = None,
) -> list[LabelledRow]:
    """Rows of a labelled CSV (or of every CSV in a folder); columns default to :data:`COLUMN_CANDIDATES`."""
    given = {
        "question_id": question_id_column,
        "question": question_column,
        "reference": reference_column,
        "answer": answer_column,
        "score": score_column,
    }
    out: list[LabelledRow] = []
    for f in _csv_files(csv_path):
        try:
            table = read_table(f)
        except CsvInputError as exc:
            raise LabelledInputError(str(exc)) from None
        cols = {role: _column(table, role, name) for role, name in given.items()}
        for role in ("answer", "score"):
            if cols[role] is None:
                names = " / ".join(COLUMN_CANDIDATES[role])
                raise LabelledInputError(f"{f}: no {role} column (looked for {names}; name it with --{role}-column)")
        if cols["question_id"] is None and (cols["question"] is None or cols["reference"] is None):
            raise LabelledInputError(f"{f}: needs a question_id column, or question and reference_answer columns")
        for row in table.rows:
            raw = row.get(cols["score"]).strip()
            try:
                human = _score(raw)
            except ValueError:
                raise LabelledInputError(f"{f}:{row.line}: score '{raw}' is not a number") from None
            if math.isnan(human):
                raise LabelledInputError(f"{f}:{row.line}: score is NaN")
            out.append(
                LabelledRow(
                    question_id=row.get(cols["question_id"]).strip(),
                    question=row.get(cols["question"]).strip(),
                    reference=row.get(cols["reference"]).strip(),
                    answer=row.get(cols["answer"]),
                    human=human,
                    line=row.line,
                )
            )
            if limit is not None and len(out) >= limit:
                return out
    return out


def _same(text: str) -> str:
    return " ".join(nfc(text).split())


def _texts(bilingual: Any) -> set[str]:
    if bilingual is None:
        return set()
    return {_same(t) for t in (bilingual.vi, bilingual.en) if t}


def rubrics_for_rows(
    rows: Sequence[LabelledRow], rubrics: Sequence[Rubric] = (), *, optional: Sequence[Rubric] = ()
) -> tuple[list[Rubric], list[str]]:
    """The rubric set for ``rows`` and each row's rubric id.

    A row is graded with a rubric of ``rubrics`` when its question id names one,
    or when the row's question and reference are that rubric's question and model
    answer (a rubric drafted earlier, e.g. saved by ``grader calibrate
    --save-rubrics``, whose id is the question id made valid). ``optional``
    rubrics (e.g. the bundled ones) all join the set once a row without a
    reference names one of them. Other rows need a question and a reference
    answer and get a rubric drafted with :func:`~grader.drafting.rubric_from_reference`, one per
    distinct question and reference; its id is the row's question id made valid
    (``EM_45b`` → ``em_45b``, ``10.1`` → ``q_10_1``; a suffix when taken), or one
    derived from the question.
    """
    known = {r.id: r for r in rubrics}
    spare = {r.id: r for r in optional if r.id not in known}
    by_text: dict[tuple[str, str], str] = {}
    for r in rubrics:
        for q in _texts(r.question):
            for a in _texts(r.model_answer):
                by_text.setdefault((q, a), r.id)
    drafted: dict[tuple[str, str], str] = {}
    out: list[Rubric] = list(rubrics)
    used = set(known) | set(spare)
    ids: list[str] = []
    for row in rows:
        has_ref = bool(row.question and row.reference)
        if row.question_id and resolve_question_id(row.question_id, spare) and not has_ref:
            # the whole optional set joins, as a grader built on it (e.g. Grader.default()) would have it
            known.update(spare)
            out.extend(spare.values())
            spare = {}
        key = (_same(row.question), _same(row.reference))
        named = resolve_question_id(row.question_id, known) if row.question_id else None  # the one id rule
        if named is not None and has_ref and row.question_id.strip() != named and by_text.get(key) != named:
            # only the id made valid meets it (EM_45b -> em_45b), and the row brings another question or
            # reference: that is a question of its own, not the rubric drafted for the first reference
            named = None
        if named is not None:
            ids.append(named)
            continue
        if key in by_text:
            ids.append(by_text[key])
            continue
        if not has_ref and row.question_id and sanitize_id(row.question_id) in known:
            ids.append(sanitize_id(row.question_id))
            continue
        if key not in drafted:
            if not has_ref:
                raise LabelledInputError(
                    f"line {row.line}: question id '{row.question_id}' has no rubric, and the row has no question and reference answer to draft one"
                )
            base = sanitize_id(row.question_id) if row.question_id else draft_id(row.question)
            rid, n = base, 1
            while rid in used:
                n += 1
                rid = f"{base[:60]}_{n}"
            used.add(rid)
            out.append(rubric_from_reference(row.question, row.reference, id=rid))
            drafted[key] = rid
        ids.append(drafted[key])
    return out, ids


GraderLike = Any  # a Grader, an Encoder, or a callable(rubrics) -> Grader


def grader_for_rows(
    grader_or_builder: GraderLike, rows: Sequence[LabelledRow], rubrics: Sequence[Rubric] = (), *, optional: Sequence[Rubric] = ()
) -> tuple[Grader, list[str]]:
    """A grader that knows every row's question, and each row's question id in it.

    ``grader_or_builder`` is a :class:`Grader` (used as is when it knows every
    question; otherwise its encoder and parameters grade the drafted rubrics),
    an encoder, or a callable that builds a grader from a rubric list.
    """
    if isinstance(grader_or_builder, Grader):
        g = grader_or_builder
        named = [resolve_question_id(row.question_id, g.rubrics) for row in rows]
        base = list(rubrics) or [r for r in g.rubrics.values() if r.id in named]
        if not rubrics and all(q is not None for q in named):
            return g, [q for q in named if q is not None]
        rubric_set, ids = rubrics_for_rows(rows, base, optional=optional)
        return Grader(rubric_set, g.encoder, params=g.params), ids
    rubric_set, ids = rubrics_for_rows(rows, rubrics, optional=optional)
    if hasattr(grader_or_builder, "encode") and hasattr(grader_or_builder, "model_id"):
        return Grader(rubric_set, grader_or_builder), ids
    if callable(grader_or_builder):
        return grader_or_builder(rubric_set), ids
    raise TypeError("expected a Grader, an encoder, or a callable that builds a Grader from rubrics")


def evaluate_labelled(
    grader_or_builder: GraderLike,
    csv_path: str | os.PathLike[str],
    *,
    rubrics: Sequence[Rubric] = (),
    optional_rubrics: Sequence[Rubric] = (),
    calibration: Calibration | None = None,
    plot_path: str | os.PathLike[str] | None = None,
    bins: int = 5,
    title: str = "",
    limit: int | None = None,
    **columns: str | None,
) -> str:
    """Agreement of the grader with the human scores of a labelled CSV, as a Markdown report.

    ``grader_or_builder``, ``rubrics``, ``optional_rubrics``: see :func:`grader_for_rows`
    and :func:`rubrics_for_rows`. ``columns``: the
    ``*_column`` options of :func:`read_labelled`. With ``calibration`` the
    calibrated figures are shown beside the grader's own; with ``plot_path`` a
    calibration plot (predicted vs human) is written there as PNG.
    """
    rows = read_labelled(csv_path, limit=limit, **columns)  # type: ignore[arg-type]
    if not rows:
        raise LabelledInputError(f"{csv_path}: no rows")
    grader, ids = grader_for_rows(grader_or_builder, rows, rubrics, optional=optional_rubrics)
    results = grader.grade_many([(qid, r.answer) for qid, r in zip(ids, rows)])
    human = [r.human for r in rows]
    report = labelled_report(results, human, calibration=calibration, plot_path=plot_path, bins=bins, title=title or Path(csv_path).name, signature=grader.signature)
    if calibration is not None:
        report += "".join(f"\nwarning: {w}" for w in calibration.check(grader.signature_fields))
    return report
