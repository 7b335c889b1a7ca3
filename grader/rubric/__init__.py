"""Rubric format, loading and model-free checks (no torch imported here)."""

from grader.rubric.check import check_rubric, load_rubric_set, validate_paths
from grader.rubric.ids import UnknownQuestionError, check_question_id, question_key, resolve_question_id
from grader.rubric.load import Problem, RubricError, read_rubric_file, rubric_hash
from grader.rubric.schema import Example, Keyword, Misconception, Point, Rubric

__all__ = [
    "Example",
    "Keyword",
    "Misconception",
    "Point",
    "Problem",
    "Rubric",
    "RubricError",
    "UnknownQuestionError",
    "check_question_id",
    "check_rubric",
    "load_rubric_set",
    "question_key",
    "read_rubric_file",
    "resolve_question_id",
    "rubric_hash",
    "validate_paths",
]
