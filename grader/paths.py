"""Where the bundled rubrics live (no heavy imports)."""

from __future__ import annotations

from pathlib import Path


def bundled_rubrics_dir() -> Path:
    """The 12 bundled rubrics: inside the package when installed from a wheel, else the checkout's ``rubrics/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "bundled_rubrics", here.parent / "rubrics"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the bundled rubrics are missing: reinstall grader or pass a rubric folder")
