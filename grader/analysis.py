"""Answer analysis: normalised forms, language, segments and their embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.embedding.encoder import Encoder
from grader.text.language import LanguageForm, detect_language
from grader.text.normalize import fold, nfc, normalize
from grader.text.segment import Segment, segment

MAX_ANSWER_CHARS = 6000


@dataclass
class AnswerAnalysis:
    """One answer, ready for matching. ``segments`` index ``text`` (the NFC answer)."""

    text: str
    norm_text: str
    folded_text: str
    language: LanguageForm
    segments: list[Segment]
    segment_emb: np.ndarray  # (len(segments), dim)
    answer_emb: np.ndarray  # (dim,) the whole answer
    truncated: bool = False


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
        to_encode.append(t.strip() or " ")
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
                answer_emb=vectors[i + n],
                truncated=truncated,
            )
        )
        i += n + 1
    return out


def leaf_segments(analysis: AnswerAnalysis) -> list[int]:
    """Indices of the smallest segments: clauses, and sentences that were not split into clauses."""
    segs = analysis.segments
    out = []
    for i, s in enumerate(segs):
        if s.kind == "clause":
            out.append(i)
        elif not any(c.kind == "clause" and s.start <= c.start and c.end <= s.end for c in segs):
            out.append(i)
    return out
