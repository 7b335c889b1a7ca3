"""Single-answer latency after warm-up, cold start and peak memory of the default grader.

    python benchmarks/latency.py

Cold start is measured in a fresh interpreter: imports, model load (from the
converted cache), rubric compilation (from the embedding cache) and the first
graded answer. Run it twice: the first run on a new machine also converts the
model and embeds the rubrics.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, statistics, time
t0 = time.perf_counter()
from grader import Grader
g = Grader.default()
t1 = time.perf_counter()
answers = [
    "BN chuẩn hóa activation của mỗi layer về mean 0, variance 1 theo mini-batch, nhờ vậy gradient ổn định và có thể dùng learning rate lớn hơn.",
    "It standardises each layer's activations over the mini-batch, so training is more stable and a higher learning rate can be used.",
    "bn chuan hoa dau ra moi layer ve mean 0 variance 1, giup gradient on dinh, giam overfitting mot chut",
]
g.grade("q1", answers[0])
t2 = time.perf_counter()
times = []
for i in range(21):
    s = time.perf_counter(); g.grade("q1", answers[i % 3]); times.append(time.perf_counter() - s)
print(json.dumps({"load": t1 - t0, "first": t2 - t0, "median": statistics.median(times), "p90": sorted(times)[18],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - start
    r = json.loads(out.strip().splitlines()[-1])
    print(f"cold start, process start to first graded answer: {wall:.1f} s (in-process: load {r['load']:.1f} s, first grade {r['first']:.1f} s)")
    print(f"warm single-answer latency: median {r['median'] * 1000:.0f} ms, p90 {r['p90'] * 1000:.0f} ms (21 answers, 1-3 sentences)")
    print(f"peak RSS: {r['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
