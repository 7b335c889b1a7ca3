"""Answer-level signals that embedding similarity cannot provide.

Measured on plain cosine, a bare list of the right terms, a copy of the question and a
fluent answer to another question all score like real answers. These signals look at the
answer's structure and at its relation to the question instead; the guards of
:mod:`grader.score.guards` decide what they do to the score.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from grader.analysis import AnswerAnalysis
from grader.compile import CompiledRubric
from grader.compile.probe import LIST, NONE, SALAD
from grader.match.polarity import adds_negation
from grader.match.similarity import RubricSimilarity
from grader.text.lexicon import LIST_EN_FUNCTION, LIST_VI_FUNCTION, LIST_VI_FUNCTION_FOLDED
from grader.text.normalize import diacritic_ratio, fold, nfc
from grader.text.negation import negation_explained
from grader.text.segment import is_arrow_link

_SEPARATORS = re.compile(r"[,;/|\n•·]+|\s-\s")
# A word: a whitespace-delimited run of letters, punctuation around it and a possessive 's left out;
# words joined by a hyphen, dash or slash count one by one. Formulas, code and numbers ("TP/(TP+FP)",
# "nn.Linear", "3x3") are not words. On every answer, rubric text and question of the repository
# (1,984 texts) this gives the keyword-list scores spaCy's tokenizer gave, without spaCy
# (benchmarks/spacy_patterns.py); a plain \w+ would count the letters of formulas as words.
_WORD_CHUNK = re.compile(r"(?<!\S)[^\w\s]*([^\W\d_]+(?:[-–—/][^\W\d_]+)*)(?:['’][sS])?[^\w\s]*(?!\S)")
_JOINERS = re.compile(r"[-–—/]")


def words(text: str) -> list[str]:
    """The words of ``text`` (see ``_WORD_CHUNK``), lower case."""
    return [w.lower() for m in _WORD_CHUNK.finditer(nfc(text)) for w in _JOINERS.split(m.group(1))]


def keyword_list_score(text: str) -> float:
    """How much ``text`` looks like a bare list of terms, in [0, 1] (1: certainly a list).

    A list has several short pieces between separators and almost no function
    words; an explanation, however terse, has function words in most clauses.
    """
    found = words(text)
    if len(found) < 3:
        return 0.0
    pieces = [p for p in _SEPARATORS.split(text) if p.strip()]
    vi_words = LIST_VI_FUNCTION if diacritic_ratio(text) >= 0.02 else LIST_VI_FUNCTION_FOLDED
    function_share = sum(w in vi_words or w in LIST_EN_FUNCTION for w in found) / len(found)
    words_per_piece = len(found) / max(len(pieces), 1)
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


def negated_share(similarity: RubricSimilarity, min_z: float = 1.0) -> float:
    """Share of the answer's on-topic clauses that negate the point they match best.

    An answer that states the rubric's points only to deny them ("BN không giúp …,
    cũng không …") has most of its on-topic clauses negated; a real answer has few.
    """
    analysis, points = similarity.analysis, similarity.compiled.points
    english = analysis.language == "en"
    zmat = similarity.point_z
    relevant = negating = 0
    for i in analysis.leaves:
        k = int(zmat[:, i].argmax())
        if zmat[k, i] < min_z:
            continue
        best_target = points[k]
        best_neg = bool(best_target.ref_negated[int(similarity.of(best_target).best_ref[i])])
        relevant += 1
        sentence = analysis.segments[analysis.sentence_of[i]].text
        if adds_negation(analysis.segments[i].text, best_target, best_neg, english, sentence):
            negating += 1
    return negating / relevant if relevant else 0.0


def structure_shares(similarity: RubricSimilarity) -> tuple[float, float, float]:
    """What the rubric probe reads in the answer's smallest segments: (share that are bare lists of terms,
    share that are words without sentence structure, share of the on-topic ones that contradict a point).

    Learned from the rubric's own text (lists of its keywords, shuffled and denied copies of its
    phrasings), so a terse but real statement ("derivative ~0 -> vanishing grad") is not a list.
    """
    proba = similarity.probe_proba
    probe = similarity.compiled.probe
    leaves = similarity.analysis.leaves
    if proba is None or probe is None or not leaves:
        return 0.0, 0.0, 0.0
    segments = similarity.analysis.segments
    top = [probe.classes[k] for k in proba[leaves].argmax(axis=1)]
    # A link of a chain typed with arrows ("lr lớn -> loss nổ") relates its two sides: a claim, however terse,
    # and never a bare list of terms (the probe's lists are terms joined by commas, slashes, bullets).
    top = [NONE if c == LIST and is_arrow_link(segments[k].text) else c for k, c in zip(leaves, top)]
    on_topic = [c for c in top if c.startswith(("p:", "c:"))]
    # The probe learned denials mostly from inserted negations; where the exact rules read every negation
    # word of a segment as something else ("bằng không": zero), the segment does not contradict.
    contra = sum(c.startswith("c:") and not negation_explained(segments[k].text) for k, c in zip(leaves, top))
    contra = contra / len(on_topic) if on_topic else 0.0
    return top.count(LIST) / len(top), top.count(SALAD) / len(top), contra
