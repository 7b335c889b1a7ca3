"""Drafting a rubric from a question and one reference answer (``grader draft-rubric``; no model needed)."""

from grader.drafting.draft import (
    TODO_PREFIX,
    draft_id,
    draft_points,
    draft_to_yaml,
    rubric_data,
    rubric_from_reference,
    sanitize_id,
    split_reference,
)

__all__ = [
    "TODO_PREFIX",
    "draft_id",
    "draft_points",
    "draft_to_yaml",
    "rubric_data",
    "rubric_from_reference",
    "sanitize_id",
    "split_reference",
]
