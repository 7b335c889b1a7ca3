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

For pandas and Dask users: :func:`grade_dataframe` and :func:`grade_partition` (a pure
per-chunk function usable with ``dask.dataframe.map_partitions``). See ``docs/batch.md``.

This module imports nothing heavy at import time (the engine, pandas and tqdm are
imported when used), so the ``grader`` command stays fast to start.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from grader.engine import Grader
    from grader.result import GradeResult

__all__ = [
    "RESULT_COLUMNS",
    "BatchError",
    "BatchInputError",
    "BatchInterrupted",
    "BatchSummary",
    "CsvFormat",
    "ResumeError",
    "cached_grader",
    "detect_format",
    "grade_csv",
    "grade_dataframe",
    "grade_partition",
    "neutralise",
    "output_columns",
    "partition_meta",
    "write_frames_csv",
]

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
#: How much of the input the encoding and delimiter detection look at.
SAMPLE_BYTES = 1 << 20
#: Answers are cut to this many characters before analysis (the engine cuts at MAX_ANSWER_CHARS and
#: flags ``truncated``; cutting a 10 MB cell first saves normalising all of it). NFC can shorten
#: decomposed Vietnamese text about threefold, so the margin keeps the engine's cut where it would be.
PRECUT_FACTOR = 4
#: csv's per-field limit (its default, 128 KiB, would reject a long pasted answer).
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
#: The first chunks are smaller, so that the first rows (and the first checkpoint) come quickly.
FIRST_CHUNK = 1
PROGRESS_VERSION = 1
_GUARD_FLAGS = frozenset({"empty", "copies_question", "off_topic"})
_BAD_BYTES = re.compile("[\udc00-\udcff]")
_SPACES = re.compile(r"\s+")
_BAD_HANDLER = "grader-batch-mark"


def _mark_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: each undecodable byte becomes a lone surrogate U+DC00+byte (found again per row)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_BAD_HANDLER, _mark_bad_bytes)


class BatchError(Exception):
    """A batch cannot run (bad input, options, or resume state)."""


class BatchInputError(BatchError, ValueError):
    """The input cannot be graded as asked: unreadable file, missing column, bad option."""


class ResumeError(BatchError):
    """``resume=True`` but the saved progress does not belong to this input, options or grader."""


class BatchInterrupted(KeyboardInterrupt):
    """Grading was interrupted; the output so far is saved and ``resume=True`` continues it."""

    def __init__(self, rows_done: int, partial: str | None, progress: str | None):
        super().__init__(rows_done, partial, progress)
        self.rows_done = rows_done
        self.partial = partial
        self.progress = progress

    def __str__(self) -> str:
        where = f" (saved in {self.partial})" if self.partial else ""
        return f"interrupted after {self.rows_done} row(s){where}"


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would not execute: formulas (``=``, ``+``, ``-``, ``@``, tab, CR first) get a ``'`` prefix."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _clean(cell: str) -> str:
    """Undecodable bytes (marked as lone surrogates) become U+FFFD."""
    return _BAD_BYTES.sub("\ufffd", cell) if _BAD_BYTES.search(cell) else cell


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
    if _GUARD_FLAGS.intersection(result.flags):
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


def _format_fields(fields: dict[str, Any]) -> list[str]:
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
# detecting the input's encoding and delimiter
# ---------------------------------------------------------------------------

_LEGACY_ENCODINGS = [
    "cp1252", "cp1258", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "latin_1", "iso8859_15", "iso8859_2", "mac_roman", "cp437", "cp850", "koi8_r",
    "shift_jis", "cp932", "euc_jp", "gb18030", "big5", "euc_kr", "cp949",
]  # fmt: skip
_SINGLE_BYTE_LATIN = {"cp1252", "cp1250", "cp1257", "latin_1", "iso8859_15", "iso8859_2", "mac_roman", "cp1254", "cp437", "cp850"}
_VI_MARKS = {"\u031b", "\u0306", "\u0323", "\u0309"}  # horn, breve, dot below, hook above


@dataclass(frozen=True)
class CsvFormat:
    """How an input file is read."""

    encoding: str
    delimiter: str

    @property
    def nfc(self) -> bool:
        """cp1258 writes Vietnamese tones as combining marks: its cells are NFC-normalised."""
        return codecs.lookup(self.encoding).name == "cp1258"


def _vietnamese_letters(text: str) -> int:
    n = 0
    for ch in text:
        if ch in "đĐ":
            n += 1
        elif ord(ch) > 0x7F and ch.isalpha():
            d = unicodedata.normalize("NFD", ch)
            n += any(m in _VI_MARKS for m in d) or len(d) > 2
    return n


def _looks_vietnamese_cp1258(sample: bytes) -> bool:
    text = unicodedata.normalize("NFC", sample.decode("cp1258", errors="replace"))
    letters = [c for c in text if ord(c) > 0x7F and c.isalpha()]
    vi = _vietnamese_letters(text)
    return vi >= 3 and vi >= 0.3 * len(letters)


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """The encoding of a CSV file: a BOM's, else UTF-8 if (nearly) all of the file is valid UTF-8, else charset-normalizer's guess.

    A file that is UTF-8 but for a few broken rows is read as UTF-8; those rows become error rows.
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            return "utf-32"
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")(errors=_BAD_HANDLER)
        bad = good = 0
        sample = b""
        while block := fh.read(1 << 20):
            if len(sample) < SAMPLE_BYTES:
                sample += block[: SAMPLE_BYTES - len(sample)]
            text = decoder.decode(block)
            bad += len(_BAD_BYTES.findall(text))
            good += len(block) - len(text)  # continuation bytes of valid multi-byte characters (about)
        text = decoder.decode(b"", final=True)
        bad += len(_BAD_BYTES.findall(text))
    if bad == 0 or good >= 4 * bad:
        return "utf-8"
    try:
        import charset_normalizer
    except ImportError:  # pragma: no cover - charset-normalizer is in the model extra
        return "cp1252"
    matches = charset_normalizer.from_bytes(sample, cp_isolation=_LEGACY_ENCODINGS)
    best = matches.best()
    if best is None:
        return "utf-8"  # undecodable rows become error rows rather than silent mojibake
    enc = codecs.lookup(best.encoding).name
    if enc in _SINGLE_BYTE_LATIN and _looks_vietnamese_cp1258(sample):
        return "cp1258"
    if enc in _SINGLE_BYTE_LATIN and enc != "cp1252":
        # On small samples the Windows-125x family scores alike; the Western one is the likely export.
        for m in matches:
            if codecs.lookup(m.encoding).name == "cp1252" and m.chaos <= best.chaos + 0.02 and m.coherence >= best.coherence - 0.02:
                return "cp1252"
    return enc


def _read_sample(path: str | os.PathLike[str], encoding: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw)
    return text.lstrip("\ufeff")


def _first_record(sample: str, delimiter: str) -> list[str]:
    try:
        for rec in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if any(c.strip() for c in rec):
                return rec
    except csv.Error:
        pass
    return []


def detect_delimiter(sample: str, required: Sequence[str] = ()) -> str:
    """The delimiter among ``, ; TAB |`` whose header holds the required columns; csv.Sniffer breaks ties."""
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        sniffed = None
    best, best_key = ",", (-1, -1, -1)
    for d in (",", ";", "\t", "|"):
        header = _first_record(sample, d)
        found = sum(_find_column(header, name) is not None for name in required)
        key = (found, int(d == sniffed), len(header))
        if key > best_key:
            best, best_key = d, key
    return best


def detect_format(
    path: str | os.PathLike[str], *, encoding: str | None = None, delimiter: str | None = None, required: Sequence[str] = ()
) -> CsvFormat:
    """Encoding and delimiter of a CSV file (either can be forced)."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise BatchInputError(f"unknown encoding '{encoding}'") from None
    enc = encoding or detect_encoding(path)
    if delimiter:
        delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise BatchInputError(f"the delimiter must be one character, not {delimiter!r}")
    return CsvFormat(enc, delimiter or detect_delimiter(_read_sample(path, enc), required))


def _find_column(header: Sequence[str], name: str) -> int | None:
    """Index of column ``name``: an exact match, else the first match ignoring case and surrounding spaces."""
    if name in header:
        return list(header).index(name)
    key = name.strip().casefold()
    for i, h in enumerate(header):
        if h.strip().casefold() == key:
            return i
    return None


# ---------------------------------------------------------------------------
# reading rows
# ---------------------------------------------------------------------------


@dataclass
class _Record:
    """One CSV record: ``cells`` as parsed (None for an unparseable record), its first line."""

    line: int
    cells: list[str] | None
    problem: str = ""


class _Reader:
    """A CSV file opened for streaming: the header, then records with their line numbers."""

    def __init__(self, path: str | os.PathLike[str], fmt: CsvFormat):
        self.fmt = fmt
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._text = io.TextIOWrapper(self._fh, encoding=fmt.encoding, errors=_BAD_HANDLER, newline="")
        csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))
        self._csv = csv.reader(self._text, delimiter=fmt.delimiter)
        self._line = 0
        self.header: list[str] = []
        self.header_line = 0
        for rec in self._records():
            if rec.cells is not None and any(c.strip() for c in rec.cells):
                self.header = [_clean(c).lstrip("\ufeff") for c in rec.cells]
                self.header_line = rec.line
                break

    def _records(self) -> Iterator[_Record]:
        while True:
            start = self._line + 1
            try:
                cells = next(self._csv)
            except StopIteration:
                return
            except csv.Error as exc:
                self._line = self._csv.line_num
                yield _Record(start, None, f"unreadable CSV record: {exc}")
                continue
            except UnicodeError as exc:  # pragma: no cover - the error handler marks bad bytes instead
                self._line = self._csv.line_num
                yield _Record(start, None, f"undecodable record: {exc}")
                continue
            self._line = self._csv.line_num
            if self.fmt.nfc:
                cells = [unicodedata.normalize("NFC", c) for c in cells]
            yield _Record(start, cells)

    def records(self) -> Iterator[_Record]:
        """The records after the header (blank records included: the caller skips them)."""
        return self._records()

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_blank(rec: _Record) -> bool:
    return rec.cells is not None and not any(c.strip() for c in rec.cells)


# ---------------------------------------------------------------------------
# grading rows
# ---------------------------------------------------------------------------


@dataclass
class _Row:
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


class _Questions:
    """Resolves question ids: exact, else ignoring case and surrounding spaces."""

    def __init__(self, grader: Grader):
        self.known = list(grader.rubrics)
        self._exact = set(self.known)
        self._folded: dict[str, str] = {}
        for q in self.known:
            self._folded.setdefault(q.strip().casefold(), q)

    def resolve(self, qid: str) -> str | None:
        if qid in self._exact:
            return qid
        return self._folded.get(qid.strip().casefold())

    def unknown(self, qid: str) -> str:
        known = ", ".join(self.known[:30]) + (", ..." if len(self.known) > 30 else "")
        shown = qid if len(qid) <= 60 else qid[:57] + "..."
        return f"unknown question id '{shown}' (known: {known})"


@lru_cache(maxsize=1)
def _precut() -> int:
    from grader.analysis import MAX_ANSWER_CHARS

    return MAX_ANSWER_CHARS * PRECUT_FACTOR


def _grade_rows(grader: Grader, rows: Sequence[_Row], feedback_language: str | None) -> None:
    """Grade the rows without an error with one ``grade_many`` call; fill every row's fields."""
    todo = [r for r in rows if not r.error]
    results: list[GradeResult | Exception]
    if todo:
        items = [(r.question_id, r.answer[: _precut()]) for r in todo]
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
# summary
# ---------------------------------------------------------------------------


@dataclass
class QuestionStats:
    """Graded rows of one question and their mean score."""

    rows: int = 0
    score_sum: float = 0.0

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.rows if self.rows else float("nan")


@dataclass
class BatchSummary:
    """What a batch run did. ``exit_code`` is 0 when every row was graded, else 1."""

    input: str
    output: str
    format: str
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    ok: int = 0
    errors: int = 0
    blank_skipped: int = 0
    resumed_rows: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    per_question: dict[str, QuestionStats] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    graded_this_run: int = 0
    signature: str = ""

    MAX_LISTED_ERRORS = 10

    @property
    def rows_per_second(self) -> float:
        return self.graded_this_run / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def add(self, row: _Row) -> None:
        self.rows += 1
        if row.error:
            self.errors += 1
            self.error_kinds[row.error_kind] = self.error_kinds.get(row.error_kind, 0) + 1
            if len(self.first_errors) < self.MAX_LISTED_ERRORS:
                rid = f", id {row.row_id}" if row.row_id else ""
                self.first_errors.append(f"row {row.index} (line {row.line}{rid}): {row.error}")
        else:
            self.ok += 1
            assert row.result is not None
            st = self.per_question.setdefault(row.result.question_id, QuestionStats())
            st.rows += 1
            st.score_sum += row.result.score

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["per_question"] = {q: {"rows": s.rows, "score_sum": s.score_sum} for q, s in self.per_question.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BatchSummary:
        d = dict(d)
        d["per_question"] = {q: QuestionStats(**s) for q, s in d.get("per_question", {}).items()}
        return cls(**d)

    def to_text(self) -> str:
        """The summary printed on stderr by ``grader batch``."""
        resumed = f" ({self.resumed_rows} from an earlier run)" if self.resumed_rows else ""
        blank = f", {self.blank_skipped} blank skipped" if self.blank_skipped else ""
        lines = [
            f"{self.rows} row(s){resumed}: {self.ok} ok, {self.errors} error(s){blank}; "
            f"{self.graded_this_run} graded in {self.seconds:.1f} s ({self.rows_per_second:.1f} rows/s)"
        ]
        if self.error_kinds:
            kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.error_kinds.items(), key=lambda x: -x[1]))
            lines.append(f"errors: {kinds}")
            lines += [f"  {e}" for e in self.first_errors]
            if self.errors > len(self.first_errors):
                lines.append(f"  ... and {self.errors - len(self.first_errors)} more (status=error in the output)")
        if self.per_question:
            means = ", ".join(
                f"{q} {s.mean_score:.2f} (n={s.rows})" for q, s in sorted(self.per_question.items(), key=lambda x: _qkey(x[0]))
            )
            lines.append(f"mean score per question: {means}")
        lines.append(f"output: {self.output} ({self.format})")
        return "\n".join(lines)


def _qkey(qid: str) -> tuple[str, int, str]:
    m = re.match(r"(\D*)(\d+)(.*)", qid)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (qid, 0, "")


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


class _Renderer:
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
        if self.fmt != "csv":
            return ""
        return self._csv([[neutralise(_clean(c)) for c in [*self.header, *self.result_names]]])

    @staticmethod
    def _csv(rows: Iterable[Sequence[str]]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue()

    def render(self, rows: Sequence[_Row]) -> str:
        if self.fmt == "csv":
            return self._csv([neutralise(_clean(c)) for c in [*r.cells, *_format_fields(r.fields)]] for r in rows)
        lines = []
        for r in rows:
            obj = {
                "row": r.index,
                "line": r.line,
                "id": r.row_id or None,
                "status": r.fields["status"],
                "error": r.fields["error"] or None,
                "input": {k: _clean(c) for k, c in zip(self.keys, r.cells)},
                "result": r.result.model_dump(mode="json") if r.result is not None else None,
            }
            lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
        return "".join(lines)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    data = (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _input_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    return {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "head_sha256": hashlib.sha256(head).hexdigest(),
    }


class _FileSink:
    """``OUTPUT.partial`` + ``OUTPUT.progress.json``; renamed to ``OUTPUT`` when complete."""

    def __init__(self, output: Path):
        self.output = output
        self.partial = output.with_name(output.name + ".partial")
        self.progress = output.with_name(output.name + ".progress.json")
        self.fd = -1
        self.size = 0

    def load_progress(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.progress.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ResumeError(f"cannot resume: {self.progress} is unreadable ({exc}); rerun without --resume") from None
        if not isinstance(state, dict) or state.get("version") != PROGRESS_VERSION:
            raise ResumeError(f"cannot resume: {self.progress} was written by another version; rerun without --resume")
        return state

    def start(self, head: bytes) -> None:
        self.progress.unlink(missing_ok=True)
        self.fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.size = 0
        self.append(head)

    def reopen(self, size: int) -> None:
        try:
            actual = self.partial.stat().st_size
        except FileNotFoundError:
            raise ResumeError(f"cannot resume: {self.partial} is missing; rerun without --resume") from None
        if actual < size:
            raise ResumeError(
                f"cannot resume: {self.partial} has {actual} bytes but {size} were recorded as written; rerun without --resume"
            )
        self.fd = os.open(self.partial, os.O_WRONLY)
        os.ftruncate(self.fd, size)  # drop rows written after the last checkpoint (a half-written chunk)
        os.lseek(self.fd, size, os.SEEK_SET)
        os.fsync(self.fd)
        self.size = size

    def append(self, data: bytes) -> None:
        if data:
            _write_all(self.fd, data)
            os.fsync(self.fd)
            self.size += len(data)

    def checkpoint(self, state: dict[str, Any]) -> None:
        _write_json_atomic(self.progress, state)

    def finish(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        os.replace(self.partial, self.output)
        _fsync_dir(self.output.parent)
        self.progress.unlink(missing_ok=True)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _StreamSink:
    """Standard output (or any binary stream): no checkpoints, flushed after every chunk."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.size = 0

    def append(self, data: bytes) -> None:
        if data:
            self.stream.write(data)
            self.stream.flush()
            self.size += len(data)

    def finish(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------
# grade_csv
# ---------------------------------------------------------------------------


def _spool_stdin() -> Path:
    """Copy standard input to a temporary file (bounded memory), so it can be sniffed and read like a file."""
    fd, name = tempfile.mkstemp(prefix="grader-batch-", suffix=".csv")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return Path(name)


def _count_records(path: Path, fmt: CsvFormat) -> int | None:
    """Non-blank data records (for the progress bar's total); None if it cannot be counted."""
    try:
        with _Reader(path, fmt) as reader:
            return sum(1 for rec in reader.records() if not _is_blank(rec))
    except Exception:  # noqa: BLE001 - the count is only for the ETA
        return None


def _chunks(records: Iterator[_Record], chunk_size: int, first: int = FIRST_CHUNK) -> Iterator[list[_Record]]:
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
        raise BatchInputError(f"unknown output format '{fmt}' (csv or jsonl)")
    if chunk_size < 1:
        raise BatchInputError("the chunk size must be at least 1")
    if feedback_language not in (None, "vi", "en"):
        raise BatchInputError(f"unknown feedback language '{feedback_language}' (vi or en)")
    started = time.perf_counter()
    from_stdin = str(input_path) == "-"
    to_stdout = str(output_path) == "-"
    if resume and (from_stdin or to_stdout):
        raise BatchInputError("--resume needs an input file and an output file (not '-')")
    if from_stdin:
        path = _spool_stdin()
    else:
        path = Path(input_path)
        if not path.is_file():
            raise BatchInputError(f"no such input file: {path}")
    try:
        if not to_stdout:
            out = Path(output_path)
            if not out.parent.is_dir():
                raise BatchInputError(f"the output folder {out.parent} does not exist")
            if out.is_dir():
                raise BatchInputError(f"the output {out} is a folder")
            if not from_stdin and out.exists() and out.resolve() == path.resolve():
                raise BatchInputError("the output file is the input file")
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
        reader = _Reader(path, csv_format)
    except OSError as exc:
        raise BatchInputError(f"cannot read {input_name}: {exc}") from None
    sink: _FileSink | _StreamSink | None = None
    bar = None
    summary: BatchSummary | None = None
    try:
        header = reader.header
        if not header:
            raise BatchInputError(f"{input_name} is empty: no header row")
        cols: dict[str, int] = {}
        for name, flag in ((question_column, "question-column"), (answer_column, "answer-column"), (id_column, "id-column")):
            if name is None:
                continue
            i = _find_column(header, name)
            if i is None:
                found = ", ".join(repr(h) for h in header[:40]) + (", ..." if len(header) > 40 else "")
                raise BatchInputError(
                    f"no '{name}' column in {input_name} (columns found with delimiter {csv_format.delimiter!r}: {found}); "
                    f"name it with --{flag}"
                )
            cols[flag] = i
        if cols["question-column"] == cols["answer-column"]:
            raise BatchInputError("the question column and the answer column are the same column")
        qi, ai, ii = cols["question-column"], cols["answer-column"], cols.get("id-column")

        g = _resolve_grader(grader)
        questions = _Questions(g)
        renderer = _Renderer(header, fmt)
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
            sink = _StreamSink(sys.stdout.buffer)
            sink.append(renderer.head().encode("utf-8"))
        else:
            sink = _FileSink(output)
            identity = _input_identity(path)
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

        precut = _precut()
        nheader = len(header)
        run_started = time.perf_counter()
        for chunk in _chunks(records, chunk_size):
            rows: list[_Row] = []
            for rec in chunk:
                if _is_blank(rec):
                    summary.blank_skipped += 1
                    continue
                rows.append(_make_row(rec, summary.rows + len(rows) + 1, nheader, qi, ai, ii, header, questions, precut))
            _grade_rows(g, rows, feedback_language)
            sink.append(renderer.render(rows).encode("utf-8"))  # whole rows, one write, fsync'd
            for r in rows:
                summary.add(r)
            summary.graded_this_run += len(rows)
            records_done += len(chunk)
            if isinstance(sink, _FileSink):
                summary.seconds = time.perf_counter() - run_started
                sink.checkpoint(_state(identity, options, records_done, sink.size, summary))
            if bar is not None:
                bar.update(len(rows))
        summary.seconds = time.perf_counter() - run_started
        sink.finish()
        return summary
    except KeyboardInterrupt:
        partial = progress_file = None
        if isinstance(sink, _FileSink) and sink.size:
            partial, progress_file = str(sink.partial), str(sink.progress)
        raise BatchInterrupted(summary.rows if summary else 0, partial, progress_file) from None
    finally:
        if bar is not None:
            bar.close()
        if sink is not None:
            sink.close()
        reader.close()


def _make_row(
    rec: _Record, index: int, nheader: int, qi: int, ai: int, ii: int | None, header: list[str], questions: _Questions, precut: int
) -> _Row:
    if rec.cells is None:
        return _Row(index, rec.line, [""] * nheader, error=rec.problem, error_kind="unreadable_record")
    cells = rec.cells
    n = len(cells)
    row = _Row(index, rec.line, (cells + [""] * (nheader - n))[:nheader])
    if ii is not None and ii < n:
        row.row_id = _clean(cells[ii]).strip()
    if any(_BAD_BYTES.search(c) for c in cells):
        row.error, row.error_kind = "the row has bytes that are not valid text in the input's encoding (undecodable)", "undecodable"
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


def _check_resume(state: dict[str, Any], identity: dict[str, Any], options: dict[str, Any], sink: _FileSink) -> None:
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


# ---------------------------------------------------------------------------
# pandas and Dask
# ---------------------------------------------------------------------------


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
    questions = _Questions(g)
    precut = _precut()
    rows: list[_Row] = []
    for i, (q, a) in enumerate(zip(df[question_column].tolist(), df[answer_column].tolist())):
        row = _Row(i + 1, 0, [])
        if _is_missing(q) or not str(q).strip():
            row.error, row.error_kind = ("missing question id" if _is_missing(q) else "empty question id"), "empty_question_id"
        elif _is_missing(a):
            row.error, row.error_kind = "missing answer cell", "missing_cells"
        else:
            resolved = questions.resolve(str(q).strip())
            if resolved is None:
                row.error, row.error_kind = questions.unknown(str(q).strip()), "unknown_question"
            else:
                row.question_id, row.answer = resolved, str(a)[:precut]
        rows.append(row)
    _grade_rows(g, rows, feedback_language)
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

    Each frame's input columns are written as text (missing cells empty). Written to
    ``OUTPUT.partial`` and renamed on completion. Returns the number of rows written.
    """
    output = Path(output_path)
    partial = output.with_name(output.name + ".partial")
    n = 0
    header: list[str] | None = None
    with open(partial, "wb") as fh:
        for df in frames:
            cols = [str(c) for c in df.columns]
            k = len(cols) - len(RESULT_COLUMNS)
            if header is None:
                header = cols[:k]
                renderer = _Renderer(header, "csv")
                fh.write((codecs.BOM_UTF8 if bom else b"") + renderer.head().encode("utf-8"))
            rows = []
            for values in df.itertuples(index=False, name=None):
                cells = ["" if _is_missing(v) else str(v) for v in values[:k]]
                fields = dict(zip(RESULT_COLUMNS, values[k:]))
                rows.append(_Row(0, 0, cells, fields={f: (None if _is_missing(v) else v) for f, v in fields.items()}))
            fh.write(renderer.render(rows).encode("utf-8"))
            n += len(rows)
        if header is None:
            fh.close()
            partial.unlink(missing_ok=True)
            raise BatchInputError("no frames to write")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, output)
    return n
