"""Training text generated from a rubric's own phrasings: how candidates hurry, misspell, deny and reverse a claim.

A rubric lists how a point is said; it rarely lists how it is *un*-said. These generators
make, from each phrasing, copies that still state the point (typed without diacritics, in
chat shorthand, telegraphic) and copies that no longer do (denied, one word of a contrast
pair swapped, words shuffled). They are rules, so what they teach is the rule's surface
edit; the probe that learns from them also learns from the rubric's natural contrasts
(sibling points, misconceptions), and is measured on answers nobody generated.

Every generator is deterministic: its random choices come from a generator seeded by the
text itself.
"""

from __future__ import annotations

import hashlib
import random
import re

from grader.text.lexicon import (
    DENIAL_FRAMES_EN,
    DENIAL_FRAMES_VI,
    EN_AUXILIARY_NEGATED,
    EN_VERBS_TO_DENY,
    REVERSAL_PAIRS_EN,
    REVERSAL_PAIRS_VI,
    SPOKEN_FILLERS_EN,
    SPOKEN_FILLERS_VI,
    SPOKEN_OPENINGS_EN,
    SPOKEN_OPENINGS_VI,
    TERSE_ARROW_WORDS,
    TERSE_DROP_EN,
    TERSE_DROP_VI,
    VI_PREDICATE_NEGATED,
    VI_VERBS_TO_DENY,
)
from grader.text.normalize import diacritic_ratio, strip_diacritics

_EN_AUX = dict(EN_AUXILIARY_NEGATED)
_VI_PRED = dict(VI_PREDICATE_NEGATED)
_EN_DENY_RE = re.compile(r"\b(" + "|".join(map(re.escape, [*_EN_AUX, *EN_VERBS_TO_DENY])) + r")\b", re.IGNORECASE)
_VI_DENY_RE = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted([*_VI_PRED, *VI_VERBS_TO_DENY], key=len, reverse=True))) + r")(?!\w)")
_VI_NEG_RE = re.compile(r"\s*(?<!\w)không(?!\w)\s*")
_EN_NEG_RE = re.compile(r"\s*\b(?:not|never)\b|n't")
_ARROW_RE = re.compile(rf"\s*\b(?:{TERSE_ARROW_WORDS})\b\s*", re.IGNORECASE)


def rng_for(text: str, salt: str = "") -> random.Random:
    """A random generator seeded by ``text`` (and ``salt``): the same text always gets the same copies."""
    return random.Random(int(hashlib.sha256(f"{salt}\x00{text}".encode()).hexdigest()[:16], 16))


def is_vietnamese(text: str) -> bool:
    """Whether ``text`` is Vietnamese written with its diacritics."""
    return diacritic_ratio(text) > 0.02


def unmarked(text: str) -> str:
    """``text`` typed without diacritics (đ → d)."""
    return strip_diacritics(text)


def denied(text: str) -> str | None:
    """A copy of ``text`` that denies it: a hedging frame, a negation removed, or a negation inserted."""
    rng = rng_for(text, "deny")
    vi = is_vietnamese(text)
    roll = rng.random()
    if roll < 0.35:
        claim = text.rstrip(".!")
        if claim[:1].isupper() and not claim[1:2].isupper():
            claim = claim[0].lower() + claim[1:]
        return rng.choice(DENIAL_FRAMES_VI if vi else DENIAL_FRAMES_EN).format(x=claim)
    if roll < 0.55:  # a negative claim loses its negation
        neg = _VI_NEG_RE if vi else _EN_NEG_RE
        if neg.search(text):
            return " ".join(neg.sub(" ", text, count=1).split())
    found = list((_VI_DENY_RE if vi else _EN_DENY_RE).finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    word = m.group(1)
    if vi:
        rep = _VI_PRED.get(word, "không " + word)
    else:
        low = word.lower()
        rep = _EN_AUX.get(low) or (f"doesn't {low[:-1]}" if low.endswith("s") else f"don't {low}")
    return text[: m.start()] + rep + text[m.end() :]


def reversed_claim(text: str) -> str | None:
    """A copy of ``text`` with one word of a contrast pair swapped ("too small" → "too large"), or None."""
    pairs = REVERSAL_PAIRS_VI if is_vietnamese(text) else REVERSAL_PAIRS_EN
    spots = []
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            for m in re.finditer(rf"(?<!\w){re.escape(x)}(?!\w)", text, flags=re.IGNORECASE):
                spots.append((m.start(), m.end(), y))
    if not spots:
        return None
    start, end, other = rng_for(text, "reverse").choice(sorted(spots))
    if text[start:end][:1].isupper():
        other = other[:1].upper() + other[1:]
    return text[:start] + other + text[end:]


def hurried(text: str) -> str:
    """A telegraphic copy, as typed into a form in a hurry: function words dropped, causes as arrows."""
    rng = rng_for(text, "hurry")
    t = _ARROW_RE.sub(" -> ", text)
    drop = TERSE_DROP_VI if is_vietnamese(text) else TERSE_DROP_EN
    kept = [w for w in t.split() if w.lower().strip(",.") not in drop or rng.random() < 0.2]
    out = " ".join(kept).rstrip(".")
    if is_vietnamese(out) and rng.random() < 0.6:
        out = unmarked(out)
    return out.lower() if rng.random() < 0.5 else out


def spoken(text: str) -> str:
    """A copy as said aloud in an interview: an opening and a few fillers between the words."""
    rng = rng_for(text, "spoken")
    vi = is_vietnamese(text)
    words = text.rstrip(".").split()
    fillers = SPOKEN_FILLERS_VI if vi else SPOKEN_FILLERS_EN
    for _ in range(min(3, len(words) // 4)):
        words.insert(rng.randrange(1, len(words)), rng.choice(fillers) + ",")
    opening = rng.choice(SPOKEN_OPENINGS_VI if vi else SPOKEN_OPENINGS_EN)
    first = words[0] if words and not words[0][1:2].isupper() else None
    if first:
        words[0] = first[0].lower() + first[1:]
    return " ".join([opening, *words]) + "..."


def shuffled(text: str) -> str | None:
    """The words of ``text`` in a random order (word salad), or None for texts too short to shuffle."""
    words = text.split()
    if len(words) < 4:
        return None
    rng = rng_for(text, "shuffle")
    for _ in range(5):
        rng.shuffle(words)
        if words != text.split():
            return " ".join(words)
    return None


LIST_SEPARATORS = (", ", "; ", " / ", "\n", " - ", ",", " | ", "\n- ")


def term_list(terms: list[str], seed: str) -> str:
    """A bare list of 3–8 of ``terms`` (the rubric's keywords), joined as candidates type lists."""
    rng = rng_for(seed, "list")
    picked = rng.sample(terms, min(len(terms), rng.randint(3, 8)))
    text = rng.choice(LIST_SEPARATORS).join(picked)
    if rng.random() < 0.3:
        text = unmarked(text)
    return text.lower() if rng.random() < 0.3 else text
