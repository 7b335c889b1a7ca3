"""The public grading API: :class:`Grader`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from grader import __version__
from grader.calibration import Calibration, find_calibration
from grader.analysis import AnswerAnalysis, analyse_many
from grader.compiled import CompiledRubric, EmbeddingCache, compile_rubrics
from grader.embedding.encoder import DEFAULT_MODEL, Encoder, load_encoder
from grader.matching.combine import CombinerParams
from grader.matching.features import topic_strength
from grader.paths import bundled_rubrics_dir
from grader.result import GradeResult
from grader.rubric import Rubric, load_rubric_set, rubric_hash
from grader.scoring import AnswerEvidence, TopicContext, grade_answer

SEGMENTER_VERSION = "seg1"


def default_cache_dir() -> Path:
    """Cache folder for converted models and embeddings (``GRADER_CACHE_DIR`` overrides)."""
    from grader.embedding.bundled_model import default_cache_dir as models_dir

    return models_dir().parent


class UnknownQuestionError(KeyError):
    """The question id is not in the grader's rubric set."""

    def __str__(self) -> str:
        return str(self.args[0])


class Grader:
    """Grades answers against a rubric set with one sentence encoder.

    >>> grader = Grader.default()
    >>> result = grader.grade("q1", "BN chuẩn hóa activation về zero mean, unit variance ...")
    >>> result.score, [p.status for p in result.points]
    """

    def __init__(
        self,
        rubrics: Sequence[Rubric],
        encoder: Encoder,
        *,
        params: CombinerParams | None = None,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        calibration: Calibration | None = None,
    ):
        if not rubrics:
            raise ValueError("a Grader needs at least one rubric")
        self.rubrics = {r.id: r for r in rubrics}
        self.encoder = encoder
        self.params = params or CombinerParams.load()
        self.rubric_hash = rubric_hash(rubrics)
        cache = EmbeddingCache((cache_dir or default_cache_dir()) / "embeddings" if use_cache else None)
        self.compiled: dict[str, CompiledRubric] = compile_rubrics(list(rubrics), encoder, cache)
        self.calibration = calibration
        if calibration is not None:
            for problem in calibration.check(self):
                warnings.warn(f"grader: {problem}; refit with 'grader calibrate'", stacklevel=2)
        self.signature = (
            f"grader:{__version__}|model:{encoder.model_id}|rubrics:{self.rubric_hash}"
            f"|combiner:{self.params.digest()}|{SEGMENTER_VERSION}"
        )

    @classmethod
    def from_path(
        cls,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        model: str = DEFAULT_MODEL,
        encoder: Encoder | None = None,
        params: CombinerParams | None = None,
        cache_dir: Path | None = None,
    ) -> Grader:
        """A grader for the rubric files under ``paths`` (files or folders); raises RubricError if any is invalid."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        paths = [str(p) for p in paths]
        loaded = load_rubric_set(paths)
        enc = encoder or load_encoder(model)
        # A calibration.json beside the rubrics (written by `grader calibrate`) is picked up.
        return cls([lr.rubric for lr in loaded], enc, params=params, cache_dir=cache_dir, calibration=find_calibration(paths))

    @classmethod
    def default(cls, *, model: str = DEFAULT_MODEL, encoder: Encoder | None = None, cache_dir: Path | None = None) -> Grader:
        """The bundled 12 rubrics with the bundled multilingual model (or ``model``)."""
        return cls.from_path(bundled_rubrics_dir(), model=model, encoder=encoder, cache_dir=cache_dir)

    @property
    def question_ids(self) -> list[str]:
        """The ids of the questions this grader knows."""
        return list(self.rubrics)

    def topic(self, question_id: str, analysis: AnswerAnalysis) -> TopicContext:
        """How well the answer matches its question compared with the other questions of the set."""
        own = topic_strength(self.compiled[question_id], analysis)
        others = [(topic_strength(c, analysis), qid) for qid, c in self.compiled.items() if qid != question_id]
        best, best_id = max(others, default=(-10.0, None))
        return TopicContext(own=own, best_other=best, best_other_id=best_id)

    def _check(self, question_id: str) -> None:
        if question_id not in self.rubrics:
            known = ", ".join(self.rubrics)
            raise UnknownQuestionError(f"unknown question id '{question_id}' (known: {known})")

    def grade_analysed(
        self,
        question_id: str,
        analysis: AnswerAnalysis,
        feedback_language: str | None = None,
        *,
        evidence: AnswerEvidence | None = None,
        topic: TopicContext | None = None,
    ) -> GradeResult:
        """Grade an already analysed answer (the pure step after encoding); evidence and topic may be precomputed."""
        self._check(question_id)
        result = grade_answer(
            self.compiled[question_id],
            analysis,
            self.params,
            topic or self.topic(question_id, analysis),
            self.signature,
            feedback_language,
            evidence,
        )
        return self.calibration.apply(result) if self.calibration is not None else result

    def grade(self, question_id: str, answer: str, *, feedback_language: str | None = None) -> GradeResult:
        """Grade one answer to ``question_id``. Feedback is in the answer's language unless ``feedback_language`` is 'vi' or 'en'."""
        return self.grade_many([(question_id, answer)], feedback_language=feedback_language)[0]

    def grade_many(self, items: Sequence[tuple[str, str]], *, feedback_language: str | None = None) -> list[GradeResult]:
        """Grade many (question id, answer) pairs with one encoder call for all their segments."""
        for qid, _ in items:
            self._check(qid)
        analyses = analyse_many([a for _, a in items], self.encoder)
        return [self.grade_analysed(qid, an, feedback_language) for (qid, _), an in zip(items, analyses)]
