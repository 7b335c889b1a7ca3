"""Restore the diacritics of Vietnamese typed without marks, and expand chat shorthand.

``restore(text)`` returns a :class:`RestoredText`: the restored text, the text the
candidate wrote, and a map between the two, so that everything downstream can read
the restored text while evidence offsets still point into the original.

How it works. The text is cut into tokens (words, "other" chunks such as code,
numbers, hyphenated or dotted terms, and punctuation). Each bare word gets its
candidates: the marked syllables that fold to it (from a syllable inventory built
from underthesea's VLSP2013 text and Viet74K word list, the rubrics and the seed
article), the word kept as written when it is also an English word (``to``,
``can``, ``the``) or a variable (``k``), and the expansions of a shorthand
(``ko`` → ``không``). A syllable trigram language model with interpolated
modified Kneser-Ney smoothing, stored in backoff form in
``grader/data/restore_model.bin.gz`` (built by ``python -m grader.text.restore_build``),
chooses the sequence with a beam Viterbi search over each sentence. English words,
code, numbers and formulas are one class of the model (``<en>``, ``<num>``), so a
Vietnamese run in mixed text is restored in its context and the rest is left alone.

Restoring a syllable keeps its length in NFC (a vowel gains marks, ``d`` becomes
``đ``), so only shorthand expansion (and NFC normalisation of a decomposed input)
shifts offsets; :meth:`RestoredText.to_original` maps a span back.

Pure Python (standard library only); the model is read once, lazily, in under
0.1 s, and a 60-word answer is restored in about 3 ms.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Literal

from grader.text.language import LanguageForm, detect_language
from grader.text.normalize import normalize_tone_placement, strip_diacritics

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MODEL_PATH = DATA_DIR / "restore_model.bin.gz"
SHORTHAND_PATH = DATA_DIR / "shorthand.tsv"
MODEL_FORMAT = "grader-restore-1"
SCALE = 1000  # stored log-probabilities are integer millinats

# Reserved ids of the language model's vocabulary; syllables follow.
BOS, EOS, EN, NUM, PUNCT = 0, 1, 2, 3, 4
SPECIALS = ("<s>", "</s>", "<en>", "<num>", "<p>")

# Search limits: candidates per word (most frequent first) and paths kept per word.
# On the dev split, 8 and 8 come within 0.05 points of 16 and 12, at half the time.
MAX_CANDIDATES = 8
BEAM = 8
# What a context shorthand's expansion costs against the word's other readings (log weight,
# millinats). None: where the context lets "e" be a pronoun, "em" is likelier than the syllable "e".
_CONTEXT_SHORTHAND_PENALTY = 0
# The weight of keeping such a form as written (a variable: "chọn k cụm", "r = 0.8"): variables
# are common in these answers, so it is not scored as a rare English word.
_VARIABLE_WEIGHT = -7000
# Words around a letter that make it a variable, folded: "top k", "k cụm", "k láng giềng", "k lần".
# Only words that never sit next to "không" in these answers ("không phân biệt", "bằng không" do).
_VARIABLE_BEFORE = frozenset({"top", "chon"})
_VARIABLE_AFTER = frozenset(
    ["cum", "lang", "lan", "nhom", "diem", "mau", "lop", "chieu", "buoc", "fold", "folds"]
    + ["neighbor", "neighbors", "neighbour", "neighbours", "nearest", "cluster", "clusters", "means"]
)

# full: every bare word; marked: shorthand, bare words that cannot be right as typed, and
# sentences typed without marks; shorthand: shorthand only; none: nothing.
RestoreMode = Literal["full", "marked", "shorthand", "none"]

# A word: letters only (a "/" joins two words: "và/hoặc").
_WORD_RE = re.compile(r"[^\W\d_]+")
_LEAD_PUNCT = "\"'([{<«“‘`*"
_TRAIL_PUNCT = "\"')]}>»”’`*.,;:!?…"
_SENTENCE_END = set(".;:!?…")
_MATH = set("=<>≤≥+-*/^%±×÷|")


@dataclass(frozen=True)
class Token:
    """A piece of the (NFC) text: ``kind`` is ``word``, ``other``, ``punct`` or ``break``."""

    start: int
    end: int
    text: str
    kind: str


def tokenize(text: str) -> list[Token]:
    """Words, other chunks, punctuation marks and sentence breaks, with offsets into ``text``."""
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while pos < n:
        c = text[pos]
        if c.isspace():
            if c == "\n":
                tokens.append(Token(pos, pos + 1, c, "break"))
            pos += 1
            continue
        end = pos
        while end < n and not text[end].isspace():
            end += 1
        _split_chunk(text, pos, end, tokens)
        pos = end
    return tokens


def _split_chunk(text: str, start: int, end: int, out: list[Token]) -> None:
    s, e = start, end
    while s < e and text[s] in _LEAD_PUNCT:
        out.append(Token(s, s + 1, text[s], "punct"))
        s += 1
    trail_start = e
    while trail_start > s and text[trail_start - 1] in _TRAIL_PUNCT:
        trail_start -= 1
    core = text[s:trail_start]
    if len(core) == 1 and text[trail_start : trail_start + 1] == ")":
        out.append(Token(s, trail_start, core, "other"))  # a list label: "a)", "b)"
    elif core:
        parts = core.split("/")
        if all(_WORD_RE.fullmatch(p) for p in parts):
            p_start = s
            for i, part in enumerate(parts):
                if i:
                    out.append(Token(p_start - 1, p_start, "/", "punct"))
                out.append(Token(p_start, p_start + len(part), part, "word"))
                p_start += len(part) + 1
        else:
            out.append(Token(s, trail_start, core, "other"))
    for i in range(trail_start, e):
        ch = text[i]
        out.append(Token(i, i + 1, ch, "break" if ch in _SENTENCE_END else "punct"))


def syllable_key(word: str) -> str:
    """The form the model knows a word by: NFC, lower case, new-style tone placement."""
    return normalize_tone_placement(unicodedata.normalize("NFC", word).lower())


def is_marked(word: str) -> bool:
    """Whether a word carries any Vietnamese diacritic (or đ)."""
    return strip_diacritics(word) != word


# --------------------------------------------------------------------------- model


@dataclass
class RestoreModel:
    """The syllable trigram model (backoff form) and the lexicons around it."""

    vocab: list[str]  # id -> marked lower-case syllable (ids < len(SPECIALS) are the specials)
    # Log-probabilities (natural logs) are integers in millinats: exact enough, fast to load and add.
    uni: array  # id -> log P1(w)
    bow1: array  # id -> log backoff weight of the context w
    bi: dict[int, int]  # v * V + w -> log P2(w | v)
    bow2: dict[int, int]  # u * V + v -> log backoff weight of the context (u, v)
    tri: dict[int, int]  # (u * V + v) * V + w -> log P3(w | u, v)
    candidates: dict[str, tuple[int, ...]]  # folded syllable -> its marked forms, most frequent first
    english: dict[str, int]  # lower-case English word -> log P(word | English)
    english_floor: int  # log P of an English word the list lacks
    meta: dict[str, object] = field(default_factory=dict)
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @property
    def size(self) -> int:
        """Vocabulary size V (specials included)."""
        return len(self.vocab)

    def logp(self, u: int, v: int, w: int) -> int:
        """log P(w | u, v) in millinats, backing off to bigrams and unigrams."""
        V = len(self.vocab)
        uv = u * V + v
        x = self.tri.get(uv * V + w)
        if x is not None:
            return x
        b = self.bow2.get(uv, 0)
        x = self.bi.get(v * V + w)
        if x is not None:
            return b + x
        return b + self.bow1[v] + self.uni[w]


def write_model(path: Path, model_parts: dict[str, object]) -> None:
    """Write the model file: a JSON header line, then little-endian arrays; gzip'd without a timestamp."""
    header = {k: v for k, v in model_parts.items() if not isinstance(v, array)}
    arrays = {k: v for k, v in model_parts.items() if isinstance(v, array)}
    header["arrays"] = [[k, arrays[k].typecode, len(arrays[k])] for k in sorted(arrays)]
    blob = bytearray(json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    blob += b"\n"
    for k in sorted(arrays):
        a = arrays[k]
        if a.itemsize > 1 and _BIG_ENDIAN:
            a = array(a.typecode, a)
            a.byteswap()
        blob += a.tobytes()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(bytes(blob))


_BIG_ENDIAN = array("H", [1]).tobytes() == b"\x00\x01"


def read_model_parts(path: Path) -> dict[str, object]:
    """The header fields and arrays of a model file, as written by :func:`write_model`."""
    data = gzip.decompress(path.read_bytes())
    nl = data.index(b"\n")
    header = json.loads(data[:nl].decode("utf-8"))
    pos = nl + 1
    parts: dict[str, object] = dict(header)
    for name, code, length in header.pop("arrays"):
        a = array(code)
        nbytes = a.itemsize * length
        a.frombytes(data[pos : pos + nbytes])
        if a.itemsize > 1 and _BIG_ENDIAN:
            a.byteswap()
        pos += nbytes
        parts[name] = a
    parts.pop("arrays", None)
    return parts


def model_from_parts(parts: dict[str, object]) -> RestoreModel:
    """Assemble a :class:`RestoreModel` from the stored header and arrays."""
    if parts.get("format") != MODEL_FORMAT or parts.get("scale") != SCALE:
        raise ValueError(f"not a {MODEL_FORMAT} model: {parts.get('format')!r}")
    vocab: list[str] = parts["vocab"]  # type: ignore[assignment]

    def table(keys: str, values: str) -> dict[int, int]:
        # Keys are stored sorted, as differences: small numbers that compress well.
        return dict(zip(accumulate(parts[keys]), parts[values]))  # type: ignore[call-overload]

    candidates: dict[str, list[int]] = {}
    for i in range(len(SPECIALS), len(vocab)):  # the vocabulary is stored most frequent first
        candidates.setdefault(strip_diacritics(vocab[i]), []).append(i)
    return RestoreModel(
        vocab=vocab,
        uni=parts["uni"],  # type: ignore[arg-type]
        bow1=parts["bow1"],  # type: ignore[arg-type]
        bi=table("bi_keys", "bi_logp"),
        bow2=table("bow2_keys", "bow2_logw"),
        tri=table("tri_keys", "tri_logp"),
        candidates={f: tuple(ids) for f, ids in candidates.items()},
        english=dict(zip(parts["english_words"], parts["english_logp"])),  # type: ignore[call-overload]
        english_floor=int(parts["english_floor"]),  # type: ignore[call-overload]
        meta={k: parts[k] for k in ("sources", "counts") if k in parts},
    )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> RestoreModel:
    """The restoration model, read once per process."""
    return model_from_parts(read_model_parts(path))


# --------------------------------------------------------------------------- shorthand


@dataclass(frozen=True)
class Shorthand:
    """One shorthand form: its expansions and whether it needs a Vietnamese context."""

    form: str
    expansions: tuple[str, ...]
    context: bool


def parse_shorthand(text: str) -> dict[str, Shorthand]:
    """Parse the shorthand table (``short<TAB>exp1|exp2<TAB>always|context``; ``#`` comments)."""
    table: dict[str, Shorthand] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 3 or cols[2] not in ("always", "context"):
            raise ValueError(f"shorthand table line {n}: expected 'form<TAB>expansions<TAB>always|context'")
        form = unicodedata.normalize("NFC", cols[0].strip().lower())
        exps = tuple(unicodedata.normalize("NFC", e.strip()) for e in cols[1].split("|") if e.strip())
        table[form] = Shorthand(form, exps, cols[2] == "context")
    return table


@lru_cache(maxsize=1)
def load_shorthand(path: Path = SHORTHAND_PATH) -> dict[str, Shorthand]:
    """The bundled shorthand table, read once."""
    return parse_shorthand(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- result and offsets


@dataclass(frozen=True)
class RestoredText:
    """The restored text and how it maps back onto what the candidate wrote.

    ``edits`` lists the replacements that changed length, in order, as
    ``(original_start, original_end, restored_start, restored_end)``; outside them
    the two texts correspond character for character (a restored syllable has
    the length of its unmarked form).
    """

    original: str
    text: str
    edits: tuple[tuple[int, int, int, int], ...] = ()
    mode: RestoreMode = "none"

    @property
    def changed(self) -> bool:
        """Whether restoring changed anything."""
        return self.text != self.original

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that the span ``text[start:end]`` came from.

        A span that cuts into an expanded shorthand widens to the whole shorthand."""
        return (
            _map_start(start, [e[2] for e in self.edits], [e[3] for e in self.edits], self.edits, 0),
            _map_end(end, [e[2] for e in self.edits], [e[3] for e in self.edits], self.edits, 0),
        )

    def to_restored(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``text`` that the span ``original[start:end]`` became."""
        return (
            _map_start(start, [e[0] for e in self.edits], [e[1] for e in self.edits], self.edits, 2),
            _map_end(end, [e[0] for e in self.edits], [e[1] for e in self.edits], self.edits, 2),
        )


def _map_start(
    p: int, src_s: list[int], src_e: list[int], edits: tuple[tuple[int, int, int, int], ...], dst: int
) -> int:
    i = bisect_right(src_s, p) - 1
    if i < 0:
        return p
    if p < src_e[i]:  # inside a replaced span: its start
        return edits[i][dst]
    return p - src_e[i] + edits[i][dst + 1]


def _map_end(p: int, src_s: list[int], src_e: list[int], edits: tuple[tuple[int, int, int, int], ...], dst: int) -> int:
    i = bisect_left(src_s, p) - 1
    if i < 0:
        return p
    if p <= src_e[i]:  # inside a replaced span: its end
        return edits[i][dst + 1]
    return p - src_e[i] + edits[i][dst + 1]


def _assemble(original: str, ops: list[tuple[int, int, str]], mode: RestoreMode) -> RestoredText:
    """Apply non-overlapping replacements ``(start, end, new)`` (sorted) to ``original``."""
    pieces: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    pos = out_len = 0
    for s, e, new in ops:
        pieces.append(original[pos:s])
        out_len += s - pos
        pieces.append(new)
        if len(new) != e - s:
            edits.append((s, e, out_len, out_len + len(new)))
        out_len += len(new)
        pos = e
    pieces.append(original[pos:])
    return RestoredText(original=original, text="".join(pieces), edits=tuple(edits), mode=mode)


def _nfc_ops(text: str) -> list[tuple[int, int, str]]:
    # Each base character with its combining marks, where NFC changes it.
    ops: list[tuple[int, int, str]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        composed = unicodedata.normalize("NFC", cluster)
        if composed != cluster:
            ops.append((i, j, composed))
        i = j
    return ops


# --------------------------------------------------------------------------- decoding


@dataclass
class _Slot:
    """One word of a sentence: its readings as (output or None to keep, model ids, log weight)."""

    token: Token
    readings: list[tuple[str | None, tuple[int, ...], int]]


def _case_like(template: str, word: str) -> str:
    # Copy the case of the word the candidate typed onto its restored form.
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


class _Context:
    """Per-call lookups shared by the word classifiers."""

    def __init__(self, model: RestoreModel, shorthand: dict[str, Shorthand], mode: RestoreMode, text: str) -> None:
        self.model = model
        self.shorthand = shorthand
        self.mode = mode
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


def _numeric_or_math(tok: Token | None) -> bool:
    if tok is None or tok.kind == "break":
        return False
    if tok.kind == "other":
        return True  # a number, a formula, code: "r = 0.8", "10 ms", "k-fold"
    return tok.kind == "punct" and tok.text in _MATH


def _word_readings(
    ctx: _Context, tok: Token, prev: Token | None, nxt: Token | None
) -> list[tuple[str | None, tuple[int, ...], int]]:
    """The readings of one word: (output or None to keep it, model ids, log weight)."""
    model = ctx.model
    word = tok.text
    low = word.lower()
    keep_en: tuple[str | None, tuple[int, ...], int] = (None, (EN,), 0)
    as_english = (None, (EN,), model.english.get(low, model.english_floor))
    readings: list[tuple[str | None, tuple[int, ...], int]] = []

    short = ctx.shorthand.get(low)
    # Capitals are acronyms or variables (K, A, R); "Ko" opening a sentence is still shorthand.
    if short is not None and (word.islower() or len(word) > 1 and word.istitle()):
        if not short.context:
            return [(exp, _ids(model, exp), 0) for exp in short.expansions]
        near_vi = ctx.vietnamese(prev) or ctx.vietnamese(nxt)
        blocked = (
            ctx.english_only(nxt)
            or ctx.english_only(prev)
            and not ctx.vietnamese(nxt)
            or _numeric_or_math(prev)
            or _numeric_or_math(nxt)
        )
        if len(low) == 1 and (_folded(prev) in _VARIABLE_BEFORE or _folded(nxt) in _VARIABLE_AFTER):
            blocked = True
        if near_vi and not blocked:
            readings += [(exp, _ids(model, exp), _CONTEXT_SHORTHAND_PENALTY) for exp in short.expansions]

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
    if cands:
        readings += [(model.vocab[i], (i,), 0) for i in cands[:MAX_CANDIDATES]]
        # An English word alone between Vietnamese words is a syllable ("qua it" is "quá ít").
        if low in model.english and (ctx.englishish(prev) or ctx.englishish(nxt)):
            readings.append(as_english)
        return readings
    if readings:  # a shorthand that may also be a variable or a unit: k, r, ms
        readings.append((None, (EN,), _VARIABLE_WEIGHT if len(low) == 1 else as_english[2]))
        return readings
    if low in model.index and not ctx.acronym(word):
        return [(None, (model.index[low],), 0)]
    return [keep_en]


def _ids(model: RestoreModel, phrase: str) -> tuple[int, ...]:
    return tuple(model.index.get(s, EN) for s in phrase.lower().split())


def _decode(model: RestoreModel, slots: list[_Slot | int]) -> list[int]:
    """Beam Viterbi over one sentence; ``slots`` mixes words and fixed ids (<en>, <num>, <p>).

    Returns the index of the chosen reading of each word slot. The model lookups are
    written out in the loop: this is where restoring spends its time."""
    V = len(model.vocab)
    tri, bi, bow2, bow1, uni = model.tri, model.bi, model.bow2, model.bow1, model.uni
    # state: (u, v, score, chosen readings so far)
    beam: list[tuple[int, int, int, tuple[int, ...]]] = [(BOS, BOS, 0, ())]
    for slot in slots:
        best: dict[tuple[int, int], tuple[int, int, int, tuple[int, ...]]] = {}
        if isinstance(slot, int):
            readings: list[tuple[str | None, tuple[int, ...], int]] = [(None, (slot,), 0)]
        else:
            readings = slot.readings
        word = not isinstance(slot, int)
        for u, v, score, back in beam:
            uv = u * V + v
            base = uv * V
            backoff2 = bow2.get(uv, 0)
            vbase = v * V
            backoff1 = bow1[v]
            for r, (_out, ids, weight) in enumerate(readings):
                w = ids[0]
                x = tri.get(base + w)
                if x is None:
                    y = bi.get(vbase + w)
                    x = backoff2 + (y if y is not None else backoff1 + uni[w])
                s = score + weight + x
                a, b = v, w
                for w in ids[1:]:  # a multi-word shorthand expansion
                    s += model.logp(a, b, w)
                    a, b = b, w
                old = best.get((a, b))
                if old is None or s > old[2]:
                    best[(a, b)] = (a, b, s, back + (r,) if word else back)
        beam = list(best.values())
        if len(beam) > BEAM:
            beam.sort(key=lambda st: -st[2])
            del beam[BEAM:]
    final = max(beam, key=lambda st: st[2] + model.logp(st[0], st[1], EOS))
    return list(final[3])


def _restore_ops(
    text: str, model: RestoreModel, shorthand: dict[str, Shorthand], mode: RestoreMode
) -> list[tuple[int, int, str]]:
    ctx = _Context(model, shorthand, mode, text)
    tokens = tokenize(text)
    ops: list[tuple[int, int, str]] = []
    # One sentence: word tokens with their neighbours, or fixed model ids (<en>, <num>, <p>).
    sentence: list[tuple[Token, Token | None, Token | None] | int] = []

    def flush() -> None:
        words = [item for item in sentence if not isinstance(item, int)]
        # A sentence typed without marks inside a marked answer is restored like an unmarked answer.
        ctx.mode = mode
        if mode == "marked" and len(words) >= 3 and not any(is_marked(tok.text) for tok, _, _ in words):
            ctx.mode = "full"
        slots: list[_Slot | int] = [
            item if isinstance(item, int) else _Slot(item[0], _word_readings(ctx, *item)) for item in sentence
        ]
        word_slots = [s for s in slots if isinstance(s, _Slot)]
        if any(len(s.readings) > 1 for s in word_slots):
            choice = _decode(model, slots)
        else:
            choice = [0] * len(word_slots)
        for slot, r in zip(word_slots, choice):
            out = slot.readings[r][0]
            if out is None:
                continue
            new = _case_like(slot.token.text, out)
            if new != slot.token.text:
                ops.append((slot.token.start, slot.token.end, new))
        sentence.clear()

    # Neighbours for the shorthand rules skip plain punctuation; the model sees it as <p>.
    near = [i for i, t in enumerate(tokens) if t.kind != "punct" or t.text in _MATH]
    rank = {i: k for k, i in enumerate(near)}
    for i, tok in enumerate(tokens):
        if tok.kind == "break":
            flush()
        elif tok.kind == "word":
            k = rank[i]
            prev = tokens[near[k - 1]] if k else None
            nxt = tokens[near[k + 1]] if k + 1 < len(near) else None
            sentence.append((tok, prev, nxt))
        elif tok.kind == "other":
            sentence.append(NUM if any(c.isdigit() for c in tok.text) else EN)
        else:
            sentence.append(PUNCT)
    flush()
    return ops


# --------------------------------------------------------------------------- public API


def restoration_mode(text: str, form: LanguageForm | None = None, model: RestoreModel | None = None) -> RestoreMode:
    """How much of ``text`` to restore: ``full`` (Vietnamese typed without marks),
    ``marked`` (typed with marks: its shorthand, the bare words that cannot be right as
    typed, and any sentence typed without marks), or ``none`` (English, empty).

    Why not restore every bare word of a marked answer: on the marked fixture answers that
    changes 0.45% of right words (``anh`` → ``ảnh``, ``gom`` → ``gồm``) and fixes none, while
    the marked mode changes none; see ``benchmarks/restore_accuracy.py``.

    Uses :func:`grader.text.language.detect_language`; a text it reads as English or
    unknown is still restored in full when most of its words are Vietnamese-only syllables
    (a short unmarked answer with few function words: "dung relu thay sigmoid")."""
    form = form or detect_language(text)
    if form == "vi_nodiac":
        return "full"
    if form in ("vi", "mixed"):
        return "marked"
    words = [w for w in _WORD_RE.findall(text) if not is_marked(w)]
    if len(words) < 2:
        return "none"
    model = model or load_model()
    vi_only = sum(1 for w in words if w.lower() in model.candidates and w.lower() not in model.english)
    return "full" if vi_only >= 2 and vi_only >= 0.3 * len(words) else "none"


def restore(
    text: str,
    *,
    mode: RestoreMode | None = None,
    form: LanguageForm | None = None,
    model: RestoreModel | None = None,
    shorthand: dict[str, Shorthand] | None = None,
) -> RestoredText:
    """Restore the diacritics of ``text`` and expand its chat shorthand.

    ``mode`` overrides the detection of :func:`restoration_mode` (``form`` is the
    language form if the caller already has it). The result is NFC; its
    :meth:`RestoredText.to_original` maps spans back onto ``text`` as given."""
    if not text:
        return RestoredText(original=text, text=text)
    model = model or load_model()
    shorthand = load_shorthand() if shorthand is None else shorthand
    nfc_text = unicodedata.normalize("NFC", text)
    mode = mode or restoration_mode(nfc_text, form, model)
    nfc_ops = _nfc_ops(text) if nfc_text != text else []
    if mode == "none":
        return _assemble(text, nfc_ops, mode) if nfc_ops else RestoredText(original=text, text=text)
    ops = _restore_ops(nfc_text, model, shorthand, mode)
    if nfc_ops:
        ops = _compose_nfc(text, nfc_ops, ops)
    return _assemble(text, ops, mode)


def _compose_nfc(
    text: str, nfc_ops: list[tuple[int, int, str]], ops: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    # The word replacements were made on the NFC text: express them in the coordinates of
    # the text as given, beside the NFC replacements outside those words.
    orig_at: list[int] = []  # NFC offset -> offset in ``text`` (a composed cluster maps to its start)
    pos = 0
    for s, e, new in nfc_ops:
        orig_at.extend(range(pos, s))
        orig_at.extend([s] * len(new))
        pos = e
    orig_at.extend(range(pos, len(text) + 1))
    mapped = [(orig_at[s], orig_at[e], new) for s, e, new in ops]
    covered = [(s, e) for s, e, _ in mapped]
    kept = [op for op in nfc_ops if not any(s <= op[0] < e for s, e in covered)]
    return sorted(mapped + kept)


def expand_shorthand(text: str, *, model: RestoreModel | None = None) -> RestoredText:
    """Expand the chat shorthand only (``mình ko biết`` → ``mình không biết``), restoring no marks."""
    return restore(text, mode="shorthand", model=model)
