"""Batch grading for pandas and Dask: :func:`grade_dataframe`, and :func:`grade_partition` (a pure
per-chunk function for ``dask.dataframe.map_partitions``) with its ``meta`` and a CSV writer that
writes the cells ``grader batch`` writes. pandas is imported when used.
"""

from __future__ import annotations

import codecs
import math
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.batch.errors import BatchInputError
from grader.batch.rows import RESULT_COLUMNS, QuestionIds, Renderer, Row, grade_rows, output_columns, precut
from grader.batch.sink import FileSink

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from grader.engine import Grader


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("grade_dataframe / grade_partition need pandas: pip install pandas") from None
    return pd


@lru_cache(maxsize=4)
def cached_grader(rubrics: tuple[str, ...] | None = None, model: str = "bundled") -> Grader:
    """One Grader per process for (rubric paths, model): what a Dask worker uses when ``grader`` is None."""
    from grader.engine import Grader

    if rubrics:
        return Grader.from_path(list(rubrics), model=model)
    return Grader.default(model=model)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ in ("NAType", "NaTType")


def _result_frame(pd: Any, fields: Sequence[dict[str, Any]], index: Any, names: Sequence[str]) -> Any:
    data: dict[str, Any] = {}
    for col, name in zip(RESULT_COLUMNS, names):
        if col in ("score", "mark"):
            data[name] = pd.Series([math.nan if f[col] is None else float(f[col]) for f in fields], index=index, dtype="float64")
        else:
            data[name] = pd.Series([str(f[col]) for f in fields], index=index, dtype=object)
    return pd.DataFrame(data, index=index)


def grade_partition(
    df: pd.DataFrame,
    grader: Grader | None = None,
    *,
    question_column: str = "question_id",
    answer_column: str = "answer",
    feedback_language: str | None = None,
    rubrics: Sequence[str] | None = None,
    model: str = "bundled",
) -> pd.DataFrame:
    """Grade one DataFrame chunk (one ``grade_many`` call): ``df`` with the result columns appended.

    Pure and picklable, for ``dask.dataframe.map_partitions``: when ``grader`` is None each process
    builds one :func:`cached_grader` for ``rubrics``/``model`` and reuses it. ``score`` and ``mark``
    are floats (NaN for error rows); the other result columns are text, as in the CSV output.
    Missing cells (None/NaN) in the question or answer column make error rows.
    """
    pd = _pandas()
    for name in (question_column, answer_column):
        if name not in df.columns:
            raise BatchInputError(f"no '{name}' column in the DataFrame (columns: {', '.join(map(str, df.columns))})")
    g = grader if grader is not None else cached_grader(tuple(rubrics) if rubrics else None, model)
    questions = QuestionIds(g)
    cut = precut()
    rows: list[Row] = []
    for i, (q, a) in enumerate(zip(df[question_column].tolist(), df[answer_column].tolist())):
        row = Row(i + 1, 0, [])
        if _is_missing(q) or not str(q).strip():
            row.error, row.error_kind = ("missing question id" if _is_missing(q) else "empty question id"), "empty_question_id"
        elif _is_missing(a):
            row.error, row.error_kind = "missing answer cell", "missing_cells"
        else:
            resolved = questions.resolve(str(q).strip())
            if resolved is None:
                row.error, row.error_kind = questions.unknown(str(q).strip()), "unknown_question"
            else:
                row.question_id, row.answer = resolved, str(a)[:cut]
        rows.append(row)
    grade_rows(g, rows, feedback_language)
    names = output_columns([str(c) for c in df.columns])
    res = _result_frame(pd, [r.fields for r in rows], df.index, names)
    return pd.concat([df, res], axis=1)


def partition_meta(df: pd.DataFrame) -> pd.DataFrame:
    """The (empty) frame :func:`grade_partition` returns for ``df``'s columns: Dask's ``meta``."""
    pd = _pandas()
    empty = df.iloc[:0]
    names = output_columns([str(c) for c in df.columns])
    return pd.concat([empty, _result_frame(pd, [], empty.index, names)], axis=1)


def grade_dataframe(
    df: pd.DataFrame,
    grader: Grader | None = None,
    *,
    question_column: str = "question_id",
    answer_column: str = "answer",
    feedback_language: str | None = None,
    chunk_size: int = 256,
) -> pd.DataFrame:
    """Grade a DataFrame: a copy with the result columns appended (see :func:`grade_partition`), in chunks."""
    pd = _pandas()
    g = grader if grader is not None else cached_grader(None, "bundled")
    parts = [
        grade_partition(df.iloc[i : i + chunk_size], g, question_column=question_column, answer_column=answer_column,
                        feedback_language=feedback_language)
        for i in range(0, len(df), chunk_size)
    ]  # fmt: skip
    return pd.concat(parts) if parts else partition_meta(df)


def write_frames_csv(frames: Iterable[pd.DataFrame], output_path: str | os.PathLike[str], *, bom: bool = True) -> int:
    """Write graded frames (from :func:`grade_partition`) as ``grader batch`` would: same cells, neutralised formulas.

    Each frame's input columns are written as text (missing cells empty). Written, frame by frame, to
    ``OUTPUT.partial`` (the sink ``grader batch`` writes through) and renamed on completion. Returns
    the number of rows written.
    """
    sink = FileSink(Path(output_path))
    renderer: Renderer | None = None
    n = 0
    try:
        for df in frames:
            cols = [str(c) for c in df.columns]
            k = len(cols) - len(RESULT_COLUMNS)
            if renderer is None:
                renderer = Renderer(cols[:k], "csv")
                sink.start((codecs.BOM_UTF8 if bom else b"") + renderer.head().encode("utf-8"))
            rows = []
            for values in df.itertuples(index=False, name=None):
                cells = ["" if _is_missing(v) else str(v) for v in values[:k]]
                fields = dict(zip(RESULT_COLUMNS, values[k:]))
                rows.append(Row(0, 0, cells, fields={f: (None if _is_missing(v) else v) for f, v in fields.items()}))
            sink.append(renderer.render(rows).encode("utf-8"))
            n += len(rows)
        if renderer is None:
            raise BatchInputError("no frames to write")
        sink.finish()
    finally:
        sink.close()
    return n
