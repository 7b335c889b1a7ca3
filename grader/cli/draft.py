"""``grader draft-rubric``: a rubric drafted from a question and a reference answer.

Runs in the lean install: drafting needs no model (pydantic, PyYAML, rapidfuzz, ruamel.yaml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli.common import read_text


def cmd_draft_rubric(args: argparse.Namespace) -> int:
    """``grader draft-rubric``."""
    from grader.atomic import write_atomic
    from grader.drafting import draft_to_yaml, rubric_from_reference
    from grader.rubric import validate_paths

    question = read_text(args.question, args.question_file, "question", stdin_if_missing=False)
    reference = read_text(args.reference, args.reference_file, "reference", stdin_if_missing=False)
    try:
        rubric = rubric_from_reference(question, reference, language=args.language, id=args.id, total=args.total)
    except ValueError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    source = f"the reference answer in {args.reference_file}" if args.reference_file else "a reference answer"
    text = draft_to_yaml(rubric, source=source)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"grader: {out} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, text)
    _, problems = validate_paths([out])
    for p in problems:
        print(p, file=sys.stderr)
    todo = sum(line.rstrip().endswith("# TODO translate") for line in text.splitlines())
    print(f"wrote {out}: {len(rubric.points)} point(s), id '{rubric.id}'; {todo} line(s) marked TODO translate")
    return 1 if any(p.severity == "error" for p in problems) else 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``draft-rubric``."""
    p = sub.add_parser("draft-rubric", help="draft a rubric from a question and a reference answer (no model needed)")
    p.add_argument("--question", help="the question text ('-': stdin)")
    p.add_argument("--question-file", help="read the question from this file")
    p.add_argument("--reference", help="the reference answer ('-': stdin)")
    p.add_argument("--reference-file", help="read the reference answer from this file")
    p.add_argument("--id", help="question id (default: derived from the question)")
    p.add_argument("--language", choices=["vi", "en"], help="the reference's language (default: detected)")
    p.add_argument("--total", type=float, default=10, help="the mark the question is graded on (default 10)")
    p.add_argument("-o", "--output", help="write the YAML here (default: stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=cmd_draft_rubric)
