"""LLM-free grading of free-text answers against bilingual rubrics.

The model-free part (rubric schema, validation) imports nothing heavy; the
grading engine is imported lazily so that ``import grader`` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader._version import __version__
from grader.rubric import Rubric, RubricError, load_rubric_set, validate_paths

if TYPE_CHECKING:
    from grader.engine import Grader
    from grader.result import GradeResult

__all__ = ["GradeResult", "Grader", "Rubric", "RubricError", "__version__", "load_rubric_set", "validate_paths"]


def __getattr__(name: str) -> Any:
    if name == "Grader":
        from grader.engine import Grader

        return Grader
    if name == "GradeResult":
        from grader.result import GradeResult

        return GradeResult
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
