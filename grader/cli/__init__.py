"""The ``grader`` command: argument parsing and printing only, one module per command group.

``common`` (the model options, declared once, and :func:`~grader.cli.common.grader_from_args`),
``rubrics`` (validate, schema, test-rubrics, lint), ``grade`` (grade, explain), ``evaluate``
(evaluate, fit, calibrate), ``batch`` and ``draft`` (draft-rubric). Commands import what they
need when they run, so that ``grader validate``, ``grader schema`` and ``grader draft-rubric``
run in the lean install (no torch).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grader.cli import batch, draft, evaluate, grade, rubrics
from grader.cli.common import Parser, main_errors, model_options


def build_parser() -> argparse.ArgumentParser:
    """The ``grader`` parser with every command."""
    from grader._version import __version__

    parser = Parser(prog="grader", description="Grade free-text answers against bilingual rubrics, without an LLM.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model = model_options()
    rubrics.add_commands(sub, model)
    grade.add_commands(sub, model)
    evaluate.add_commands(sub, model)
    batch.add_commands(sub, model)
    draft.add_commands(sub)
    for command in sub.choices.values():  # `grader grade ... --debug` too; SUPPRESS keeps a top-level --debug
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grader`` console script: one error path for every command.

    A user mistake is one line ``grader: <what> (<what to do>)`` and exit status 2; a closed output
    pipe exits quietly (141); an error in grader itself is one line and exit status 3. ``--debug``
    shows the traceback instead.
    """
    args = build_parser().parse_args(argv)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away (| head) shows here, inside the error path
        return status
    except BaseException as exc:
        if getattr(args, "debug", False):
            raise
        reported = main_errors(exc)
        if reported is None:
            raise
        return reported
