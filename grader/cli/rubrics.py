"""``grader validate``, ``grader schema`` (lean: no model) and ``grader test-rubrics``, ``grader lint`` (model-backed)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from grader.cli.common import CliError, grader_from_args

if TYPE_CHECKING:
    from grader.engine import Grader
    from grader.rubric.load import LoadedRubric


def _default_rubrics() -> str:
    from grader.paths import bundled_rubrics_dir

    return str(bundled_rubrics_dir())


def cmd_validate(args: argparse.Namespace) -> int:
    """``grader validate``."""
    from grader.rubric.check import rubric_set_of, validate_paths

    start = time.perf_counter()
    paths = args.paths or [_default_rubrics()]
    # Files named alone (the pre-commit hook passes the changed ones) are checked against their whole set.
    missing = [p for p in args.set or [] if not Path(p).exists()]
    if missing:
        raise CliError(f"no such rubric set: {missing[0]}", "give --set a folder of rubric files")
    rubric_set = args.set or rubric_set_of(paths)
    loaded, problems = validate_paths(paths, rubric_set=rubric_set)
    for p in problems:
        print(p, file=sys.stderr if p.severity == "error" else sys.stdout)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if not args.quiet:
        ms = (time.perf_counter() - start) * 1000
        print(f"{len(loaded)} rubric file(s) read, {errors} error(s), {warnings} warning(s) in {ms:.0f} ms")
    return 1 if errors or (args.strict and warnings) else 0


def cmd_schema(args: argparse.Namespace) -> int:
    """``grader schema``."""
    from grader.rubric.schema import Rubric

    text = json.dumps(Rubric.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _tested(args: argparse.Namespace) -> tuple[Grader, list[LoadedRubric]] | None:
    """The rubric files named by ``paths``, and a grader for them with their whole folders (and ``--rubrics``) as the set:
    off-topic detection needs the other questions."""
    from grader.rubric import RubricError, load_rubric_set
    from grader.rubric.load import discover_rubric_files

    files, missing = discover_rubric_files(args.paths or [_default_rubrics()])
    if missing:
        raise RubricError(missing)
    targets = [p.resolve() for p in files]
    context = sorted({str(p.parent) for p in targets} | set(args.rubrics or []))
    try:
        loaded = load_rubric_set(context)
    except RubricError as exc:
        print(exc, file=sys.stderr)
        return None
    grader = grader_from_args(args, [lr.rubric for lr in loaded])
    return grader, [lr for lr in loaded if Path(lr.path).resolve() in targets]


def cmd_test_rubrics(args: argparse.Namespace) -> int:
    """``grader test-rubrics``."""
    from grader.authoring.rubric_tests import run_rubric_tests

    start = time.perf_counter()
    found = _tested(args)
    if found is None:
        return 1
    grader, tested = found
    report = run_rubric_tests(grader, tested)
    for failure in report.failures:
        print(failure, file=sys.stderr)
    print(f"{report.summary()} in {len(tested)} rubric file(s), {time.perf_counter() - start:.1f} s")
    return 0 if report.ok else 1


def cmd_lint(args: argparse.Namespace) -> int:
    """``grader lint``."""
    from grader.authoring.lint import lint_rubric

    found = _tested(args)
    if found is None:
        return 1
    grader, tested = found
    count = 0
    for lr in tested:
        for problem in lint_rubric(grader, lr):
            print(problem)
            count += 1
    print(f"{count} authoring warning(s)")
    return 1 if count and args.strict else 0


def add_commands(sub: argparse._SubParsersAction, model: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Register the rubric commands; ``model`` is the parent parser of the model options."""
    p = sub.add_parser("validate", help="check rubric files (no model needed)")
    p.add_argument("paths", nargs="*", help="rubric files or folders (default: the bundled rubrics)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH",
        help="the rubric set the files belong to: their question ids must be unique across it (repeatable; default: "
        "the folder called 'rubrics' above each file, else the files beside it)",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the rubric format")
    p.add_argument("-o", "--output", help="write it to this file")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("test-rubrics", parents=[model], help="grade each rubric's examples and check their expected bands")
    p.add_argument("paths", nargs="*", help="rubric files or folders (default: the bundled rubrics)")
    p.set_defaults(func=cmd_test_rubrics)

    p = sub.add_parser("lint", parents=[model], help="authoring checks that need the model (ambiguous points, greedy keywords …)")
    p.add_argument("paths", nargs="*", help="rubric files or folders (default: the bundled rubrics)")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything is reported")
    p.set_defaults(func=cmd_lint)
