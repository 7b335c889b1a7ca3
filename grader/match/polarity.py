"""Polarity: whether the segment that expresses a target denies it.

A negation counts only where it is aimed at the target: scoped to the target's keywords
and to the clause, and not where the rubric's own reference says the idea negatively.
"""

from __future__ import annotations

from grader.compile import Target
from grader.text.keywords import KeywordHit, match_keyword
from grader.text.negation import (
    NEGATION_SCOPE_WORDS,
    claim_head,
    denies_belief,
    denies_benefit,
    denies_prevention,
    folded_negated,
    has_benefit,
    in_condition,
    in_contested_report,
    is_counterfactual,
    is_negated,
    scope_after,
    scope_before,
)
from grader.text.normalize import fold, normalize


def _inside_other_hit(hit: KeywordHit, hits: list[KeywordHit]) -> bool:
    # The negation after a term belongs to another term of the point ("params" + "không đổi").
    return any(o is not hit and o.start >= hit.end and o.start - hit.end <= 40 for o in hits)


def adds_negation(segment_text: str, target: Target, ref_negated: bool, english: bool, context: str | None = None) -> bool:
    """Whether the evidence segment negates the target.

    Scoped to the target's keywords: "BN không giúp giảm overfitting" negates the
    keyword "overfitting", "không load hết vào RAM" does not negate a keyword that
    itself says "không load hết". Without a keyword in the segment, a negation
    counts only if the matched reference has none: references phrased negatively
    ("không bị kẹt ở vùng bão hòa") are often paraphrased positively, and the
    opposite case (asserting what the rubric denies) is a misconception's job.
    A sentence (``context``) that argues by a negated condition ("nếu không có
    activation thì …") negates nothing.
    """
    sentence = context if context is not None else segment_text
    if is_counterfactual(sentence):
        return False
    norm = normalize(segment_text)
    folded = fold(norm)
    hits = [h for h in (match_keyword(k, norm, folded) for k in target.keywords) if h is not None]
    if hits:
        for h in hits:
            if in_contested_report(norm, sentence, at=h.start):
                return True  # "people say it is for memory, but …": the speaker disowns the claim
            text = norm if h.credit == 1.0 else folded
            if is_negated(text[h.start : h.end], english):
                continue  # the keyword itself carries the negation ("không đổi")
            if denies_benefit(scope_before(text[: h.start]), english) or denies_belief(text[: h.start]):
                return True  # "it won't help when the data is larger than memory", "I don't think it is for …"
            before = scope_before(" ".join(text[: h.start].split()[-NEGATION_SCOPE_WORDS:]))
            cue = is_negated(before, english) or (h.credit < 1.0 and is_negated(before, english=False))
            if not cue:
                # The term as subject of a denied predicate: "oversampling cũng không giúp gì".
                after = scope_after(text[h.end :], after_condition=in_condition(scope_before(text[: h.start])))
                if h.term not in target.negatable_keywords and not _inside_other_hit(h, hits) and (
                    is_negated(after, english) or (h.credit < 1.0 and is_negated(after, english=False))
                ):
                    return True
                continue
            # The rubric says this term negatively ("tránh bão hòa", "không bị nổ"): a bare
            # negation paraphrases it; a negation of the prevention ("không giúp giảm") denies it.
            if h.term not in target.negatable_keywords or denies_prevention(before) or has_benefit(before):
                return True
        return False
    if in_contested_report(norm, sentence):
        return True
    if ref_negated:
        return False
    head = claim_head(segment_text)
    return is_negated(head, english) or folded_negated(head)
