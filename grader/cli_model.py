"""Sub-commands of ``grader`` that need the embedding model (their imports are lazy)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _grader(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from grader.engine import Grader

    rubrics = args.rubrics or None
    if rubrics is None:
        return Grader.default(model=args.model)
    return Grader.from_path(rubrics, model=args.model)


def _encoder(model: str):  # type: ignore[no-untyped-def]
    from grader.embedding.encoder import load_encoder

    return load_encoder(model)


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rubrics", action="append", help="rubric file or folder (repeatable; default: the bundled 12)")
    p.add_argument("--model", default="bundled", help="sentence-transformers model name or folder (default: bundled multilingual-e5-small)")


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.engine import UnknownQuestionError
    from grader.rubric import RubricError

    if args.answer_file:
        answer = Path(args.answer_file).read_text(encoding="utf-8-sig")
    elif args.answer is None or args.answer == "-":
        answer = sys.stdin.read()
    else:
        answer = args.answer
    try:
        grader = _grader(args)
        result = grader.grade(args.question_id, answer, feedback_language=args.lang)
    except (UnknownQuestionError, RubricError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(result.model_dump_json(indent=2))
    elif args.markdown:
        print(result.to_markdown())
    else:
        print(result.to_text())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from grader.cli_reference import cmd_evaluate_labelled
    from grader.evaluation import evaluation_report
    from grader.fixtures import load_fixtures
    from grader.labelled import looks_like_labelled

    if all(looks_like_labelled(p) for p in args.fixtures):
        return cmd_evaluate_labelled(args)

    grader = _grader(args)
    fixtures = [f for f in load_fixtures(args.fixtures) if f.question_id in grader.rubrics]
    results = grader.grade_many([(f.question_id, f.answer) for f in fixtures])
    splits = {"all": range(len(fixtures))}
    if args.split != "all":
        splits = {args.split: [i for i, f in enumerate(fixtures) if f.split == args.split]}
    else:
        splits.update({s: [i for i, f in enumerate(fixtures) if f.split == s] for s in ("fit", "test")})
    for name, idx in splits.items():
        print(evaluation_report([fixtures[i] for i in idx], [results[i] for i in idx], title=f"{name} split"))
        print()
    print(f"signature: {grader.signature}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from grader.fitting import fit_combiner
    from grader.fixtures import load_fixtures

    grader = _grader(args)
    fixtures = [f for f in load_fixtures(args.fixtures) if f.split == "fit"]
    params = fit_combiner(grader, fixtures)
    Path(args.output).write_text(params.model_dump_json(indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: fitted on {len(fixtures)} answers, fit MAE {params.metrics.get('fit_mae')}")
    return 0


def add_model_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the model-backed commands on the ``grader`` parser."""
    p = sub.add_parser("grade", help="grade one answer and print its feedback")
    p.add_argument("question_id", help="question id, e.g. q1")
    p.add_argument("answer", nargs="?", help="the answer text ('-' or nothing: read stdin)")
    p.add_argument("--answer-file", help="read the answer from this file")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--markdown", action="store_true", help="print Markdown")
    p.add_argument("--lang", choices=["vi", "en"], help="feedback language (default: the answer's)")
    _model_options(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("evaluate", help="agreement with human scores: graded fixtures, or any labelled CSV")
    p.add_argument("fixtures", nargs="+", help="fixture CSV files or folders, or labelled CSVs (question_id or question+reference, answer, score)")
    p.add_argument("--split", choices=["all", "fit", "test"], default="all", help="fixtures only: which split")
    _model_options(p)
    from grader.cli_reference import add_labelled_evaluate_options

    add_labelled_evaluate_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("test-rubrics", help="grade each rubric's examples and check their expected bands")
    p.add_argument("paths", nargs="*", help="rubric files or folders (default: the bundled rubrics)")
    _model_options(p)
    p.set_defaults(func=cmd_test_rubrics)

    p = sub.add_parser("explain", help="show how one answer is graded, step by step")
    p.add_argument("question_id")
    p.add_argument("answer", nargs="?", help="the answer text ('-' or nothing: read stdin)")
    p.add_argument("--answer-file", help="read the answer from this file")
    _model_options(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("lint", help="authoring checks that need the model (ambiguous points, greedy keywords …)")
    p.add_argument("paths", nargs="*", help="rubric files or folders (default: the bundled rubrics)")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything is reported")
    _model_options(p)
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("fit", help="fit the score combiner on the fit split of graded fixtures")
    p.add_argument("fixtures", nargs="+", help="fixture CSV files or folders")
    p.add_argument("-o", "--output", default=str(Path(__file__).parent / "data" / "combiner.json"))
    _model_options(p)
    p.set_defaults(func=cmd_fit)


def cmd_test_rubrics(args: argparse.Namespace) -> int:
    from grader.engine import Grader
    from grader.paths import bundled_rubrics_dir
    from grader.rubric import RubricError, load_rubric_set
    from grader.rubric.loading import find_rubric_files
    from grader.rubric_tests import run_rubric_tests

    start = time.perf_counter()
    targets = [p.resolve() for p in find_rubric_files(args.paths or [bundled_rubrics_dir()])]
    # The whole folder of each tested file is the rubric set: off-topic detection needs the other questions.
    context = sorted({str(p.parent) for p in targets} | set(args.rubrics or []))
    try:
        loaded = load_rubric_set(context)
    except RubricError as exc:
        print(exc, file=sys.stderr)
        return 1
    grader = Grader([lr.rubric for lr in loaded], _encoder(args.model))
    tested = [lr for lr in loaded if Path(lr.path).resolve() in targets]
    report = run_rubric_tests(grader, tested)
    for failure in report.failures:
        print(failure, file=sys.stderr)
    print(f"{report.summary()} in {len(tested)} rubric file(s), {time.perf_counter() - start:.1f} s")
    return 0 if report.ok else 1


def cmd_explain(args: argparse.Namespace) -> int:
    from grader.engine import UnknownQuestionError
    from grader.explain import explain

    answer = Path(args.answer_file).read_text(encoding="utf-8-sig") if args.answer_file else args.answer
    if answer is None or answer == "-":
        answer = sys.stdin.read()
    try:
        print(explain(_grader(args), args.question_id, answer))
    except UnknownQuestionError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from grader.engine import Grader
    from grader.lint import lint_rubric
    from grader.paths import bundled_rubrics_dir
    from grader.rubric import RubricError, load_rubric_set
    from grader.rubric.loading import find_rubric_files

    targets = [p.resolve() for p in find_rubric_files(args.paths or [bundled_rubrics_dir()])]
    try:
        loaded = load_rubric_set(sorted({str(p.parent) for p in targets}))
    except RubricError as exc:
        print(exc, file=sys.stderr)
        return 1
    grader = Grader([lr.rubric for lr in loaded], _encoder(args.model))
    count = 0
    for lr in loaded:
        if Path(lr.path).resolve() in targets:
            for problem in lint_rubric(grader, lr):
                print(problem)
                count += 1
    print(f"{count} authoring warning(s)")
    return 1 if count and args.strict else 0
