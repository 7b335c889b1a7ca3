"""Install time and size of the validate-rubrics hook environment (the package without extras).

    python benchmarks/hook_env.py

Prints the seconds `pip install .` takes in a fresh virtual environment, the
environment's size on disk, and the wall time of `grader validate` on the 12
bundled rubrics in it (a fresh interpreter each time, so imports are counted).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        t1 = time.perf_counter()
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)], check=True)
        t2 = time.perf_counter()
        runs = []
        for _ in range(5):
            s = time.perf_counter()
            subprocess.run([str(venv / "bin" / "grader"), "validate", "-q"], check=True)
            runs.append(time.perf_counter() - s)
        print(f"venv creation          {t1 - t0:6.1f} s")
        print(f"pip install . (lean)   {t2 - t1:6.1f} s")
        print(f"environment size       {du_mb(venv):6.1f} MB")
        print(f"grader validate (12)   {min(runs):6.2f} s best of 5, {sorted(runs)[2]:.2f} s median (process start included)")


if __name__ == "__main__":
    main()
