"""Grading speed of the encoder backends against the torch fp32 reference, on the same answers, in one run.

    .venv/bin/python benchmarks/speed.py                              # torch vs openvino, openvino-int8
    .venv/bin/python benchmarks/speed.py --backends openvino-int8 --repeat 2

Prints, for the torch fp32 path and each backend:

* throughput: answers/s of ``Grader.grade_many`` (segmentation, encoding and scoring: the whole grading) on
  the fixture answers (``fixtures/*.csv`` and ``fixtures/holdout/*.csv``), in chunks of ``--chunk`` answers,
  the backends interleaved chunk by chunk (the order rotating) so that the machine's other load falls on all
  of them alike; and the ratio to torch;
* first run: a fresh process on an empty cache folder (``--fresh``, default the openvino backend), from launch to
  the first graded answer: conversion, export and the rubrics' embeddings;
* cold start: a fresh process, from launch to the first graded answer, with a warm cache (the model converted
  and exported, the rubrics embedded: each backend is warmed in a process of its own first), with its phases,
  and whether torch, transformers or sentence_transformers were imported;
* peak RSS (``VmHWM``) of that process after it also graded the fixture answers (chunks of 32);
* how scores move: the largest and mean absolute difference to torch fp32, and how many answers differ by
  more than 0.01, on all answers, the fixtures and the hold-out sets.

Numbers depend on the machine's other load (the load average is printed); the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from grader.engine import Grader
from grader.evaluate.fixtures import load_fixtures
t1 = time.perf_counter()
grader = Grader.default(backend=sys.argv[1])  # the encoder (converted, exported on a fresh cache) + the rubrics
t3 = time.perf_counter()
grader.grade("q1", "BN chuẩn hóa activation của mỗi layer về mean 0, variance 1 theo mini-batch, nhờ vậy gradient ổn định.")
t4 = time.perf_counter()
wall_first = time.time()
def hwm():  # VmHWM: ru_maxrss would carry the parent's peak over fork+exec
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
first_rss = hwm()
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
items = [(f.question_id, f.answer) for f in load_fixtures(sys.argv[2:])]
for i in range(0, len(items), 32):  # none when only warming the caches
    grader.grade_many(items[i : i + 32])
print(json.dumps({"imports": t1 - t0, "grader": t3 - t1, "first_grade": t4 - t3, "in_process": t4 - t0,
                  "rss_first_mb": first_rss, "wall_first": wall_first, "peak_rss_mb": hwm(), "heavy": heavy,
                  "graded": len(items)}))
"""


def cold_start(backend: str, fixture_dirs: list[str], cache_dir: str | None = None) -> dict[str, Any]:
    """Launch a fresh interpreter: time to its first graded answer, its phases and its peak RSS (no dirs: the
    first grade only). ``cache_dir``: run on that cache folder (empty: a first run on a fresh machine)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if cache_dir is not None:
        env["GRADER_CACHE_DIR"] = cache_dir
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, backend, *fixture_dirs], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} child failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # wall clock from launch to the first grade: interpreter start-up plus the in-process phases
    out["process_start"] = (out["wall_first"] - start) - out["in_process"]
    return out


def _diff_line(diff: np.ndarray) -> str:
    return f"max {diff.max():.4f} mean {diff.mean():.5f}, {int((diff > 0.01).sum())} of {len(diff)} > 0.01"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", nargs="+", default=["openvino", "openvino-int8"], help="compared with torch")
    p.add_argument("--chunk", type=int, default=32, help="answers per grade_many call")
    p.add_argument("--repeat", type=int, default=1, help="passes over the answers")
    p.add_argument("--no-cold", action="store_true", help="skip the cold-start processes")
    p.add_argument("--fresh", nargs="*", default=["openvino"], help="backends timed on an empty cache folder")
    args = p.parse_args()

    from grader.engine import Grader
    from grader.evaluate.fixtures import load_fixtures

    fixture_dirs = [str(ROOT / "fixtures"), str(ROOT / "fixtures" / "holdout")]
    sets = {d: [(f.question_id, f.answer) for f in load_fixtures([d])] for d in fixture_dirs}
    items = [it for d in fixture_dirs for it in sets[d]]
    names = ["torch", *[b for b in args.backends if b != "torch"]]
    print(f"{len(items)} answers (fixtures {len(sets[fixture_dirs[0]])} + hold-out {len(sets[fixture_dirs[1]])}), "
          f"chunks of {args.chunk}, {args.repeat} pass(es); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    for name in args.fresh:  # first: a first run (conversion, export, rubric embeddings) on an empty cache folder
        with tempfile.TemporaryDirectory(prefix="grader-fresh-") as tmp:
            r = cold_start(name, [], cache_dir=tmp)
            print(f"first run, empty cache, {name}: {r['process_start'] + r['in_process']:.1f} s to the first graded "
                  f"answer (imports {r['imports']:.1f}, Grader.default: conversion + export + rubric embeddings "
                  f"{r['grader']:.1f}, first grade {r['first_grade']:.1f}); peak RSS {r['peak_rss_mb']:.0f} MB")
    if not args.no_cold:
        for name in names:  # warm the caches (conversion, export, rubric embeddings) in a process of its own
            cold_start(name, [])

    graders = {}
    for name in names:
        t = time.perf_counter()
        graders[name] = Grader.default(backend=name)
        print(f"  {name}: encoder + grader ready in {time.perf_counter() - t:.1f} s ({graders[name].signature})")
    seconds = dict.fromkeys(names, 0.0)
    scores: dict[str, list[float]] = {n: [] for n in names}
    chunks = [items[i : i + args.chunk] for i in range(0, len(items), args.chunk)]
    for rep in range(args.repeat):
        for k, chunk in enumerate(chunks):
            order = names[k % len(names) :] + names[: k % len(names)]  # rotate who goes first (warm text caches)
            for name in order:
                t = time.perf_counter()
                results = graders[name].grade_many(chunk)
                seconds[name] += time.perf_counter() - t
                if rep == 0:
                    scores[name] += [r.score for r in results]
    n = len(items) * args.repeat
    ref = np.array(scores["torch"])
    n_fix = len(sets[fixture_dirs[0]])
    print("\nthroughput (grade_many, same answers, interleaved); score differences to torch fp32")
    for name in names:
        diff = np.abs(np.array(scores[name]) - ref)
        line = f"  {name:14s} {n / seconds[name]:6.1f} answers/s  x{seconds['torch'] / seconds[name]:.2f} vs torch"
        if name != "torch":
            line += f"   all {_diff_line(diff)}; fixtures {_diff_line(diff[:n_fix])}; hold-out {_diff_line(diff[n_fix:])}"
        print(line)
    out = Path(os.environ.get("SPEED_SCORES", "")) if os.environ.get("SPEED_SCORES") else None
    if out is not None:  # the scores, for agreement figures per backend (benchmarks' callers)
        out.write_text(json.dumps({"items": items, "scores": scores}), encoding="utf-8")

    if not args.no_cold:
        print(f"\ncold start, fresh process, warm cache (launch → first graded answer); peak RSS after "
              f"{n_fix} more answers")
        for name in names:
            r = cold_start(name, fixture_dirs[:1])  # then the fixture answers, for the peak RSS
            total = r["process_start"] + r["in_process"]
            print(f"  {name:14s} {total:5.1f} s  (interpreter {r['process_start']:.1f}, imports {r['imports']:.1f}, "
                  f"Grader.default {r['grader']:.1f}, first grade {r['first_grade']:.1f})"
                  f"  RSS at first grade {r['rss_first_mb']:.0f} MB, peak {r['peak_rss_mb']:.0f} MB; "
                  f"loaded: {', '.join(r['heavy']) or 'no torch, transformers, sentence_transformers'}")


if __name__ == "__main__":
    main()
