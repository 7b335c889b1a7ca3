"""Fit the bundled rubrics' probes (``grader/data/probes.npz``) with the bundled model.

    python -m grader.train.probes            # writes grader/data/probes.npz
    python -m grader.train.probes --check    # refits in memory, fails if the file differs

A probe is what any rubric gets when it is compiled (:mod:`grader.compile.probe`); shipping the
bundled rubrics' ones fitted spares a first run embedding their ~9,000 training texts. Each is
stored under the digest of its model and examples, so an edited rubric is simply refitted at
compile time. Deterministic: the same rubrics, generators and model give the same probes
(``--check`` compares them to 1e-4, as different BLAS builds differ in the last bits).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from grader.compile.build import background_sentences, compile_rubrics, probe_examples
from grader.compile.probe import SHIPPED, RubricProbe, examples_digest, load_probes, save_probes
from grader.embedding.cache import CachedEncoder
from grader.embedding.encoder import Encoder, load_encoder
from grader.paths import bundled_rubrics_dir, default_cache_dir
from grader.rubric import load_rubric_set

PATH = Path(__file__).resolve().parent.parent / "data" / SHIPPED


def fit_bundled(encoder: Encoder) -> dict[str, RubricProbe]:
    """The bundled rubrics' probes, fitted afresh (none reused), by digest."""
    rubrics = [lr.rubric for lr in load_rubric_set([str(bundled_rubrics_dir())])]
    compiled = compile_rubrics(rubrics, encoder, fitted={})
    examples = probe_examples(rubrics, background_sentences())
    return {examples_digest(encoder.model_id, examples[r.id]): compiled[r.id].probe for r in rubrics}  # type: ignore[misc]


def same(a: dict[str, RubricProbe], b: dict[str, RubricProbe], atol: float = 1e-4) -> bool:
    """Whether two probe sets have the same digests, classes and (to ``atol``) numbers."""
    if a.keys() != b.keys():
        return False
    for d in a:
        x, y = a[d], b[d]
        if x.classes != y.classes or not all(np.allclose(u, v, atol=atol) for u, v in ((x.mean, y.mean), (x.scale, y.scale), (x.weights, y.weights))):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.train.probes", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="refit in memory and compare with the committed file")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    encoder = CachedEncoder(load_encoder(), default_cache_dir() / "embeddings")
    probes = fit_bundled(encoder)
    took = time.perf_counter() - t
    if args.check:
        ok = PATH.is_file() and same(load_probes(PATH), probes)
        print(f"{PATH.name}: {'matches' if ok else 'DIFFERS from'} a fresh fit ({len(probes)} probes, {took:.0f} s)")
        return 0 if ok else 1
    save_probes(PATH, probes)
    print(f"wrote {PATH} ({len(probes)} probes, {PATH.stat().st_size / 1e6:.2f} MB) in {took:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
