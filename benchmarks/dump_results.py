#!/usr/bin/env python
"""Dump everything the engine outputs on the repository's own answers, to compare two versions byte for byte.

    .venv/bin/python benchmarks/dump_results.py OUT_DIR            # grade and write OUT_DIR/*
    .venv/bin/python benchmarks/dump_results.py --compare A B      # list what differs between two dumps

What is written (each file is compared byte for byte):

* ``results.jsonl``: ``GradeResult.model_dump_json()`` of every answer of ``fixtures/*.csv``,
  ``fixtures/holdout/*.csv`` and every example of the bundled rubrics, graded by
  ``Grader.default()`` in one ``grade_many`` call, one line each, prefixed by where the answer
  comes from;
* ``explain-N.txt``: ``grader explain`` of a few answers chosen to pass every guard;
* ``batch-q01.csv``: ``grader batch fixtures/q01.csv``;
* ``evaluate-fixtures.txt``, ``evaluate-holdout.txt``: ``grader evaluate`` of both folders;
* ``fit-combiner.json``: ``grader fit fixtures`` (the combiner refitted on the fit split).

Embeddings depend (in their last bits) on which texts share an encoder call, so a warm cache
filled by another version can move a score in the 4th decimal. By default the dump therefore
runs on a fresh, empty embedding cache (``GRADER_CACHE_DIR`` in a temporary folder, the converted
model linked in from the usual cache): both versions then encode the same texts in the same calls.
Only the public API and the ``grader`` command are used, so the script runs on any version.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPLAINED = [
    ("q1", "BN chuẩn hóa activation của mỗi layer về mean 0, variance 1 theo mini-batch. Nó không giúp giảm overfitting."),
    ("q9", "Ảnh đầu vào tăng gấp đôi chiều rộng và chiều cao thì số tham số của CNN tăng gấp 4 lần, vì số pixel tăng 4 lần."),
    ("q2", "Bias cao nghĩa là mô hình học quá kỹ tập train nên bị overfitting, còn variance cao là khi mô hình quá đơn giản."),
    ("q1", "zero mean, unit variance, gamma beta, gradient ổn định, learning rate lớn, bão hòa, regularization"),
    ("q1", "Data generator đọc dữ liệu từ ổ đĩa theo từng batch rồi yield cho model, nên không phải load cả dataset vào RAM."),
    ("q9", "Không đổi ạ."),
]


def _answers() -> list[tuple[str, str, str]]:
    """(where, question id, answer) of every fixture answer and every rubric example."""
    from grader import load_rubric_set
    from grader.paths import bundled_rubrics_dir

    out: list[tuple[str, str, str]] = []
    for folder in (ROOT / "fixtures", ROOT / "fixtures" / "holdout"):
        for f in sorted(folder.glob("*.csv")):
            with f.open(encoding="utf-8-sig", newline="") as fh:
                for row in csv.DictReader(fh):
                    out.append((f"{f.relative_to(ROOT)}:{row['answer_id']}", row["question_id"], row["answer"]))
    for lr in load_rubric_set([bundled_rubrics_dir()]):
        for i, ex in enumerate(lr.rubric.examples):
            out.append((f"{Path(lr.path).name}:example {i + 1}", lr.rubric.id, ex.answer))
    return out


def _cli(argv: list[str]) -> str:
    """What ``grader ARGV`` prints on standard output (exit status checked)."""
    from grader.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    if rc != 0:
        raise SystemExit(f"grader {' '.join(argv[:2])} exited {rc}")
    return buf.getvalue()


STEPS = ("results", "explain", "batch", "evaluate", "fit")


def dump(out: Path, steps: tuple[str, ...] = STEPS) -> None:
    from grader import Grader

    out.mkdir(parents=True, exist_ok=True)
    if "results" in steps:
        items = _answers()
        grader = Grader.default()
        results = grader.grade_many([(q, a) for _, q, a in items])
        with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
            for (where, _, _), r in zip(items, results):
                fh.write(f"{where}\t{r.model_dump_json()}\n")
        print(f"{len(results)} results written to {out}")
    if "explain" in steps:
        for i, (q, a) in enumerate(EXPLAINED, 1):
            (out / f"explain-{i}.txt").write_text(_cli(["explain", q, a]), encoding="utf-8")
    if "batch" in steps:
        _cli(["batch", str(ROOT / "fixtures" / "q01.csv"), "-o", str(out / "batch-q01.csv"), "--quiet"])
    if "evaluate" in steps:
        (out / "evaluate-fixtures.txt").write_text(_cli(["evaluate", str(ROOT / "fixtures")]), encoding="utf-8")
        (out / "evaluate-holdout.txt").write_text(_cli(["evaluate", str(ROOT / "fixtures" / "holdout")]), encoding="utf-8")
    if "fit" in steps:
        _cli(["fit", str(ROOT / "fixtures"), "-o", str(out / "fit-combiner.json")])


def compare(a: Path, b: Path) -> int:
    """Print what differs between two dumps; 0 when they are identical."""
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    differing = 0
    for name in names:
        fa, fb = a / name, b / name
        if not fa.exists() or not fb.exists():
            print(f"{name}: only in {'B' if not fa.exists() else 'A'}")
            differing += 1
            continue
        la, lb = fa.read_bytes().splitlines(), fb.read_bytes().splitlines()
        if la == lb:
            print(f"{name}: identical ({len(la)} lines)")
            continue
        differing += 1
        diff = [i for i in range(max(len(la), len(lb))) if (la[i] if i < len(la) else None) != (lb[i] if i < len(lb) else None)]
        print(f"{name}: {len(diff)} of {max(len(la), len(lb))} lines differ")
        for i in diff[:5]:
            print(f"  line {i + 1}:\n    A {la[i][:300] if i < len(la) else b'(none)'!r}\n    B {lb[i][:300] if i < len(lb) else b'(none)'!r}")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path, help="folder to write the dump to")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two dumps instead")
    ap.add_argument("--warm", action="store_true", help="use the usual embedding cache instead of a fresh one")
    ap.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS), help="dump only these parts")
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        ap.error("give OUT (or --compare A B)")
    sys.path.insert(0, str(ROOT))
    if args.warm:
        dump(args.out.resolve(), tuple(args.only))
        return 0
    from platformdirs import user_cache_dir

    usual = Path(os.environ.get("GRADER_CACHE_DIR") or user_cache_dir("grader"))
    with tempfile.TemporaryDirectory(prefix="grader-dump-") as tmp:
        if (usual / "models").is_dir():
            os.symlink(usual / "models", Path(tmp) / "models")
        os.environ["GRADER_CACHE_DIR"] = tmp
        dump(args.out.resolve(), tuple(args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
