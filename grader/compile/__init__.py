"""Rubric + encoder -> compiled rubric: references embedded, matchers built, background statistics fitted."""

from grader.compile.build import background_sentences, compile_rubrics
from grader.compile.target import CompiledRubric, Target, reference_match

__all__ = ["CompiledRubric", "Target", "background_sentences", "compile_rubrics", "reference_match"]
