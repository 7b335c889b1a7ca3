"""``grader evaluate`` (graded fixtures, or ``--labelled`` CSVs), ``grader fit`` and ``grader calibrate``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader.cli.common import grader_from_args

# Options that only mean something for labelled CSVs (their defaults tell whether they were given).
_LABELLED_ONLY = {
    "calibration": None,
    "plot": None,
    "bins": 5,
    "limit": None,
    "no_cache": False,
    "question_id_column": None,
    "question_column": None,
    "reference_column": None,
    "answer_column": None,
    "score_column": None,
}
_COLUMNS = ("question_id_column", "question_column", "reference_column", "answer_column", "score_column")


def _columns(args: argparse.Namespace) -> dict[str, str | None]:
    return {name: getattr(args, name) for name in _COLUMNS}


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``grader evaluate``: graded fixtures, or labelled CSVs with ``--labelled``."""
    if args.labelled:
        if args.split != "all":
            print("grader: --split is for fixtures, not --labelled CSVs", file=sys.stderr)
            return 2
        return _evaluate_labelled(args)
    given = [name for name, default in _LABELLED_ONLY.items() if getattr(args, name) != default]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        print(f"grader: {flags} only apply with --labelled (a CSV of marked answers)", file=sys.stderr)
        return 2
    from grader.csv_in import CsvInputError
    from grader.evaluate.fixtures import load_fixtures
    from grader.evaluate.report import evaluation_report

    try:
        fixtures = load_fixtures(args.paths)
    except CsvInputError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    grader = grader_from_args(args)
    from grader.rubric import resolve_question_id

    fixtures = [f for f in fixtures if resolve_question_id(f.question_id, grader.rubrics)]  # the one id rule
    results = grader.grade_many([(f.question_id, f.answer) for f in fixtures])
    splits: dict[str, range | list[int]] = {"all": range(len(fixtures))}
    if args.split != "all":
        splits = {args.split: [i for i, f in enumerate(fixtures) if f.split == args.split]}
    else:
        splits.update({s: [i for i, f in enumerate(fixtures) if f.split == s] for s in ("fit", "test")})
    for name, idx in splits.items():
        print(evaluation_report([fixtures[i] for i in idx], [results[i] for i in idx], title=f"{name} split"))
        print()
    print(f"signature: {grader.signature}")
    return 0


def _rubrics(paths: list[str] | None):  # type: ignore[no-untyped-def]
    from grader.rubric import load_rubric_set

    return [lr.rubric for lr in load_rubric_set(paths)] if paths else []


def _bundled_if(paths: list[str] | None):  # type: ignore[no-untyped-def]
    """Without --rubrics, rows may name the bundled questions (q1 ...)."""
    if paths:
        return []
    from grader.paths import bundled_rubrics_dir

    return _rubrics([str(bundled_rubrics_dir())])


def _evaluate_labelled(args: argparse.Namespace) -> int:
    from grader.evaluate.labelled import LabelledInputError, evaluate_labelled
    from grader.rubric import RubricError
    from grader.score.calibration import Calibration, find_calibration

    try:
        calibration = Calibration.load(args.calibration) if args.calibration else (find_calibration(args.rubrics) if args.rubrics else None)
        rubrics = _rubrics(args.rubrics)
        optional = _bundled_if(args.rubrics)
    except (ValueError, RubricError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2

    def build(rubric_set):  # type: ignore[no-untyped-def]
        return grader_from_args(args, rubric_set, cache_answers=not args.no_cache)

    for path in args.paths:
        plot_path = None
        if args.plot:
            plot = Path(args.plot)
            plot_path = plot if len(args.paths) == 1 else plot.with_name(f"{plot.stem}-{Path(path).stem}{plot.suffix or '.png'}")
        try:
            print(
                evaluate_labelled(
                    build,
                    path,
                    rubrics=rubrics,
                    optional_rubrics=optional,
                    calibration=calibration,
                    plot_path=plot_path,
                    bins=args.bins,
                    limit=args.limit,
                    **_columns(args),
                )
            )
        except LabelledInputError as exc:
            print(f"grader: {exc}", file=sys.stderr)
            return 2
        except ModuleNotFoundError as exc:
            if exc.name != "matplotlib":
                raise
            print("grader: --plot needs matplotlib (pip install 'matplotlib>=3.8')", file=sys.stderr)
            return 2
        print()
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """``grader fit``."""
    from grader.atomic import write_atomic
    from grader.calibrate.combiner import fit_combiner
    from grader.evaluate.fixtures import load_fixtures

    fixtures = [f for f in load_fixtures(args.paths) if f.split == "fit"]  # a bad file is reported before the model loads
    grader = grader_from_args(args)
    params = fit_combiner(grader, fixtures)
    write_atomic(args.output, params.model_dump_json(indent=2) + "\n")
    print(f"wrote {args.output}: fitted on {len(fixtures)} answers, fit MAE {params.metrics.get('fit_mae')}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``grader calibrate``."""
    from grader.calibrate.fit import fit_for_grader
    from grader.drafting import draft_to_yaml
    from grader.evaluate.labelled import LabelledInputError, read_labelled, rubrics_for_rows
    from grader.evaluate.report import labelled_report
    from grader.rubric import RubricError
    from grader.score.calibration import CALIBRATION_FILE

    start = time.perf_counter()
    try:
        rows = read_labelled(args.labelled, limit=args.limit, **_columns(args))
        rubrics = _rubrics(args.rubrics)
        rubric_set, ids = rubrics_for_rows(rows, rubrics, optional=_bundled_if(args.rubrics))
    except (LabelledInputError, RubricError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print(f"grader: {args.labelled}: no rows", file=sys.stderr)
        return 2
    drafted = [r for r in rubric_set if "drafted-from-reference" in r.tags and r.id not in {x.id for x in rubrics}]
    if args.output:
        output = Path(args.output)
    elif args.rubrics:
        first = Path(args.rubrics[0])
        output = (first if first.is_dir() else first.parent) / CALIBRATION_FILE
    elif args.save_rubrics:
        output = Path(args.save_rubrics) / CALIBRATION_FILE
    else:
        output = Path(CALIBRATION_FILE)
    grader = grader_from_args(args, rubric_set, cache_answers=not args.no_cache)
    results = grader.grade_many([(qid, r.answer) for qid, r in zip(ids, rows)])
    human = [r.human for r in rows]
    scale = (args.scale_min, args.scale_max) if args.scale_min is not None and args.scale_max is not None else None
    try:
        cal = fit_for_grader(grader, results, human, test_share=args.held_out, seed=args.seed, scale=scale, source=Path(args.labelled).name)
    except ValueError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    cal.save(output)
    if drafted and args.save_rubrics:
        folder = Path(args.save_rubrics)
        folder.mkdir(parents=True, exist_ok=True)
        for r in drafted:
            (folder / f"{r.id}.yaml").write_text(draft_to_yaml(r, source=f"{Path(args.labelled).name}"), encoding="utf-8")
        print(f"wrote {len(drafted)} drafted rubric(s) to {folder}")
    m = cal.metrics
    print(f"wrote {output}: {cal.label_kind} labels {cal.scale_min:g}..{cal.scale_max:g}, fitted on {cal.n_fit} answers")
    if m:
        keys = ["mae", "pearson", "qwk"] + (["accuracy", "macro_f1"] if cal.label_kind == "binary" else [])
        shown = ", ".join(f"{k} {m.get('raw_' + k, float('nan')):.3f} -> {m.get('calibrated_' + k, float('nan')):.3f}" for k in keys)
        print(f"held-out {cal.n_held_out} answers (seed {cal.seed}), raw -> calibrated: {shown}")
    if cal.threshold is not None:
        print(f"decision threshold: {cal.threshold:.2f}")
    if args.report:
        print()
        print(labelled_report(results, human, calibration=cal, title=f"{Path(args.labelled).name} (all rows, in-sample)", signature=grader.signature))
    if drafted and not args.save_rubrics:
        print(f"note: {len(drafted)} rubric(s) were drafted from reference answers; pass --save-rubrics DIR to keep them next to the calibration")
    print(f"{len(rows)} answers in {time.perf_counter() - start:.1f} s")
    return 0


def _column_options(p: argparse.ArgumentParser) -> None:
    """The ``--*-column`` options of labelled CSVs (defaults: the benchmarks' names, then common ones)."""
    p.add_argument("--question-id-column", help="default: question_id")
    p.add_argument("--question-column", help="default: question")
    p.add_argument("--reference-column", help="default: reference_answer")
    p.add_argument("--answer-column", help="default: student_answer, else answer")
    p.add_argument("--score-column", help="default: gold_score, else human_score, score")


def add_commands(sub: argparse._SubParsersAction, model: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Register ``evaluate``, ``fit`` and ``calibrate``; ``model`` is the parent parser of the model options."""
    p = sub.add_parser(
        "evaluate",
        parents=[model],
        help="agreement with human scores: graded fixtures, or labelled CSVs with --labelled",
        description="Agreement with human scores. PATHS are fixture CSVs (answer_id, question_id, kind, form, human_score, "
        "covers, misconceptions, twin_of, answer) or folders of them; with --labelled, CSVs of marked answers "
        "(question_id, or question + reference_answer; answer; score).",
    )
    p.add_argument("paths", nargs="+", metavar="PATHS", help="fixture CSV files or folders (with --labelled: labelled CSVs)")
    p.add_argument("--labelled", action="store_true", help="PATHS are labelled CSVs: QWK, macro-F1, calibration figures")
    p.add_argument("--split", choices=["all", "fit", "test"], default="all", help="fixtures: which split (default: all, fit and test)")
    g = p.add_argument_group("labelled CSVs (with --labelled)")
    _column_options(g)  # type: ignore[arg-type]
    g.add_argument("--calibration", help="calibration.json to apply (default: the one next to --rubrics, if any)")
    g.add_argument("--plot", help="write a calibration plot (predicted vs human) to this PNG")
    g.add_argument("--bins", type=int, default=5, help="bins for QWK when the human scores are continuous (default 5)")
    g.add_argument("--limit", type=int, help="read only the first N rows")
    g.add_argument("--no-cache", action="store_true", help="do not cache answer embeddings on disk")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("fit", parents=[model], help="fit the score combiner on the fit split of graded fixtures")
    p.add_argument("paths", nargs="+", metavar="FIXTURES", help="fixture CSV files or folders")
    p.add_argument(
        "-o",
        "--output",
        default="combiner.json",
        help="where to write the parameters (default: ./combiner.json; the engine ships grader/data/combiner.json)",
    )
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("calibrate", parents=[model], help="fit the mapping from grades to human scores on a labelled CSV")
    p.add_argument("labelled", help="CSV with answers and human scores (question_id, or question + reference_answer)")
    p.add_argument("-o", "--output", help="where to write calibration.json (default: next to the first --rubrics, else --save-rubrics, else ./calibration.json)")
    p.add_argument("--save-rubrics", help="write the rubrics drafted from reference answers to this folder")
    p.add_argument("--held-out", type=float, default=0.2, help="share of rows held out to report the fit (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split (default 0)")
    p.add_argument("--scale-min", type=float, help="lowest possible human score (default: the lowest seen)")
    p.add_argument("--scale-max", type=float, help="highest possible human score (default: the highest seen)")
    p.add_argument("--limit", type=int, help="read only the first N rows")
    p.add_argument("--report", action="store_true", help="also print the in-sample agreement table")
    p.add_argument("--no-cache", action="store_true", help="do not cache answer embeddings on disk")
    _column_options(p)
    p.set_defaults(func=cmd_calibrate)
