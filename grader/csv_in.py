"""Reading CSV input, the one way every command does it: batch exports, fixtures, labelled sets, rubric samples.

Whatever a spreadsheet or a hiring tool writes: the encoding (a BOM, else UTF-8 unless most
of the file's non-ASCII bytes are not UTF-8, else charset-normalizer's guess, with Vietnamese
text read as Windows-1258), the delimiter (the one whose header holds the required columns),
quoted multi-line cells (and the rows an unterminated quote swallows: :func:`lines_read_as_rows`),
blank rows. Records keep their first line number, so every error can name
``file:line``. A column is found by its exact name, else ignoring case and surrounding spaces.

Bytes that are not valid text in the file's encoding become lone surrogates (U+DC80…) in the
cells, so a reader can tell which records hold them (:func:`has_bad_bytes`) and show them as
U+FFFD (:func:`clean_cell`).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

#: How much of the input the encoding and delimiter detection look at.
SAMPLE_BYTES = 1 << 20
#: csv's per-field limit (its default, 128 KiB, would reject a long pasted answer).
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
_BAD_BYTES = re.compile("[\udc00-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_BAD_HANDLER = "grader-csv-mark"


def _mark_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: each undecodable byte becomes a lone surrogate U+DC00+byte (found again per row)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_BAD_HANDLER, _mark_bad_bytes)


class CsvInputError(ValueError):
    """A CSV file that cannot be read as asked (names the file and, where it can, the line)."""


def has_bad_bytes(cell: str) -> bool:
    """Whether ``cell`` holds bytes that were not valid text in the file's encoding."""
    return bool(_BAD_BYTES.search(cell))


def clean_cell(cell: str) -> str:
    """``cell`` with its undecodable bytes shown as U+FFFD."""
    return _BAD_BYTES.sub("\ufffd", cell) if _BAD_BYTES.search(cell) else cell


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
    """The encoding of a CSV file: a BOM's, else UTF-8 unless the file is mostly not UTF-8, else charset-normalizer's guess.

    Counted over the whole file: the characters outside ASCII that are valid UTF-8, and the bytes that are
    not. A file is UTF-8 when its invalid bytes are no more than its valid characters (or one): a few
    broken bytes make error rows of their records and never turn the valid rows into mojibake, however
    short or long the file. A legacy (Windows-125x) file has next to no valid multi-byte sequences: each
    of its accented letters is one invalid byte.
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
            b, g = _utf8_counts(decoder.decode(block))
            bad, good = bad + b, good + g
        b, g = _utf8_counts(decoder.decode(b"", final=True))
        bad, good = bad + b, good + g
    if bad <= max(good, 1):
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


def _utf8_counts(text: str) -> tuple[int, int]:
    """(bytes that were not UTF-8, valid characters outside ASCII) in text decoded with the marking handler."""
    if text.isascii():
        return 0, 0
    bad = len(_BAD_BYTES.findall(text))
    return bad, len(_NON_ASCII.findall(text)) - bad


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
        found = sum(find_column(header, name) is not None for name in required)
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
            raise CsvInputError(f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, cp1258)") from None
    enc = encoding or detect_encoding(path)
    if delimiter:
        delimiter = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise CsvInputError(f"the delimiter must be one character, not {delimiter!r} (e.g. ';' or '\\t')")
    return CsvFormat(enc, delimiter or detect_delimiter(_read_sample(path, enc), required))


def find_column(header: Sequence[str], name: str) -> int | None:
    """Index of column ``name``: an exact match, else the first match ignoring case and surrounding spaces."""
    if name in header:
        return list(header).index(name)
    key = name.strip().casefold()
    for i, h in enumerate(header):
        if h.strip().casefold() == key:
            return i
    return None


# ---------------------------------------------------------------------------
# reading records
# ---------------------------------------------------------------------------


@dataclass
class Record:
    """One CSV record: ``cells`` as parsed (None for an unparseable record), its first line."""

    line: int
    cells: list[str] | None
    problem: str = ""


class CsvReader:
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
                self.header = [clean_cell(c).lstrip("\ufeff") for c in rec.cells]
                self.header_line = rec.line
                break

    def _records(self) -> Iterator[Record]:
        while True:
            start = self._line + 1
            try:
                cells = next(self._csv)
            except StopIteration:
                return
            except csv.Error as exc:
                self._line = self._csv.line_num
                yield Record(start, None, f"unreadable CSV record: {exc}")
                continue
            except UnicodeError as exc:  # pragma: no cover - the error handler marks bad bytes instead
                self._line = self._csv.line_num
                yield Record(start, None, f"undecodable record: {exc}")
                continue
            self._line = self._csv.line_num
            if self.fmt.nfc:
                cells = [unicodedata.normalize("NFC", c) for c in cells]
            yield Record(start, cells)

    def records(self) -> Iterator[Record]:
        """The records after the header (blank records included: the caller skips them)."""
        return self._records()

    def close(self) -> None:
        """Close the file."""
        self._text.close()

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_blank(rec: Record) -> bool:
    """Whether a record has only empty cells (spreadsheets export such rows)."""
    return rec.cells is not None and not any(c.strip() for c in rec.cells)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lines_read_as_rows(
    cells: Sequence[str], first_line: int, delimiter: str, key: int, is_key: Callable[[str], bool]
) -> list[int]:
    """The lines inside a record's cells that read as records of their own: what an unterminated quote swallows.

    A quote opened in a cell and never closed (or closed only by a quote rows later) makes the CSV
    parser read the following lines into that cell. A line after a line break inside a cell is taken
    for a swallowed row when, read as CSV, its cell ``key`` is a key (``is_key``: e.g. a known question
    id): answers hold line breaks, but not lines that start like the file's rows. Returns their line
    numbers (``first_line``: the record's first line).
    """
    out: list[int] = []
    line = first_line
    for cell in cells:
        parts = _LINE_BREAK.split(cell)
        for k, inner in enumerate(parts[1:], 1):
            try:
                rec = next(csv.reader([inner], delimiter=delimiter), [])
            except csv.Error:
                continue
            if len(rec) > key and len(rec) >= 2 and is_key(rec[key]):
                out.append(line + k)
        line += len(parts) - 1
    return out


# ---------------------------------------------------------------------------
# a whole (small) table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    """One data record of a :class:`Table`: its first line and its cells by column name."""

    line: int
    cells: dict[str, str]

    def get(self, column: str | None) -> str:
        """The cell of ``column`` (the header's spelling; "" for no column or a missing cell)."""
        return self.cells.get(column, "") if column is not None else ""


@dataclass(frozen=True)
class Table:
    """A CSV file read whole: its header and its non-blank data records."""

    path: Path
    header: list[str]
    rows: list[TableRow]
    header_line: int = 1

    def column(self, name: str) -> str | None:
        """The header's spelling of column ``name`` (exact, else ignoring case and surrounding spaces), or None."""
        i = find_column(self.header, name)
        return None if i is None else self.header[i]

    def first_column(self, names: Sequence[str]) -> str | None:
        """The first of ``names`` that is a column, or None."""
        return next((c for c in map(self.column, names) if c is not None), None)

    def require(self, names: Sequence[str], hint: str = "") -> dict[str, str]:
        """Each of ``names`` -> the header's spelling; CsvInputError naming the missing ones."""
        found = {n: self.column(n) for n in names}
        missing = [n for n, c in found.items() if c is None]
        if missing:
            raise CsvInputError(f"{self.path}:{self.header_line}: missing column(s) {', '.join(missing)}{f' ({hint})' if hint else ''}")
        return {n: c for n, c in found.items() if c is not None}


def read_table(
    path: str | os.PathLike[str], *, required: Sequence[str] = (), encoding: str | None = None, delimiter: str | None = None
) -> Table:
    """Read a whole CSV file (for files that fit in memory: fixtures, labelled sets, samples).

    Blank records are skipped; a record the CSV parser rejects, or one with bytes that are not
    text in the file's encoding, raises :class:`CsvInputError` naming its line. ``required``
    columns only help choose the delimiter; check them with :meth:`Table.require`.
    """
    p = Path(path)
    if not p.is_file():
        raise CsvInputError(f"{p}: no such file (check the path)")
    fmt = detect_format(p, encoding=encoding, delimiter=delimiter, required=required)
    rows: list[TableRow] = []
    with CsvReader(p, fmt) as reader:
        header, header_line = reader.header, reader.header_line
        for rec in reader.records():
            if rec.cells is None:
                raise CsvInputError(f"{p}:{rec.line}: {rec.problem}")
            if is_blank(rec):
                continue
            if any(has_bad_bytes(c) for c in rec.cells):
                raise CsvInputError(f"{p}:{rec.line}: bytes that are not valid {fmt.encoding} text")
            rows.append(TableRow(rec.line, dict(zip(header, rec.cells))))
    return Table(p, header, rows, header_line or 1)
