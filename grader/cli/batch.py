"""``grader batch``: grade a CSV export into a CSV or JSONL file (see docs/batch.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from grader.cli.common import grader_from_args

EPILOG = """\
output columns: every input column, then score (0-1), mark, status (ok/error), error,
covered_points, partial_points, missing_points (space-separated point ids),
points (id=status:coverage; ...), misconceptions, flags, feedback, signature.

exit status: 0 every row graded, 1 some rows are error rows, 2 bad input or options,
130 interrupted (rerun the same command with --resume to continue).
"""


def _quiet_model_loading() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetic only
        pass


def _infer_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return "jsonl" if str(args.output).lower().endswith((".jsonl", ".ndjson")) else "csv"


def cmd_batch(args: argparse.Namespace) -> int:
    """``grader batch``."""
    from grader.batch import BatchInterrupted, grade_csv

    show_progress = not args.quiet and sys.stderr.isatty()
    if not show_progress:
        _quiet_model_loading()

    def make_grader() -> Any:
        if show_progress:
            print("grader: loading the model and rubrics ...", file=sys.stderr, flush=True)
        return grader_from_args(args)

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = None
    try:
        old = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread
        pass
    try:
        summary = grade_csv(
            args.input,
            args.output,
            make_grader,
            question_column=args.question_column,
            answer_column=args.answer_column,
            id_column=args.id_column,
            fmt=_infer_format(args),
            resume=args.resume,
            encoding=args.encoding,
            delimiter=args.delimiter,
            chunk_size=args.chunk_size,
            progress=show_progress,
            feedback_language=args.lang,
            bom=False if args.no_bom else None,
        )
    except BatchInterrupted as exc:
        hint = "; rerun the same command with --resume to continue" if exc.partial else ""
        print(f"grader: {exc}{hint}", file=sys.stderr)
        return 130
    finally:  # every other error takes the one error path (grader.cli.main)
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    if not args.quiet:
        print(summary.to_text(), file=sys.stderr)
    return summary.exit_code


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def add_commands(sub: argparse._SubParsersAction, model: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Register ``grader batch``; ``model`` is the parent parser of the model options."""
    p = sub.add_parser(
        "batch",
        parents=[model],
        help="grade every row of a CSV export into a CSV or JSONL file",
        description="Grade every row of a CSV export (one answer per row) and write one output row per input row, "
        "in order. Resumable after an interruption with --resume.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="the CSV file ('-': standard input)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the output file ('-': standard output)")
    p.add_argument("--question-column", default="question_id", metavar="NAME", help="column with the question id (default: question_id)")
    p.add_argument("--answer-column", default="answer", metavar="NAME", help="column with the answer text (default: answer)")
    p.add_argument("--id-column", metavar="NAME", help="column that identifies a row, used in error messages and JSONL")
    p.add_argument("--format", choices=["csv", "jsonl"], help="output format (default: jsonl for .jsonl/.ndjson, else csv)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run (OUTPUT.partial + OUTPUT.progress.json)")
    p.add_argument("--encoding", metavar="ENC", help="input encoding (default: detected: BOM, UTF-8, else charset-normalizer)")
    p.add_argument("--delimiter", metavar="D", help="input delimiter, e.g. ';' or '\\t' (default: detected)")
    p.add_argument("--chunk-size", type=_positive, default=256, metavar="N", help="rows per model call (default: 256)")
    p.add_argument("--lang", choices=["vi", "en"], help="feedback language (default: each answer's)")
    p.add_argument("--no-bom", action="store_true", help="no UTF-8 BOM at the start of a CSV output file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=cmd_batch)
