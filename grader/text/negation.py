"""Negation cues in Vietnamese and English, on normalised text.

Polarity lives in a few words: không, chưa, chẳng, chả, không hề, đâu có; not,
no, never, n't, cannot. Phrases such as "không chỉ" / "not only" and "no
matter" are not negations. Without diacritics "no" is usually "nó" (it), so it
counts only in English text.

Some "không" are not negations at all: the numeral ("trung bình bằng không",
"gradient tiến về không"), the question particle ("có … không?"), and "gần
như không" (barely), which describes a small quantity. A sentence that argues
by counterfactual ("Nếu không có activation thì mạng chỉ là tuyến tính",
"Without activations, the net is linear") states a positive claim: its
negations are part of the argument, not a denial of it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from grader.text.lexicon import (
    ADVERSATIVES,
    BENEFIT_WORDS,
    CAUSE_WORDS,
    CONCEDING,
    CONTESTING,
    EN_NEGATION_CUES,
    NEGATED_BELIEF,
    NOT_NEGATIONS,
    PREVENTIVE_WORDS,
    REPORTED_SPEECH,
    VI_NEGATION_CUES,
)
from grader.text.normalize import fold, normalize

_ZERO_OR_QUESTION = (
    # the numeral zero: "bằng không", "về không", "tiến tới không" (but "bằng không phải" is still a denial)
    r"\b(?:bằng|về|tới|xấp xỉ|bang|ve|toi|xap xi)\s+(?:không|khong)\b"
    r"(?!\s+(?:phải|được|có|cần|thể|bị|hề|đổi|thay|phai|duoc|co|can|the|bi|he|doi))"
    # the question particle: "có đúng không?", "phải không ạ?"
    r"|\b(?:không|khong|chưa|chua)\b(?=\s*(?:ạ|nhỉ|vậy|a|nhi|vay)?\s*\?)"
    # barely: "gần như không đổi", "hầu như không học được", "almost no gradient"
    r"|\b(?:gần như|hầu như|gan nhu|hau nhu|almost|nearly|virtually)\s+(?:không|chẳng|khong|chang|no|not|nothing|none|never)\b"
)
_COUNTERFACTUAL = (
    r"\b(?:nếu|giả sử|neu|gia su)\s+(?:như\s+|mà\s+|nhu\s+|ma\s+)?(?:không|chưa|khong|chua)\b"
    r"|\bif\s+(?:\S+\s+){0,3}?(?:not|no|never|\w+n't)\b|^\W*without\b|\bunless\b"
)
# How many words before a keyword a negation cue still negates it (in answers and references alike).
NEGATION_SCOPE_WORDS = 6

_CUE_RE = re.compile(rf"\b(?:{VI_NEGATION_CUES}|{EN_NEGATION_CUES})\b")
_EXCEPT_RE = re.compile(rf"\b(?:{NOT_NEGATIONS})\b|{_ZERO_OR_QUESTION}")
_COUNTERFACTUAL_RE = re.compile(_COUNTERFACTUAL)
# "không X mà Y" / "not X but Y" rejects X to assert Y: the claim that follows is positive.
_CONTRAST_RE = re.compile(r"\b(?:không|khong|not)\b(?=(?:\s+\S+){1,8}?\s+(?:mà|ma|but rather|but)\b)")


def negation_cues(text: str, english: bool = True) -> list[str]:
    """The negation cues in ``text`` (normalised); "no" only counts when ``english``."""
    t = normalize(text)
    t = _EXCEPT_RE.sub(" ", t)
    t = _CONTRAST_RE.sub(" ", t)
    cues = _CUE_RE.findall(t)
    if not english:
        cues = [c for c in cues if c != "no"]
    return cues


# Punctuation ends a negation's reach; an ellipsis ("…", "...") is punctuation.
_PUNCTUATION = r"[,;:()…]|\.{2,}"
# Where a negation's reach ends: punctuation, and the words that introduce a cause, a
# consequence or a purpose. In "không khả thi vì O(N)" and "gradient mất dần nên weight
# không cập nhật được" the negation describes a consequence; it does not deny the claim.
# Verbs of causing ("không dẫn tới underfitting") are not breaks: denying them denies the claim.
_SCOPE_BREAK = re.compile(rf"{_PUNCTUATION}|\b(?:thì|thi|{CAUSE_WORDS})\b")


def _breaks(text: str) -> list[re.Match[str]]:
    # "không phải vì/để X", "not because X": the negation is aimed at what the word introduces. Punctuation
    # always ends its reach ("gần như không update, network coi như ngừng học").
    return [
        m for m in _SCOPE_BREAK.finditer(text)
        if not m.group(0)[0].isalnum() or not _CUE_RE.search(" ".join(text[: m.start()].split()[-2:]))
    ]


# A clause that opens with a cause or consequence word ("because each filter …", "nên gradient …")
# is outside the reach of a negation in the clause before it.
_OPENS_WITH_BREAK = re.compile(rf"^\W*(?:and\s+|và\s+|va\s+)?(?:{CAUSE_WORDS}|bởi|boi vi|boi|do do)\b")


def opens_with_break(text: str) -> bool:
    """Whether ``text`` (a clause) opens with a cause/consequence word, so a preceding negation does not reach it."""
    return bool(_OPENS_WITH_BREAK.match(normalize(text)))


def claim_head(text: str) -> str:
    """The part of a clause before its first cause/consequence word or punctuation: where a denial sits."""
    t = normalize(text)
    breaks = _breaks(t)
    return t[: breaks[0].start()] if breaks else t


def scope_before(text: str) -> str:
    """The end of ``text`` after its last cause/consequence word or punctuation: what a negation there can reach."""
    breaks = _breaks(text)
    return text[breaks[-1].end() :] if breaks else text


# After a term, its predicate runs to the next clause-like break ("mà" too: "lr cao hơn mà không
# sợ loss nổ" adds a second predicate, it does not deny the first; so do "mãi", "hoài": "dao động
# mãi không xuống được" says what the oscillation leads to). "thì" ends it only after a
# condition: in "khi mô hình quá đơn giản thì nó không bắt được quy luật" what follows is a
# consequence, while in "recall thì cũng không cho biết thêm gì" it is the term's own comment.
_AFTER_BREAK = re.compile(
    _PUNCTUATION + r"|\b(?:nên|vì|bởi vì|do đó|để|và|còn|nhưng|mà|mãi|hoài|nen|vi|de|va|con|nhung|ma|mai|hoai|"
    r"so|because|since|and|but|while|whereas)\b"
)
_THEN = re.compile(r"\b(?:thì|thi)\b")
_CONDITION = re.compile(r"\b(?:nếu|khi|lúc|giả sử|neu|luc|gia su|if|when|once)\b")
# How many words after a term a negation still denies it ("oversampling cũng không giúp gì").
NEGATION_AFTER_WORDS = 6


def scope_after(text: str, after_condition: bool = True) -> str:
    """The first ``NEGATION_AFTER_WORDS`` words of ``text`` up to its first break: the term's predicate.

    ``after_condition``: the term sits in a condition ("khi …", "nếu …"), so "thì" ends the
    scope; without one, "X thì không Y" is X's own comment and is searched too.
    "without" is left out: after a term it starts a condition ("linear layers without
    one collapse"), not a denial.
    """
    m = _AFTER_BREAK.search(text)
    text = text[: m.start()] if m else text
    if after_condition:
        then = _THEN.search(text)
        text = text[: then.start()] if then else text
    words = text.split()[:NEGATION_AFTER_WORDS]
    return " ".join(w for w in words if w != "without")


def in_condition(text_before: str) -> bool:
    """Whether the clause text before a term opens a condition (nếu, khi, if, when …)."""
    return bool(_CONDITION.search(normalize(text_before)))


@lru_cache(maxsize=8192)  # asked for the same sentence once per point and misconception of the rubric
def is_counterfactual(sentence: str) -> bool:
    """Whether ``sentence`` argues by a negated condition ("nếu không có …", "without …", "if we don't …").

    Its negations belong to the argument ("… thì mạng không học được hàm phức
    tạp"): they do not deny the rubric's point.
    """
    t = normalize(sentence)
    return bool(_COUNTERFACTUAL_RE.search(t) or _COUNTERFACTUAL_RE.search(fold(t)))


def negation_explained(text: str) -> bool:
    """Whether ``text`` has a negation word and every one of them is read, exactly, as something else: zero
    ("bằng không"), "không chỉ", "không X mà Y", a question tag, a negated condition ("nếu không có …")."""
    if not _CUE_RE.search(normalize(text)):
        return False
    return not negation_cues(text) or is_counterfactual(text)


def is_negated(text: str, english: bool = True) -> bool:
    """Whether ``text`` contains a negation cue. Double negation is rare in answers; any cue counts."""
    return bool(negation_cues(text, english))


def folded_negated(text: str) -> bool:
    """``is_negated`` on accent-folded text, for answers typed without diacritics."""
    return is_negated(fold(text), english=False)


# Words that, like a negation, say something is kept away: "tránh bão hòa" and
# "không bị bão hòa" state the same idea.
_PREVENTIVE_RE = re.compile(rf"\b(?:{PREVENTIVE_WORDS})\b")


# Verbs of benefit: "không giúp tiết kiệm RAM" denies the benefit even where the rubric
# itself says the term negatively ("không load hết vào RAM").
_BENEFIT_RE = re.compile(rf"\b(?:{BENEFIT_WORDS})\b")


def has_benefit(text: str) -> bool:
    """Whether ``text`` contains a verb of benefit (giúp, cho phép, tiết kiệm, help, allow, save …)."""
    return bool(_BENEFIT_RE.search(normalize(text)))


def _cue_then(text: str, words: re.Pattern[str], english: bool = True, within: int | None = None) -> bool:
    """Whether a negation cue of ``text`` is followed by a match of ``words`` (in its next ``within`` words, or
    anywhere after it); "no" counts only when ``english``."""
    t = _EXCEPT_RE.sub(" ", normalize(text))
    for m in _CUE_RE.finditer(t):
        if not english and m.group(0) == "no":
            continue
        following = t[m.end() :] if within is None else " ".join(t[m.end() :].split()[:within])
        if words.search(following):
            return True
    return False


def denies_benefit(text: str, english: bool = True) -> bool:
    """Whether ``text`` denies a benefit: a negation cue then, within its next three words, a verb of benefit
    ("không giúp", "chẳng tiết kiệm được", "won't help", "doesn't really save")."""
    return _cue_then(text, _BENEFIT_RE, english, within=3)


_BELIEF_RE = re.compile(rf"(?<!\w){NEGATED_BELIEF}")
# A belief verb's complement runs through its own cause and purpose words ("em không nghĩ là để thêm X", "I don't
# think it's because of memory"): only punctuation or a contrast ends it.
_CLAUSE_END = re.compile(rf"[,;:.!?()]|\b(?:{ADVERSATIVES})\b")


def denies_belief(text_before: str) -> bool:
    """Whether the clause that ends with ``text_before`` (the text before a term) opens with a negated verb of
    belief, which denies all that follows it ("em không nghĩ activation là để thêm …", "I don't really think …")."""
    t = normalize(text_before)
    ends = list(_CLAUSE_END.finditer(t))
    return bool(_BELIEF_RE.search(t[ends[-1].end() :] if ends else t))


def has_preventive(text: str) -> bool:
    """Whether ``text`` (any form) contains a word that keeps something away (tránh, giảm, avoid, prevent …)."""
    return bool(_PREVENTIVE_RE.search(normalize(text)))


def denies_prevention(text: str) -> bool:
    """Whether ``text`` negates a word that keeps something away: a negation cue, then a preventive word that is not
    the cue itself ("không giúp giảm", "doesn't prevent"). "without diverging" is the prevention, not its denial."""
    return _cue_then(text, _PREVENTIVE_RE)


_REPORTED_RE = re.compile(REPORTED_SPEECH)
_CONTESTING_RE = re.compile(CONTESTING)
_CONCEDING_RE = re.compile(CONCEDING)


@lru_cache(maxsize=8192)
def contested_report(sentence: str) -> tuple[int, int, int] | None:
    """Where ``normalize(sentence)`` reports a claim as others' and then contests it ("people say X, but …",
    "người ta hay nói X, nhưng …"): (start of the reporting words, start of X, start of the adversative), or None."""
    t = normalize(sentence)
    for m in _REPORTED_RE.finditer(t):
        for c in _CONTESTING_RE.finditer(t, m.end()):
            if _CONCEDING_RE.match(t[c.end() :]):
                continue
            return (m.start(), m.end(), c.start()) if t[m.end() : c.start()].strip(" ,") else None
    return None


def in_contested_report(segment_text: str, sentence: str, at: int | None = None) -> bool:
    """Whether ``segment_text`` lies in the contested report of ``sentence`` (:func:`contested_report`): the whole
    segment between the reporting words and the adversative, or, given ``at`` (a term's offset in the normalised
    segment), the term inside the reported claim."""
    found = contested_report(sentence)
    if found is None:
        return False
    opening, claim, contest = found
    norm = normalize(segment_text)
    seg = norm.strip(" ,.;:")
    start = normalize(sentence).find(seg)
    if start < 0 or not seg:
        return False
    if at is not None:  # ``at`` indexes the segment before its leading punctuation was stripped
        return claim <= start + at - (len(norm) - len(norm.lstrip(" ,.;:"))) < contest
    return opening <= start and start + len(seg) <= contest
