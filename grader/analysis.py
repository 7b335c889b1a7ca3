"""Answer analysis: restored text, normalised forms, language, segments (sentences and clauses, with offsets)
and their embeddings.

The only step that runs the model on an answer; everything after it is a pure function of
the analysis and a compiled rubric. :func:`analyse_many` encodes all segments of many
answers in one encoder call.

An answer typed without diacritics or in chat shorthand is restored first
(:mod:`grader.text.restore`): segments, embeddings, keywords, patterns and negation all read
the restored text, and :meth:`AnswerAnalysis.to_original` maps a span of it back onto the text
the candidate wrote, which is what results quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grader.embedding.encoder import Encoder
from grader.text.language import LanguageForm, detect_language
from grader.text.normalize import fold, nfc, normalize
from grader.text.restore import RestoredText, restore
from grader.text.segment import Segment, segment

MAX_ANSWER_CHARS = 6000


@dataclass
class AnswerAnalysis:
    """One answer, ready for matching. ``segments`` index ``text``: the NFC answer, restored (its diacritics
    and shorthand, see :mod:`grader.text.restore`); ``restoration`` maps it back onto ``original``, the NFC
    answer as given. ``language`` is the form the answer was written in (``vi_nodiac`` stays ``vi_nodiac``).

    The segment tree is computed once here: ``leaves`` (clauses, and sentences not split into
    clauses), ``sentence_of`` (per segment, the index of the sentence that holds it: itself for a
    sentence) and ``clauses`` (per segment, its clauses in order: empty for a clause or an
    unsplit sentence).
    """

    text: str
    norm_text: str
    folded_text: str
    language: LanguageForm
    segments: list[Segment]
    segment_emb: np.ndarray  # (len(segments), dim)
    truncated: bool = False
    leaves: list[int] = field(default_factory=list)
    sentence_of: list[int] = field(default_factory=list)
    clauses: list[list[int]] = field(default_factory=list)
    restoration: RestoredText | None = None  # None: graded as written

    @property
    def original(self) -> str:
        """The answer as given (NFC, cut to ``MAX_ANSWER_CHARS``): what results quote."""
        return self.restoration.original if self.restoration is not None else self.text

    @property
    def restored(self) -> bool:
        """Whether restoring changed the text that was graded."""
        return self.restoration is not None and self.restoration.changed

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of :attr:`original` that ``text[start:end]`` came from (an expanded shorthand whole)."""
        return self.restoration.to_original(start, end) if self.restoration is not None else (start, end)


@dataclass(frozen=True)
class _Prepared:
    restoration: RestoredText
    truncated: bool
    language: LanguageForm
    segments: list[Segment]


def _prepare(text: str, restoring: bool) -> _Prepared:
    t = nfc(text or "")
    truncated = len(t) > MAX_ANSWER_CHARS
    if truncated:
        t = t[:MAX_ANSWER_CHARS]
    language = detect_language(t)
    restored = restore(t, form=language) if restoring else RestoredText(original=t, text=t)
    if restored.mode == "full" and language in ("en", "unknown"):
        language = "vi_nodiac"  # few function words, but Vietnamese syllables typed without marks
    return _Prepared(restored, truncated, language, segment(restored.text))


def prepare(text: str, restoring: bool = True) -> tuple[str, bool, list[Segment]]:
    """The text graded (NFC, cut to ``MAX_ANSWER_CHARS``, restored), whether it was cut, and its segments."""
    p = _prepare(text, restoring)
    return p.restoration.text, p.truncated, p.segments


def analyse_many(texts: Sequence[str], encoder: Encoder, *, restoring: bool = True) -> list[AnswerAnalysis]:
    """Analyse many answers with a single encoder call for all their segments.

    ``restoring``: restore diacritics and expand shorthand first (:mod:`grader.text.restore`)."""
    prepared = [_prepare(t, restoring) for t in texts]
    to_encode: list[str] = []
    for p in prepared:
        to_encode.extend(s.text for s in p.segments)
    vectors = encoder.encode(to_encode) if to_encode else np.zeros((0, 1), dtype=np.float32)
    out: list[AnswerAnalysis] = []
    i = 0
    for p in prepared:
        t, segs = p.restoration.text, p.segments
        n = len(segs)
        norm = normalize(t)
        out.append(
            AnswerAnalysis(
                text=t,
                norm_text=norm,
                folded_text=fold(norm),
                language=p.language,
                segments=segs,
                segment_emb=vectors[i : i + n],
                truncated=p.truncated,
                leaves=_leaves(segs),
                sentence_of=[_sentence_of(segs, k) for k in range(n)],
                clauses=[_clauses_within(segs, k) for k in range(n)],
                restoration=p.restoration,
            )
        )
        i += n
    return out


# --------------------------------------------------------------------- the segment tree
def _leaves(segs: list[Segment]) -> list[int]:
    out = []
    for i, s in enumerate(segs):
        if s.kind == "clause":
            out.append(i)
        elif not any(c.kind == "clause" and s.start <= c.start and c.end <= s.end for c in segs):
            out.append(i)
    return out


def _sentence_of(segs: list[Segment], index: int) -> int:
    seg = segs[index]
    if seg.kind == "clause":
        for i, s in enumerate(segs):
            if s.kind == "sentence" and s.start <= seg.start and seg.end <= s.end:
                return i
    return index


def _clauses_within(segs: list[Segment], index: int) -> list[int]:
    seg = segs[index]
    if seg.kind != "sentence":
        return []
    return [i for i, s in enumerate(segs) if s.kind == "clause" and seg.start <= s.start and s.end <= seg.end]
