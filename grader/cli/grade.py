"""``grader grade`` (one answer, its feedback) and ``grader explain`` (how it was graded)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from grader.cli.common import grader_from_args, read_text

if TYPE_CHECKING:
    from grader.score.grade import Trace


def _graded(args: argparse.Namespace, render: Callable[[Trace], str]) -> int:
    """Grade ``args``' answer and print ``render(trace)``. The answer, the rubric files and the question id
    are checked before the model loads; every mistake goes to the one error path (:func:`grader.cli.main`)."""
    answer = read_text(args.answer, args.answer_file, "answer")
    grader = grader_from_args(args, question_ids=[args.question_id])
    trace = grader.trace(args.question_id, answer, feedback_language=args.lang)
    print(render(trace))
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    """``grader grade``: the result as text, Markdown or JSON."""

    def render(trace: Trace) -> str:
        result = trace.result
        return result.model_dump_json(indent=2) if args.json else result.to_markdown() if args.markdown else result.to_text()

    return _graded(args, render)


def cmd_explain(args: argparse.Namespace) -> int:
    """``grader explain``: the grading's own trace."""
    from grader.authoring.explain import render_trace

    return _graded(args, render_trace)


def add_commands(sub: argparse._SubParsersAction, model: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Register ``grade`` and ``explain``; ``model`` is the parent parser of the model options."""
    for name, func, help_text in (
        ("grade", cmd_grade, "grade one answer and print its feedback"),
        ("explain", cmd_explain, "show how one answer is graded, step by step"),
    ):
        p = sub.add_parser(name, parents=[model], help=help_text)
        p.add_argument("question_id", help="question id, e.g. q1")
        p.add_argument("answer", nargs="?", help="the answer text ('-' or nothing: read stdin)")
        p.add_argument("--answer-file", help="read the answer from this file")
        p.add_argument("--lang", choices=["vi", "en"], help="feedback language (default: the answer's)")
        if name == "grade":
            p.add_argument("--json", action="store_true", help="print the full result as JSON")
            p.add_argument("--markdown", action="store_true", help="print Markdown")
        p.set_defaults(func=func)
