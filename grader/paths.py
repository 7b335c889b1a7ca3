"""Where the bundled rubrics and the caches live (no heavy imports)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GRADER_CACHE_DIR"


def bundled_rubrics_dir() -> Path:
    """The 12 bundled rubrics: inside the package when installed from a wheel, else the checkout's ``rubrics/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "bundled_rubrics", here.parent / "rubrics"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the bundled rubrics are missing: reinstall grader or pass a rubric folder")


def default_cache_dir() -> Path:
    """Cache folder for converted models and embeddings: ``$GRADER_CACHE_DIR``, else the platform's user cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # the model extra: only model commands need a cache

    return Path(platformdirs.user_cache_dir("grader"))
