"""The public grading API: :class:`Grader`, which runs the pipeline.

rubric set + encoder --compile--> compiled rubrics (once, at construction)
answers --analyse--> analyses (diacritics and shorthand restored; one encoder call for all their segments)
(compiled rubric, analysis) --match--> evidence --score--> GradeResult (+ the trace ``grader explain`` renders)
--calibration (if one lies beside the rubrics)--> the final result.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

from grader._version import __version__
from grader.analysis import MAX_ANSWER_CHARS, AnswerAnalysis, analyse_many
from grader.compile import CompiledRubric, compile_rubrics
from grader.compile.probe import probe_digest
from grader.embedding.cache import CachedEncoder
from grader.embedding.encoder import DEFAULT_BACKEND, DEFAULT_MODEL, Encoder, check_backend, load_encoder
from grader.match import AnswerEvidence, collect_evidence
from grader.paths import bundled_rubrics_dir, default_cache_dir
from grader.result import GradeResult
from grader.rubric import Rubric, UnknownQuestionError, check_question_id, load_rubric_set, rubric_hash
from grader.score.calibration import Calibration, find_calibration
from grader.score.grade import Trace, score_answer
from grader.score.grade import feedback_language as score_feedback_language
from grader.score.params import CombinerParams
from grader.signature import Signature
from grader.text.restore import data_digest

# How answers are cut and read (segmentation, polarity and list rules): bumped when a change moves scores, so a
# calibration fitted before it is reported stale. seg3: formula operators, arrow links, topics, reported speech.
SEGMENTER_VERSION = "seg3"
__all__ = ["Grader", "UnknownQuestionError", "check_answer", "check_feedback_language"]


#: The feedback languages (None: each answer's own).
FEEDBACK_LANGUAGES = ("vi", "en")
#: Answers are cut to this many characters before analysis, which cuts at ``MAX_ANSWER_CHARS`` and flags
#: ``truncated``: normalising a 10 MB string first would be wasted. NFC can shorten decomposed Vietnamese
#: about threefold, so the margin keeps the analysis' cut where it would be.
PRECUT_CHARS = MAX_ANSWER_CHARS * 4
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_feedback_language(feedback_language: object) -> str | None:
    """``feedback_language`` itself if it is None, 'vi' or 'en'; else a TypeError or ValueError naming it."""
    if feedback_language is None or feedback_language in FEEDBACK_LANGUAGES:
        return feedback_language  # type: ignore[return-value]
    if not isinstance(feedback_language, str):
        raise TypeError(f"feedback_language must be 'vi', 'en' or None, not {type(feedback_language).__name__}")
    raise ValueError(f"feedback_language must be 'vi', 'en' or None (the answer's language), not {feedback_language!r}")


def check_answer(answer: object, name: str = "answer") -> str:
    """``answer`` cut to :data:`PRECUT_CHARS`; a TypeError or ValueError naming ``name`` if it is not text."""
    if isinstance(answer, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be a str, not {type(answer).__name__} (decode the bytes first, e.g. with .decode('utf-8'))")
    if not isinstance(answer, str):
        raise TypeError(f"{name} must be a str, not {type(answer).__name__}")
    text = answer[:PRECUT_CHARS]
    bad = _SURROGATE.search(text)
    if bad is not None:
        # Lone surrogates are what decoding bytes with errors="surrogateescape" leaves: no encoder takes them.
        raise ValueError(f"{name} holds an undecodable character (a lone surrogate) at offset {bad.start()}: decode the bytes as UTF-8 text first")
    return text


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
        restore: bool = True,
    ):
        """``restore``: restore the diacritics and expand the chat shorthand of answers before grading
        (:mod:`grader.text.restore`); results quote the answers as written either way."""
        if isinstance(rubrics, (str, os.PathLike)):
            raise TypeError("rubrics must be Rubric objects; for files or folders use Grader.from_path(paths)")
        if not rubrics:
            raise ValueError("a Grader needs at least one rubric")
        for i, r in enumerate(rubrics):
            if not isinstance(r, Rubric):
                raise TypeError(f"rubrics[{i}] must be a Rubric, not {type(r).__name__} (Grader.from_path reads files)")
        if len({r.id for r in rubrics}) < len(rubrics):
            raise ValueError("rubrics holds two rubrics with the same id: give each question its own id")
        self.rubrics = {r.id: r for r in rubrics}
        self.encoder = encoder
        self.restore = restore
        self._params = params or CombinerParams.load()
        self.rubric_hash = rubric_hash(rubrics)
        # The reference phrasings go through the embedding disk cache; answers are never cached here.
        references = CachedEncoder(encoder, (cache_dir or default_cache_dir()) / "embeddings" if use_cache else None)
        #: The encoder of rubric texts, through the disk cache (``grader lint`` grades the phrasings with it).
        self.reference_encoder: Encoder = references
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
        backend: str = DEFAULT_BACKEND,
        encoder: Encoder | None = None,
        params: CombinerParams | None = None,
        cache_dir: Path | None = None,
        restore: bool = True,
    ) -> Grader:
        """A grader for the rubric files under ``paths`` (files or folders); raises RubricError if any is invalid.

        ``model`` on ``backend`` (:data:`~grader.embedding.encoder.BACKENDS`; ``"torch"`` is the reference) is the
        encoder unless ``encoder`` is given."""
        check_backend(backend)
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        paths = [str(p) for p in paths]
        loaded = load_rubric_set(paths)
        # an empty CachedEncoder is falsy (len 0): compare with None
        enc = encoder if encoder is not None else load_encoder(model, backend)
        # A calibration.json beside the rubrics (written by `grader calibrate`) is picked up.
        return cls(
            [lr.rubric for lr in loaded],
            enc,
            params=params,
            cache_dir=cache_dir,
            calibration=find_calibration(paths),
            restore=restore,
        )

    @classmethod
    def default(
        cls,
        *,
        model: str = DEFAULT_MODEL,
        backend: str = DEFAULT_BACKEND,
        encoder: Encoder | None = None,
        cache_dir: Path | None = None,
        restore: bool = True,
    ) -> Grader:
        """The bundled 12 rubrics with the bundled multilingual model (or ``model``) on ``backend`` (default
        ``"openvino"``: the torch backend's scores without torch; ``"torch"``, ``"openvino-int8"``)."""
        return cls.from_path(
            bundled_rubrics_dir(), model=model, backend=backend, encoder=encoder, cache_dir=cache_dir, restore=restore
        )

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
            backend=getattr(self.encoder, "backend", None),
            rubrics=self.rubric_hash,
            combiner=params.digest(),
            probe=self._probe_digest,
            segmenter=SEGMENTER_VERSION,
            restorer=data_digest() if self.restore else None,
        )

    @cached_property
    def _probe_digest(self) -> str | None:
        # The probes' fitted numbers (grader.compile.probe), in rubric order: what they learned is part of the grade.
        probes = [c.probe for _, c in sorted(self.compiled.items()) if c.probe is not None]
        return probe_digest(probes) if probes else None

    def resolve(self, question_id: str) -> str:
        """The rubric id that ``question_id`` names, ignoring case and surrounding whitespace (``" Q1"`` is ``q1``).

        TypeError if it is not a str; :class:`UnknownQuestionError` (a KeyError) listing the known ids if it names none.
        """
        return check_question_id(question_id, self.rubrics)

    def evidence(self, question_id: str, analysis: AnswerAnalysis) -> AnswerEvidence:
        """The match stage: what the answer offers each point and misconception (independent of the combiner)."""
        question_id = self.resolve(question_id)
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
        question_id = self.resolve(question_id)
        feedback_language = check_feedback_language(feedback_language)
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
        lang = score_feedback_language(analysis, feedback_language)
        return dataclasses.replace(trace, result=self.calibration.apply(trace.result, lang))

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
        """Grade one answer to ``question_id`` (matched ignoring case and surrounding spaces, see :meth:`resolve`).

        Feedback and notes are in the answer's language unless ``feedback_language`` is 'vi' or 'en'.
        Raises TypeError (an answer that is not a str, e.g. bytes), ValueError (undecodable characters,
        another feedback language) or :class:`UnknownQuestionError`, each naming the argument, before any model call.
        """
        return self.trace(question_id, answer, feedback_language=feedback_language).result

    def grade_many(self, items: Sequence[tuple[str, str]], *, feedback_language: str | None = None) -> list[GradeResult]:
        """Grade many (question id, answer) pairs with one encoder call for all their segments."""
        return [t.result for t in self.trace_many(items, feedback_language=feedback_language)]

    def trace_many(self, items: Sequence[tuple[str, str]], *, feedback_language: str | None = None) -> list[Trace]:
        """:meth:`grade_many`, keeping each answer's trace."""
        checked = self._check_items(items)
        feedback_language = check_feedback_language(feedback_language)
        analyses = analyse_many([a for _, a in checked], self.encoder, restoring=self.restore)
        return [self.trace_analysed(qid, an, feedback_language) for (qid, _), an in zip(checked, analyses)]

    def _check_items(self, items: object) -> list[tuple[str, str]]:
        """``items`` as (rubric id, answer) pairs; TypeError/ValueError naming the first bad one (before any model call)."""
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise TypeError(f"items must be a sequence of (question_id, answer) pairs, not {type(items).__name__}")
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"items[{i}] must be a (question_id, answer) pair, not {type(item).__name__}")
            qid, answer = item
            out.append((self.resolve(qid), check_answer(answer, f"items[{i}] answer")))
        return out

    def trace(self, question_id: str, answer: str, *, feedback_language: str | None = None) -> Trace:
        """Grade one answer and keep how it was graded (what ``grader explain`` prints)."""
        qid = self.resolve(question_id)
        return self.trace_many([(qid, check_answer(answer))], feedback_language=feedback_language)[0]
