"""Answer analysis: normalised forms, language, segments (sentences and clauses, with offsets) and their embeddings.

The only step that runs the model on an answer; everything after it is a pure function of
the analysis and a compiled rubric. :func:`analyse_many` encodes all segments of many
answers in one encoder call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grader.embedding.encoder import Encoder
from grader.text.language import LanguageForm, detect_language
from grader.text.normalize import fold, nfc, normalize
from grader.text.segment import Segment, segment

MAX_ANSWER_CHARS = 6000


@dataclass
class AnswerAnalysis:
    """One answer, ready for matching. ``segments`` index ``text`` (the NFC answer).

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


def prepare(text: str) -> tuple[str, bool, list[Segment]]:
    """NFC text (cut to ``MAX_ANSWER_CHARS``), whether it was cut, and its segments."""
    t = nfc(text or "")
    truncated = len(t) > MAX_ANSWER_CHARS
    if truncated:
        t = t[:MAX_ANSWER_CHARS]
    return t, truncated, segment(t)


def analyse_many(texts: Sequence[str], encoder: Encoder) -> list[AnswerAnalysis]:
    """Analyse many answers with a single encoder call for all their segments."""
    prepared = [prepare(t) for t in texts]
    to_encode: list[str] = []
    for t, _, segs in prepared:
        to_encode.extend(s.text for s in segs)
    vectors = encoder.encode(to_encode) if to_encode else np.zeros((0, 1), dtype=np.float32)
    out: list[AnswerAnalysis] = []
    i = 0
    for t, truncated, segs in prepared:
        n = len(segs)
        norm = normalize(t)
        out.append(
            AnswerAnalysis(
                text=t,
                norm_text=norm,
                folded_text=fold(norm),
                language=detect_language(t),
                segments=segs,
                segment_emb=vectors[i : i + n],
                truncated=truncated,
                leaves=_leaves(segs),
                sentence_of=[_sentence_of(segs, k) for k in range(n)],
                clauses=[_clauses_within(segs, k) for k in range(n)],
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
