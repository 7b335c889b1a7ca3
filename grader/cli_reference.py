"""Sub-commands for reference-answer mode: ``draft-rubric`` and ``calibrate`` (and the labelled branch of ``evaluate``).

``draft-rubric`` needs no model (it runs in the lean install); ``calibrate``
and labelled evaluation load the model lazily.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _read_text(value: str | None, file: str | None, what: str) -> str:
    if file:
        return Path(file).read_text(encoding="utf-8-sig")
    if value == "-":
        return sys.stdin.read()
    if value is None:
        raise SystemExit(f"grader: give the {what} (--{what} TEXT or --{what}-file FILE)")
    return value


def cmd_draft_rubric(args: argparse.Namespace) -> int:
    from grader.reference import rubric_from_reference, rubric_to_yaml
    from grader.rubric import validate_paths

    question = _read_text(args.question, args.question_file, "question")
    reference = _read_text(args.reference, args.reference_file, "reference")
    try:
        rubric = rubric_from_reference(question, reference, language=args.language, id=args.id, total=args.total)
    except ValueError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    source = f"the reference answer in {args.reference_file}" if args.reference_file else "a reference answer"
    text = rubric_to_yaml(rubric, source=source)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"grader: {out} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    _, problems = validate_paths([out])
    for p in problems:
        print(p, file=sys.stderr)
    todo = sum(line.rstrip().endswith("# TODO translate") for line in text.splitlines())
    print(f"wrote {out}: {len(rubric.points)} point(s), id '{rubric.id}'; {todo} line(s) marked TODO translate")
    return 1 if any(p.severity == "error" for p in problems) else 0


def _columns(args: argparse.Namespace) -> dict[str, str | None]:
    return {
        "question_id_column": getattr(args, "question_id_column", None),
        "question_column": getattr(args, "question_column", None),
        "reference_column": getattr(args, "reference_column", None),
        "answer_column": getattr(args, "answer_column", None),
        "score_column": getattr(args, "score_column", None),
    }


def _encoder(model: str, use_cache: bool):  # type: ignore[no-untyped-def]
    from grader.embedding.encoder import SentenceTransformerEncoder

    enc = SentenceTransformerEncoder(model)
    if not use_cache:
        return enc
    from grader.engine import default_cache_dir
    from grader.labelled import CachedEncoder

    return CachedEncoder(enc, default_cache_dir() / "labelled")


def _rubrics(paths: list[str] | None):  # type: ignore[no-untyped-def]
    from grader.rubric import load_rubric_set

    return [lr.rubric for lr in load_rubric_set(paths)] if paths else []


def _bundled_if(paths: list[str] | None):  # type: ignore[no-untyped-def]
    """Without --rubrics, rows may name the bundled questions (q1 ...)."""
    if paths:
        return []
    from grader.paths import bundled_rubrics_dir

    return _rubrics([str(bundled_rubrics_dir())])


def cmd_calibrate(args: argparse.Namespace) -> int:
    from grader.calibration import CALIBRATION_FILE, fit_for_grader
    from grader.engine import Grader
    from grader.labelled import LabelledInputError, labelled_report, read_labelled, rubrics_for_rows
    from grader.reference import rubric_to_yaml
    from grader.rubric import RubricError

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
    grader = Grader(rubric_set, _encoder(args.model, not args.no_cache))
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
            (folder / f"{r.id}.yaml").write_text(rubric_to_yaml(r, source=f"{Path(args.labelled).name}"), encoding="utf-8")
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


def cmd_evaluate_labelled(args: argparse.Namespace) -> int:
    """``grader evaluate`` on labelled CSVs (``args.fixtures``: CSV files or folders; ``--rubrics``, ``--model`` as usual)."""
    from grader.calibration import Calibration, find_calibration
    from grader.engine import Grader
    from grader.labelled import LabelledInputError, evaluate_labelled
    from grader.rubric import RubricError

    paths = getattr(args, "fixtures", None) or getattr(args, "labelled", None) or []
    if isinstance(paths, str):
        paths = [paths]
    cal_path = getattr(args, "calibration", None)
    rubric_paths = getattr(args, "rubrics", None)
    try:
        calibration = Calibration.load(cal_path) if cal_path else (find_calibration(rubric_paths) if rubric_paths else None)
        rubrics = _rubrics(rubric_paths)
        optional = _bundled_if(rubric_paths)
    except (ValueError, RubricError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    encoder = _encoder(getattr(args, "model", "bundled"), not getattr(args, "no_cache", False))

    def build(rubric_set):  # type: ignore[no-untyped-def]
        return Grader(rubric_set, encoder)

    plot = getattr(args, "plot", None)
    for i, path in enumerate(paths):
        plot_path = None
        if plot:
            plot_path = plot if len(paths) == 1 else str(Path(plot).with_name(f"{Path(plot).stem}-{Path(path).stem}{Path(plot).suffix or '.png'}"))
        try:
            print(evaluate_labelled(build, path, rubrics=rubrics, optional_rubrics=optional, calibration=calibration, plot_path=plot_path, bins=getattr(args, "bins", 5), limit=getattr(args, "limit", None), **_columns(args)))
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


def add_column_options(p: argparse.ArgumentParser) -> None:
    """The ``--*-column`` options of labelled CSVs (defaults: the benchmarks' names, then common ones)."""
    p.add_argument("--question-id-column", help="default: question_id")
    p.add_argument("--question-column", help="default: question")
    p.add_argument("--reference-column", help="default: reference_answer")
    p.add_argument("--answer-column", help="default: student_answer, else answer")
    p.add_argument("--score-column", help="default: gold_score, else human_score, score")


def add_labelled_evaluate_options(p: argparse.ArgumentParser) -> None:
    """Options that ``grader evaluate`` needs for labelled CSVs (add them to its parser)."""
    add_column_options(p)
    p.add_argument("--calibration", help="calibration.json to apply (default: the one next to --rubrics, if any)")
    p.add_argument("--plot", help="write a calibration plot (predicted vs human) to this PNG")
    p.add_argument("--bins", type=int, default=5, help="bins for QWK when the human scores are continuous (default 5)")
    p.add_argument("--limit", type=int, help="read only the first N rows")
    p.add_argument("--no-cache", action="store_true", help="do not cache answer embeddings on disk")


def add_reference_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``draft-rubric`` and ``calibrate`` on the ``grader`` parser."""
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

    p = sub.add_parser("calibrate", help="fit the mapping from grades to human scores on a labelled CSV")
    p.add_argument("labelled", help="CSV with answers and human scores (question_id, or question + reference_answer)")
    p.add_argument("--rubrics", action="append", help="rubric file or folder (repeatable); rows whose question id is not there need question + reference_answer")
    p.add_argument("-o", "--output", help="where to write calibration.json (default: next to the first --rubrics, else --save-rubrics, else ./calibration.json)")
    p.add_argument("--save-rubrics", help="write the rubrics drafted from reference answers to this folder")
    p.add_argument("--held-out", type=float, default=0.2, help="share of rows held out to report the fit (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split (default 0)")
    p.add_argument("--scale-min", type=float, help="lowest possible human score (default: the lowest seen)")
    p.add_argument("--scale-max", type=float, help="highest possible human score (default: the highest seen)")
    p.add_argument("--limit", type=int, help="read only the first N rows")
    p.add_argument("--report", action="store_true", help="also print the in-sample agreement table")
    p.add_argument("--no-cache", action="store_true", help="do not cache answer embeddings on disk")
    p.add_argument("--model", default="bundled", help="sentence-transformers model name or folder (default: bundled)")
    add_column_options(p)
    p.set_defaults(func=cmd_calibrate)
