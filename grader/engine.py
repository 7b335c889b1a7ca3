"""The public grading API: :class:`Grader`, which runs the pipeline.

rubric set + encoder --compile--> compiled rubrics (once, at construction)
answers --analyse--> analyses (one encoder call for all their segments)
(compiled rubric, analysis) --match--> evidence --score--> GradeResult (+ the trace ``grader explain`` renders)
--calibration (if one lies beside the rubrics)--> the final result.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from grader._version import __version__
from grader.analysis import AnswerAnalysis, analyse_many
from grader.compile import CompiledRubric, compile_rubrics
from grader.embedding.cache import CachedEncoder
from grader.embedding.encoder import DEFAULT_MODEL, Encoder, load_encoder
from grader.match import AnswerEvidence, collect_evidence
from grader.paths import bundled_rubrics_dir, default_cache_dir
from grader.result import GradeResult
from grader.rubric import Rubric, load_rubric_set, rubric_hash
from grader.score.calibration import Calibration, find_calibration
from grader.score.grade import Trace, score_answer
from grader.score.params import CombinerParams
from grader.signature import Signature

SEGMENTER_VERSION = "seg2"


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
        self._params = params or CombinerParams.load()
        self.rubric_hash = rubric_hash(rubrics)
        # The reference phrasings go through the embedding disk cache; answers are never cached here.
        references = CachedEncoder(encoder, (cache_dir or default_cache_dir()) / "embeddings" if use_cache else None)
        self.compiled: dict[str, CompiledRubric] = compile_rubrics(list(rubrics), references)
        self.calibration = calibration
        self.signature_fields = self._signature(self._params)
        self.signature = self.signature_fields.format()
        if calibration is not None:
            for problem in calibration.check(self.signature_fields):
                warnings.warn(f"grader: {problem}; refit with 'grader calibrate'", stacklevel=2)

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
    def params(self) -> CombinerParams:
        """The combiner's parameters (read-only: the signature names them; pass ``params=`` to grade with others)."""
        return self._params

    @property
    def question_ids(self) -> list[str]:
        """The ids of the questions this grader knows."""
        return list(self.rubrics)

    def _signature(self, params: CombinerParams) -> Signature:
        return Signature(
            version=__version__,
            model=self.encoder.model_id,
            rubrics=self.rubric_hash,
            combiner=params.digest(),
            segmenter=SEGMENTER_VERSION,
        )

    def _check(self, question_id: str) -> None:
        if question_id not in self.rubrics:
            known = ", ".join(self.rubrics)
            raise UnknownQuestionError(f"unknown question id '{question_id}' (known: {known})")

    def evidence(self, question_id: str, analysis: AnswerAnalysis) -> AnswerEvidence:
        """The match stage: what the answer offers each point and misconception (independent of the combiner)."""
        self._check(question_id)
        others = [c for qid, c in self.compiled.items() if qid != question_id]
        return collect_evidence(self.compiled[question_id], analysis, others)

    def trace_analysed(
        self,
        question_id: str,
        analysis: AnswerAnalysis,
        feedback_language: str | None = None,
        *,
        evidence: AnswerEvidence | None = None,
        params: CombinerParams | None = None,
    ) -> Trace:
        """Grade an analysed answer and keep how: the trace's result is the final one (calibrated, if the grader has a calibration).

        ``evidence`` may be precomputed (:meth:`evidence`); ``params`` grades with other combiner
        parameters (the result's signature then names them).
        """
        self._check(question_id)
        params = params or self._params
        signature = self.signature if params is self._params else self._signature(params).format()
        trace = score_answer(
            self.compiled[question_id],
            analysis,
            evidence or self.evidence(question_id, analysis),
            params,
            signature,
            feedback_language,
        )
        if self.calibration is None:
            return trace
        return dataclasses.replace(trace, result=self.calibration.apply(trace.result))

    def grade_analysed(
        self,
        question_id: str,
        analysis: AnswerAnalysis,
        feedback_language: str | None = None,
        *,
        evidence: AnswerEvidence | None = None,
        params: CombinerParams | None = None,
    ) -> GradeResult:
        """Grade an already analysed answer (the pure steps after encoding); see :meth:`trace_analysed`."""
        return self.trace_analysed(question_id, analysis, feedback_language, evidence=evidence, params=params).result

    def grade(self, question_id: str, answer: str, *, feedback_language: str | None = None) -> GradeResult:
        """Grade one answer to ``question_id``. Feedback is in the answer's language unless ``feedback_language`` is 'vi' or 'en'."""
        return self.grade_many([(question_id, answer)], feedback_language=feedback_language)[0]

    def grade_many(self, items: Sequence[tuple[str, str]], *, feedback_language: str | None = None) -> list[GradeResult]:
        """Grade many (question id, answer) pairs with one encoder call for all their segments."""
        return [t.result for t in self.trace_many(items, feedback_language=feedback_language)]

    def trace_many(self, items: Sequence[tuple[str, str]], *, feedback_language: str | None = None) -> list[Trace]:
        """:meth:`grade_many`, keeping each answer's trace."""
        for qid, _ in items:
            self._check(qid)
        analyses = analyse_many([a for _, a in items], self.encoder)
        return [self.trace_analysed(qid, an, feedback_language) for (qid, _), an in zip(items, analyses)]

    def trace(self, question_id: str, answer: str, *, feedback_language: str | None = None) -> Trace:
        """Grade one answer and keep how it was graded (what ``grader explain`` prints)."""
        return self.trace_many([(question_id, answer)], feedback_language=feedback_language)[0]
