"""What each word of a sentence may be: its readings, each an output, model ids and a log weight.

A bare word's readings are the marked syllables that fold to it (most frequent first), the
word kept as written when it is an English word next to English or code, and, for a shorthand,
its expansions. A context shorthand expands only next to a Vietnamese word and never beside a
number or a formula; a single letter (``k``, ``e``, ``a``) nor beside an English word, nor where it
names a term of its sentence (``k`` of ``kNN``), while a longer form (``vs``) may expand anywhere in
a sentence with Vietnamese words. :mod:`grader.text.restore.decode` chooses among the readings.
"""

from __future__ import annotations

from grader.text.lexicon import RESTORE_VARIABLE_AFTER, RESTORE_VARIABLE_BEFORE
from grader.text.normalize import strip_diacritics
from grader.text.restore.model import EN, RestoreModel
from grader.text.restore.shorthand import Shorthand
from grader.text.restore.spans import RestoreMode
from grader.text.restore.tokens import MATH, Token, is_marked, syllable_key

# A reading: (the output, or None to keep the word as typed; its model ids; a log weight in millinats).
Reading = tuple[str | None, tuple[int, ...], int]

#: Bump when the readings a word may take change (the restorer's part of a grade's signature): 2 added typos.
RULES_VERSION = 2
# Candidates per word (most frequent first). On the dev split, 8 come within 0.05 points of 16.
MAX_CANDIDATES = 8
# What a context shorthand's expansion costs against the word's other readings (log weight,
# millinats). None: where the context lets "e" be a pronoun, "em" is likelier than the syllable "e".
CONTEXT_SHORTHAND_PENALTY = 0
# The weight of keeping such a form as written (a variable: "chọn k cụm", "r = 0.8"): variables
# are common in these answers, so it is not scored as a rare English word.
VARIABLE_WEIGHT = -7000
# What reading a word as a typo of a syllable one edit away costs (log weight, millinats): a word typed in a
# hurry drops, doubles, swaps or mistypes a letter ("chuyn", "bagn", "dogn"); the model then weighs the
# syllables against keeping the word as typed.
TYPO_WEIGHT = -4000
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def one_edit(word: str) -> set[str]:
    """The strings one deletion, swap of neighbours, substitution or insertion of a letter away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS if c != b[0]}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    out.discard(word)
    return out


def typo_readings(model: RestoreModel, low: str) -> list[Reading]:
    """Syllables one edit from ``low`` (a word that is none), the most frequent form of each first."""
    variants = sorted(v for v in one_edit(low) if v in model.candidates)
    ids = [i for v in variants for i in model.candidates[v][:2]]
    return [(model.vocab[i], (i,), TYPO_WEIGHT) for i in ids[: 2 * MAX_CANDIDATES]]


def case_like(template: str, word: str) -> str:
    """``word`` with the case of ``template``, the word the candidate typed (letter by letter when they align)."""
    if len(template) == len(word):
        return "".join(c.upper() if t.isupper() else c for t, c in zip(template, word))
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _compatible(typed: str, cand: str) -> bool:
    # A partly marked word ("đuoc") keeps the marks it has: only its bare letters may gain marks.
    return all(t == c or t == strip_diacritics(t) for t, c in zip(typed, cand))


class Context:
    """Per-call lookups shared by the word classifiers."""

    def __init__(self, model: RestoreModel, shorthand: dict[str, Shorthand], mode: RestoreMode, text: str) -> None:
        self.model = model
        self.shorthand = shorthand
        self.mode = mode
        self.sentence_vietnamese = False  # whether the sentence being read has Vietnamese words (set per sentence)
        self.sentence_variables: frozenset[str] = frozenset()  # letters its terms are named by (variable_letters)
        # A text typed in capitals has no acronyms to keep: "MO HINH" is "MÔ HÌNH".
        letters = [c for c in text if c.isalpha()]
        self.all_caps = len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)

    def acronym(self, word: str) -> bool:
        """GAN, TP, CNN: short capitals are an acronym, not a syllable typed in capitals."""
        return not self.all_caps and 2 <= len(word) <= 4 and word.isupper()

    def english_only(self, tok: Token | None) -> bool:
        """A word that is no Vietnamese syllable (an English term, a name, an acronym)."""
        if tok is None or tok.kind != "word":
            return False
        low = tok.text.lower()
        if low in self.shorthand:
            return False
        if is_marked(low):
            return syllable_key(low) not in self.model.index
        return low not in self.model.candidates or self.acronym(tok.text)

    def vietnamese(self, tok: Token | None) -> bool:
        """A word that reads as Vietnamese: marked, or a syllable that is no English word."""
        if tok is None or tok.kind != "word":
            return False
        low = tok.text.lower()
        if is_marked(low):
            return syllable_key(low) in self.model.index
        if low in self.shorthand and not self.shorthand[low].context:
            return True
        return low in self.model.candidates and low not in self.model.english and not self.acronym(tok.text)

    def englishish(self, tok: Token | None) -> bool:
        """A neighbour that lets a word be English: English-only, an English word, code."""
        if tok is None:
            return False
        if tok.kind == "other":
            return not any(c.isdigit() for c in tok.text)
        return tok.kind == "word" and (self.english_only(tok) or tok.text.lower() in self.model.english)


def _folded(tok: Token | None) -> str:
    return strip_diacritics(tok.text.lower()) if tok is not None and tok.kind == "word" else ""


def variable_letters(terms: list[Token]) -> frozenset[str]:
    """Letters that name a variable of a term in the same sentence: the ``k`` of ``kNN``, ``KNN``, ``k-means``,
    ``top-k``, ``k-fold``. There a lone ``k`` is that variable ("giá trị k của KNN"), not shorthand for không."""
    out: set[str] = set()
    for tok in terms:
        text = tok.text
        if tok.kind == "word" and len(text) >= 2 and text[0].isalpha() and text[1:].isupper():
            out.add(text[0].lower())  # kNN, KNN: a letter before capitals
        elif tok.kind == "other":
            out.update(p.lower() for p in text.split("-") if len(p) == 1 and p.isalpha())
    return frozenset(out)


def _numeric_or_math(tok: Token | None) -> bool:
    if tok is None or tok.kind == "break":
        return False
    if tok.kind == "other":
        return True  # a number, a formula, code: "r = 0.8", "10 ms", "k-fold"
    return tok.kind == "punct" and tok.text in MATH


def word_readings(
    ctx: Context, tok: Token, prev: Token | None, nxt: Token | None
) -> list[Reading]:
    """The readings of one word: (output or None to keep it, model ids, log weight)."""
    model = ctx.model
    word = tok.text
    low = word.lower()
    keep_en: Reading = (None, (EN,), 0)
    as_english = (None, (EN,), model.english.get(low, model.english_floor))
    readings: list[Reading] = []

    short = ctx.shorthand.get(low)
    # Capitals are acronyms or variables (K, A, R); "Ko" opening a sentence is still shorthand.
    if short is not None and (word.islower() or len(word) > 1 and word.istitle()):
        if not short.context:
            return [(exp, phrase_ids(model, exp), 0) for exp in short.expansions]
        near_vi = ctx.vietnamese(prev) or ctx.vietnamese(nxt)
        numeric = _numeric_or_math(prev) or _numeric_or_math(nxt)
        blocked = ctx.english_only(nxt) or ctx.english_only(prev) and not ctx.vietnamese(nxt) or numeric
        if len(low) > 1 and ctx.sentence_vietnamese and not numeric:
            # A form of two letters or more is no variable: in a Vietnamese sentence it may be shorthand even
            # between two English terms ("mean vs variance", "gamma vs beta"); the model still weighs keeping it.
            near_vi, blocked = True, False
        if len(low) == 1 and (
            _folded(prev) in RESTORE_VARIABLE_BEFORE
            or _folded(nxt) in RESTORE_VARIABLE_AFTER
            or low in ctx.sentence_variables
        ):
            blocked = True
        if near_vi and not blocked:
            readings += [(exp, phrase_ids(model, exp), CONTEXT_SHORTHAND_PENALTY) for exp in short.expansions]

    if ctx.mode == "shorthand":
        fixed = (None, (model.index.get(syllable_key(low), EN),), 0)
        return [*readings, fixed] if readings else [fixed]
    if word[1:] != word[1:].lower() and not word.isupper():
        return [keep_en]  # inner capitals: a name from code or maths (NaN, ReLU, McNemar)
    if is_marked(low):
        key = syllable_key(low)
        if key in model.index:
            return [(None, (model.index[key],), 0)]
        fitting = [i for i in model.candidates.get(strip_diacritics(key), ()) if _compatible(key, model.vocab[i])]
        return [(model.vocab[i], (i,), 0) for i in fitting[:MAX_CANDIDATES]] or [keep_en]

    cands: tuple[int, ...] = () if ctx.acronym(word) else model.candidates.get(low, ())
    if ctx.mode == "marked" and (low in model.index or low in model.english):
        cands = ()  # in text typed with marks, a bare word that can be right as typed is right
    if cands and low in model.english and ctx.english_only(prev) and ctx.english_only(nxt):
        # Between two words that cannot be Vietnamese ("the model can diverge"), an English word is English.
        return [keep_en]
    if cands:
        readings += [(model.vocab[i], (i,), 0) for i in cands[:MAX_CANDIDATES]]
        # An English word alone between Vietnamese words is a syllable ("qua it" is "quá ít").
        if low in model.english and (ctx.englishish(prev) or ctx.englishish(nxt)):
            readings.append(as_english)
        return readings
    if readings:  # a shorthand that may also be a variable or a unit: k, r, ms
        readings.append((None, (EN,), VARIABLE_WEIGHT if len(low) == 1 else as_english[2]))
        return readings
    if low in model.index and not ctx.acronym(word):
        return [(None, (model.index[low],), 0)]
    if (
        ctx.mode == "full"
        and len(low) >= 3
        and low.isalpha()
        and word.islower()
        and low not in model.english  # "càng train càng tệ": an English word between syllables is the term
        and (ctx.vietnamese(prev) or ctx.vietnamese(nxt))
    ):
        # Neither a syllable nor an English word, next to Vietnamese: maybe a syllable with a typo ("dao dogn qua").
        typos = typo_readings(model, low)
        if typos:
            return [keep_en, *typos]
    return [keep_en]


def phrase_ids(model: RestoreModel, phrase: str) -> tuple[int, ...]:
    return tuple(model.index.get(s, EN) for s in phrase.lower().split())

