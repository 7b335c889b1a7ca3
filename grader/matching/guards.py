"""Answer-level guards that embedding similarity cannot provide.

Measured on plain cosine, a bare list of the right terms, a copy of the
question and a fluent answer to another question all score like real answers.
These checks look at the answer's structure and at its relation to the
question instead.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz

from grader.analysis import AnswerAnalysis, leaf_segments
from grader.compiled import CompiledRubric
from grader.matching.features import adds_negation, point_z_matrix, sentence_text
from grader.text.normalize import diacritic_ratio, fold, nfc

# Function words that an explanatory sentence contains and a list of terms lacks.
# Matched with diacritics where the answer has them: folded, "bằng" (by) would
# also match "cân bằng" (balance) and "mà" (but) "ma trận" (matrix).
_VI_FUNCTION = frozenset(
    (
        "là của và được không các những một trong cho khi thì để với này nên vì sẽ đã đang có hay nếu làm giúp "
        "về như từ đến ra bị cũng rất nhiều quá hơn giữa sau trước lại mà do nó em mình ta thế vậy nào"
    ).split()
)
_VI_FUNCTION_FOLDED = frozenset(fold(w) for w in _VI_FUNCTION) - {"ma", "so", "ra", "do", "the", "to", "an"}
_EN_FUNCTION = frozenset(
    (
        "the is are of and to a in that it for with as on be by this an or from which can was we when not its "
        "has have if into more does do so than each also makes make helps help because then you i"
    ).split()
)
_SEPARATORS = re.compile(r"[,;/|\n•·]+|\s-\s")


@lru_cache(maxsize=1)
def _tokenizer():  # type: ignore[no-untyped-def]
    import spacy

    return spacy.blank("xx").tokenizer


def keyword_list_score(text: str) -> float:
    """How much ``text`` looks like a bare list of terms, in [0, 1] (1: certainly a list).

    A list has several short pieces between separators and almost no function
    words; an explanation, however terse, has function words in most clauses.
    """
    tokens = [t for t in _tokenizer()(nfc(text)) if not t.is_space]
    words = [t.text.lower() for t in tokens if t.is_alpha]
    if len(words) < 3:
        return 0.0
    pieces = [p for p in _SEPARATORS.split(text) if p.strip()]
    vi_words = _VI_FUNCTION if diacritic_ratio(text) >= 0.02 else _VI_FUNCTION_FOLDED
    function_share = sum(w in vi_words or w in _EN_FUNCTION for w in words) / len(words)
    words_per_piece = len(words) / max(len(pieces), 1)
    if len(pieces) < 3:
        return 0.0
    listiness = 1.0 if words_per_piece <= 3.5 else max(0.0, 1.0 - (words_per_piece - 3.5) / 3.0)
    bareness = 1.0 if function_share <= 0.08 else max(0.0, 1.0 - (function_share - 0.08) / 0.12)
    return listiness * bareness


def copies_question(compiled: CompiledRubric, analysis: AnswerAnalysis) -> bool:
    """Whether the answer is (nearly) the question restated, in either language, with or without diacritics."""
    answer = analysis.folded_text
    if not answer:
        return False
    for q in compiled.question_texts:
        fq = fold(q)
        # Most of the answer is the question's words, and it adds little of its own. A short
        # reply made of a few of the question's words ("Gấp đôi ạ.") answers it, not copies it.
        if 0.5 * len(fq) <= len(answer) <= 1.4 * len(fq) + 20 and fuzz.token_set_ratio(answer, fq) >= 80:
            return True
    return False


def negated_share(compiled: CompiledRubric, analysis: AnswerAnalysis, min_z: float = 1.0, zmat: np.ndarray | None = None) -> float:
    """Share of the answer's on-topic clauses that negate the point they match best.

    An answer that states the rubric's points only to deny them ("BN không giúp …,
    cũng không …") has most of its on-topic clauses negated; a real answer has few.
    """
    english = analysis.language == "en"
    zmat = point_z_matrix(compiled, analysis) if zmat is None else zmat
    relevant = negating = 0
    for i in leaf_segments(analysis):
        k = int(zmat[:, i].argmax())
        if zmat[k, i] < min_z:
            continue
        best_target = compiled.points[k]
        best_neg = bool(best_target.ref_negated[int((best_target.emb @ analysis.segment_emb[i]).argmax())])
        relevant += 1
        if adds_negation(analysis.segments[i].text, best_target, best_neg, english, sentence_text(analysis, i)):
            negating += 1
    return negating / relevant if relevant else 0.0
