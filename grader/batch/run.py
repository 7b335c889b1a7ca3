"""Batch grading of CSV exports: streaming, complete, resumable.

:func:`grade_csv` reads a CSV export (any encoding and delimiter a spreadsheet or a
hiring tool writes), grades it in bounded chunks (one :meth:`Grader.grade_many` call,
hence one encoder call, per chunk) and writes one output row per input row, in input
order, to a CSV or JSONL file. Memory does not grow with the number of rows.

Output files are written to ``OUTPUT.partial``; each chunk is appended in one write
of whole rows, fsync'd, and then recorded in ``OUTPUT.progress.json`` (rows done,
bytes written, the input's size/mtime/hash prefix, the options and the grader's
signature). On completion ``OUTPUT.partial`` replaces ``OUTPUT`` atomically and the
progress file is removed. After an interruption (Ctrl-C, SIGTERM, kill -9, power
loss) ``resume=True`` truncates ``OUTPUT.partial`` to the recorded size and continues
with the next input row, so the final file has every row exactly once.

For pandas and Dask users: :mod:`grader.batch.frames`. See ``docs/batch.md``.

The input is read with :mod:`grader.csv_in`, rows are graded and rendered by
:mod:`grader.batch.rows` and written through :mod:`grader.batch.sink`. Nothing heavy is
imported at import time (the engine and tqdm are imported when used), so the ``grader``
command stays fast to start.
"""

from __future__ import annotations

import codecs
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.batch.errors import BatchInputError, BatchInterrupted, ResumeError
from grader.batch.rows import QuestionIds, Renderer, Row, clean_cell, grade_rows, precut
from grader.batch.sink import PROGRESS_VERSION, FileSink, StreamSink, input_identity
from grader.batch.summary import BatchSummary
from grader.csv_in import (
    CsvFormat,
    CsvInputError,
    CsvReader,
    Record,
    detect_format,
    find_column,
    has_bad_bytes,
    is_blank,
    lines_read_as_rows,
)

if TYPE_CHECKING:  # pragma: no cover
    from grader.engine import Grader

#: The first chunks are smaller, so that the first rows (and the first checkpoint) come quickly.
FIRST_CHUNK = 1


def _spool_stdin() -> Path:
    """Copy standard input to a temporary file (bounded memory), so it can be sniffed and read like a file."""
    fd, name = tempfile.mkstemp(prefix="grader-batch-", suffix=".csv")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return Path(name)


def _count_records(path: Path, fmt: CsvFormat) -> int | None:
    """Non-blank data records (for the progress bar's total); None if it cannot be counted."""
    try:
        with CsvReader(path, fmt) as reader:
            return sum(1 for rec in reader.records() if not is_blank(rec))
    except Exception:  # noqa: BLE001 - the count is only for the ETA
        return None


def _chunks(records: Iterator[Record], chunk_size: int, first: int = FIRST_CHUNK) -> Iterator[list[Record]]:
    size = max(1, min(first, chunk_size))
    while True:
        chunk = list(islice(records, size))
        if not chunk:
            return
        yield chunk
        size = min(chunk_size, size * 2)


def _resolve_grader(grader: Grader | Callable[[], Grader] | None) -> Grader:
    if grader is None:
        from grader.engine import Grader

        return Grader.default()
    if callable(grader) and not hasattr(grader, "grade_many"):
        return grader()
    return grader  # type: ignore[return-value]


def grade_csv(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    grader: Grader | Callable[[], Grader] | None = None,
    *,
    question_column: str = "question_id",
    answer_column: str = "answer",
    id_column: str | None = None,
    fmt: str = "csv",
    resume: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    chunk_size: int = 256,
    progress: bool = False,
    feedback_language: str | None = None,
    bom: bool | None = None,
) -> BatchSummary:
    """Grade every row of a CSV export and write one output row per input row, in order.

    ``input_path`` / ``output_path`` may be ``"-"`` (standard input / output; no resume then).
    ``grader`` is a :class:`Grader`, a function that makes one (called after the header is checked,
    so a wrong column name fails fast), or None for :meth:`Grader.default`. ``fmt`` is ``"csv"`` or
    ``"jsonl"``. ``bom`` writes a UTF-8 BOM at the start of a CSV file (default: for files, not for
    standard output) so that Excel shows Vietnamese correctly. ``chunk_size`` rows are graded per
    model call; memory stays bounded by it.

    Raises :class:`BatchInputError` (unreadable input, missing column, bad option),
    :class:`ResumeError` (the saved progress belongs to another input, options or grader) and
    :class:`BatchInterrupted` (a KeyboardInterrupt; the output so far is kept for ``resume=True``).
    """
    if fmt not in ("csv", "jsonl"):
        raise BatchInputError(f"unknown output format {fmt!r} (use csv or jsonl)")
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise BatchInputError(f"the chunk size must be at least 1, not {chunk_size!r} (give a positive number of rows)")
    if feedback_language not in (None, "vi", "en"):
        raise BatchInputError(f"unknown feedback language {feedback_language!r} (use vi, en, or none for each answer's own)")
    started = time.perf_counter()
    from_stdin = str(input_path) == "-"
    to_stdout = str(output_path) == "-"
    if resume and (from_stdin or to_stdout):
        raise BatchInputError("--resume needs an input file and an output file (name files, not '-')")
    if from_stdin:
        path = _spool_stdin()
    else:
        path = Path(input_path)
        if not path.is_file():
            raise BatchInputError(f"no such input file: {path} (check the path)")
    try:
        if not to_stdout:
            out = Path(output_path)
            if not out.parent.is_dir():
                raise BatchInputError(f"the output folder {out.parent} does not exist (create it, or write elsewhere)")
            if out.is_dir():
                raise BatchInputError(f"the output {out} is a folder (name a file)")
            if not from_stdin and out.exists() and out.resolve() == path.resolve():
                raise BatchInputError("the output file is the input file (write the results to another file)")
        return _grade_csv(
            path,
            input_name="<stdin>" if from_stdin else str(input_path),
            output=None if to_stdout else Path(output_path),
            grader=grader,
            question_column=question_column,
            answer_column=answer_column,
            id_column=id_column,
            fmt=fmt,
            resume=resume,
            encoding=encoding,
            delimiter=delimiter,
            chunk_size=chunk_size,
            progress=progress,
            feedback_language=feedback_language,
            bom=(not to_stdout) if bom is None else bom,
            started=started,
        )
    finally:
        if from_stdin:
            path.unlink(missing_ok=True)


def _grade_csv(
    path: Path,
    *,
    input_name: str,
    output: Path | None,
    grader: Grader | Callable[[], Grader] | None,
    question_column: str,
    answer_column: str,
    id_column: str | None,
    fmt: str,
    resume: bool,
    encoding: str | None,
    delimiter: str | None,
    chunk_size: int,
    progress: bool,
    feedback_language: str | None,
    bom: bool,
    started: float,
) -> BatchSummary:
    required = [question_column, answer_column] + ([id_column] if id_column else [])
    try:
        csv_format = detect_format(path, encoding=encoding, delimiter=delimiter, required=required)
        reader = CsvReader(path, csv_format)
    except CsvInputError as exc:
        raise BatchInputError(str(exc)) from None
    except OSError as exc:
        raise BatchInputError(f"cannot read {input_name}: {exc.strerror or exc} (check the path and its permissions)") from None
    sink: FileSink | StreamSink | None = None
    bar = None
    summary: BatchSummary | None = None
    try:
        header = reader.header
        if not header:
            raise BatchInputError(f"{input_name} is empty: no header row (export the table with its header)")
        cols: dict[str, int] = {}
        for name, flag in ((question_column, "question-column"), (answer_column, "answer-column"), (id_column, "id-column")):
            if name is None:
                continue
            i = find_column(header, name)
            if i is None:
                found = ", ".join(repr(h) for h in header[:40]) + (", ..." if len(header) > 40 else "")
                raise BatchInputError(
                    f"no '{name}' column in {input_name} (columns found with delimiter {csv_format.delimiter!r}: {found}); "
                    f"name it with --{flag}"
                )
            cols[flag] = i
        if cols["question-column"] == cols["answer-column"]:
            raise BatchInputError("the question column and the answer column are the same column (name them with --question-column and --answer-column)")
        qi, ai, ii = cols["question-column"], cols["answer-column"], cols.get("id-column")

        g = _resolve_grader(grader)
        questions = QuestionIds(g)
        renderer = Renderer(header, fmt)
        options = {
            "question_column": question_column,
            "answer_column": answer_column,
            "id_column": id_column,
            "format": fmt,
            "encoding": csv_format.encoding,
            "delimiter": csv_format.delimiter,
            "feedback_language": feedback_language,
            "bom": bom,
            "header": header,
            "signature": g.signature,
        }
        summary = BatchSummary(
            input=input_name,
            output=str(output) if output is not None else "<stdout>",
            format=fmt,
            encoding=csv_format.encoding,
            delimiter=csv_format.delimiter,
            signature=g.signature,
        )
        records_done = 0
        if output is None:
            sink = StreamSink(sys.stdout.buffer)
            sink.append(renderer.head().encode("utf-8"))
        else:
            sink = FileSink(output)
            identity = input_identity(path)
            state = sink.load_progress() if resume else None
            if state is not None and not sink.partial.exists():
                state = None  # finished (renamed) just before the progress file was removed: start over
            if state is not None:
                _check_resume(state, identity, options, sink)
                sink.reopen(int(state["bytes_written"]))
                records_done = int(state["records_done"])
                prev = BatchSummary.from_dict(state["summary"])
                summary.rows, summary.ok, summary.errors = prev.rows, prev.ok, prev.errors
                summary.blank_skipped, summary.error_kinds = prev.blank_skipped, prev.error_kinds
                summary.per_question, summary.first_errors = prev.per_question, prev.first_errors
                summary.resumed_rows = prev.rows
            else:
                head = renderer.head().encode("utf-8")
                sink.start((codecs.BOM_UTF8 if bom and fmt == "csv" else b"") + head)
                sink.checkpoint(_state(identity, options, 0, sink.size, summary))

        records = reader.records()
        if records_done:
            for _ in islice(records, records_done):
                pass
        if progress:
            bar = _progress_bar(_count_records(path, csv_format), summary.rows)

        cut = precut()
        nheader = len(header)
        run_started = time.perf_counter()
        for chunk in _chunks(records, chunk_size):
            rows: list[Row] = []
            for rec in chunk:
                if is_blank(rec):
                    summary.blank_skipped += 1
                    continue
                rows.append(_make_row(rec, summary.rows + len(rows) + 1, nheader, qi, ai, ii, header, questions, cut, csv_format.delimiter))
            grade_rows(g, rows, feedback_language)
            sink.append(renderer.render(rows).encode("utf-8"))  # whole rows, one write, fsync'd
            for r in rows:
                summary.add(r)
            summary.graded_this_run += len(rows)
            records_done += len(chunk)
            if isinstance(sink, FileSink):
                summary.seconds = time.perf_counter() - run_started
                sink.checkpoint(_state(identity, options, records_done, sink.size, summary))
            if bar is not None:
                bar.update(len(rows))
        summary.seconds = time.perf_counter() - run_started
        sink.finish()
        return summary
    except KeyboardInterrupt:
        partial = progress_file = None
        if isinstance(sink, FileSink) and sink.size:
            partial, progress_file = str(sink.partial), str(sink.progress)
        raise BatchInterrupted(summary.rows if summary else 0, partial, progress_file) from None
    finally:
        if bar is not None:
            bar.close()
        if sink is not None:
            sink.close()
        reader.close()


def _make_row(
    rec: Record,
    index: int,
    nheader: int,
    qi: int,
    ai: int,
    ii: int | None,
    header: list[str],
    questions: QuestionIds,
    precut: int,
    delimiter: str = ",",
) -> Row:
    if rec.cells is None:
        return Row(index, rec.line, [""] * nheader, error=rec.problem, error_kind="unreadable_record")
    cells = rec.cells
    n = len(cells)
    row = Row(index, rec.line, (cells + [""] * (nheader - n))[:nheader])
    if ii is not None and ii < n:
        row.row_id = clean_cell(cells[ii]).strip()
    if any(has_bad_bytes(c) for c in cells):
        row.error = "the row has bytes that are not valid text in the input's encoding (fix the row, or pass --encoding if the file is in another one)"
        row.error_kind = "undecodable"
        return row
    swallowed = lines_read_as_rows(cells, rec.line, delimiter, qi, lambda q: questions.resolve(q) is not None)
    if swallowed:
        row.error = (
            f"a quote opened on line {rec.line} is never closed: it swallowed line(s) {_spans(swallowed)} "
            f"into this row (they read as rows of their own); close the quote, and write a quote inside a quoted cell twice (\"\")"
        )
        row.error_kind = "swallowed_rows"
        return row
    if n < nheader:
        missing = ", ".join(header[n:][:5]) + (", ..." if nheader - n > 5 else "")
        row.error, row.error_kind = f"the row has {n} cell(s) but the header has {nheader} (missing: {missing})", "missing_cells"
        return row
    if n > nheader and any(c.strip() for c in cells[nheader:]):
        row.error = f"the row has {n} cells but the header has {nheader} (an unquoted delimiter inside a cell?)"
        row.error_kind = "extra_cells"
        return row
    qid = cells[qi].strip()
    if not qid:
        row.error, row.error_kind = "empty question id", "empty_question_id"
        return row
    resolved = questions.resolve(qid)
    if resolved is None:
        row.error, row.error_kind = questions.unknown(qid), "unknown_question"
        return row
    row.question_id = resolved
    row.answer = cells[ai][:precut]
    return row


def _spans(lines: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    out: list[str] = []
    start = prev = lines[0]
    for n in [*lines[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}-{prev}" if prev > start else str(start))
        if n is not None:
            start = prev = n
    return ", ".join(out)


def _state(identity: dict[str, Any], options: dict[str, Any], records_done: int, size: int, summary: BatchSummary) -> dict[str, Any]:
    return {
        "version": PROGRESS_VERSION,
        "input": identity,
        "options": options,
        "records_done": records_done,
        "rows_done": summary.rows,
        "bytes_written": size,
        "summary": summary.to_dict(),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _check_resume(state: dict[str, Any], identity: dict[str, Any], options: dict[str, Any], sink: FileSink) -> None:
    old = state.get("input", {})
    for key, what in (("size", "size"), ("head_sha256", "content"), ("mtime_ns", "modification time")):
        if old.get(key) != identity[key]:
            raise ResumeError(
                f"cannot resume: the input's {what} changed since {sink.partial} was started "
                f"({old.get('path')}); rerun without --resume to start over"
            )
    old_opts = state.get("options", {})
    for key, value in options.items():
        if old_opts.get(key) != value:
            raise ResumeError(
                f"cannot resume: option '{key}' was {old_opts.get(key)!r} and is now {value!r}; "
                "rerun with the same options, or without --resume to start over"
            )


def _progress_bar(total: int | None, initial: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the model extra
        return None
    return tqdm(total=total, initial=initial, unit="row", file=sys.stderr, dynamic_ncols=True, smoothing=0.1, desc="grading")
