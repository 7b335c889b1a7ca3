"""The ``grader`` command: argument parsing and printing only, one module per command group.

``common`` (the model options, declared once, and :func:`~grader.cli.common.grader_from_args`),
``rubrics`` (validate, schema, test-rubrics, lint), ``grade`` (grade, explain), ``evaluate``
(evaluate, fit, calibrate), ``batch`` and ``draft`` (draft-rubric). Commands import what they
need when they run, so that ``grader validate``, ``grader schema`` and ``grader draft-rubric``
run in the lean install (no torch).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from grader.cli import batch, draft, evaluate, grade, rubrics
from grader.cli.common import main_errors, model_options


def build_parser() -> argparse.ArgumentParser:
    """The ``grader`` parser with every command."""
    from grader._version import __version__

    parser = argparse.ArgumentParser(prog="grader", description="Grade free-text answers against bilingual rubrics, without an LLM.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model = model_options()
    rubrics.add_commands(sub, model)
    grade.add_commands(sub, model)
    evaluate.add_commands(sub, model)
    batch.add_commands(sub, model)
    draft.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grader`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ModuleNotFoundError, KeyboardInterrupt) as exc:
        status = main_errors(exc)
        if status is None:
            raise
        return status
