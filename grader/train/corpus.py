"""The text the restorer's model learns from, and the held-out split it is measured on.

Every source is on the machine once the ``model`` extra is installed, or in the repository:

* underthesea's VLSP2013 POS-tagged news text (``test_output.txt``, about 2,800 sentences),
* underthesea's Viet74K word list (the syllable inventory and its unigram prior),
* the bundled rubrics: every Vietnamese string (statements, phrasings, feedback, aliases,
  examples), and their English strings for the English word list,
* the English stop words of :mod:`grader.text.lexicon`.

A tenth of the VLSP and rubric sentences, chosen by a hash of the sentence (:func:`split_of`),
is held out of the model and measured by ``benchmarks/restore_accuracy.py``; another tenth was
left out while the build's constants were chosen.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from grader.paths import bundled_rubrics_dir
from grader.text.lexicon import RESTORE_ENGLISH_STOP
from grader.text.normalize import diacritic_ratio, normalize_tone_placement, strip_diacritics
from grader.text.restore import is_marked, syllable_key, tokenize

HELD_OUT_BUCKETS = 10  # one sentence in ten is held out

# Vietnamese syllable shape, on the folded form: onset, one to three vowels, coda.
_SYLLABLE = re.compile(r"(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|nh|ng|[cmnpt])?")
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_SENTENCE_SPLIT = re.compile(r"\n+|(?<=[.!?;])\s+")


# --------------------------------------------------------------------------- sources


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed: pip install -e '.[model]'")
    return Path(next(iter(spec.submodule_search_locations)))


def vlsp_path() -> Path:
    """underthesea's VLSP2013 tagged text."""
    return _package_dir("underthesea") / "pipeline/pos_tag/models/pos_crf_vlsp2013_20230303/test_output.txt"


def viet74k_path() -> Path:
    """underthesea's Viet74K word list."""
    return _package_dir("underthesea") / "corpus/data/Viet74K.txt"


def clean(text: str) -> str:
    """NFC, new-style tone placement (keeps case), single spaces."""
    return " ".join(normalize_tone_placement(unicodedata.normalize("NFC", text)).split())


def vlsp_tagged(path: Path | None = None) -> list[tuple[str, list[str]]]:
    """The VLSP sentences (tokens joined by spaces: a multi-syllable word is already spaced),
    each with the part-of-speech tag of every syllable."""
    sentences: list[tuple[str, list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    for line in [*(path or vlsp_path()).read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if words:
                sentence = clean(" ".join(words))
                syllable_tags = [
                    tag for word, tag in zip(words, tags) for tok in tokenize(clean(word)) if tok.kind == "word"
                ]
                sentences.append((sentence, syllable_tags))
                words, tags = [], []
            continue
        cols = line.split("\t")
        words.append(cols[0])
        tags.append(cols[1].removeprefix("B-").removeprefix("I-") if len(cols) > 1 else "")
    return sentences


def vlsp_sentences(path: Path | None = None) -> list[str]:
    """The VLSP sentences."""
    return [s for s, _ in vlsp_tagged(path)]


def _rubric_strings(rubrics_dir: Path) -> tuple[list[str], list[str]]:
    import yaml

    vi: list[str] = []
    en: list[str] = []

    def walk(node: object, key: str | None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key not in ("id", "covers", "not_covers", "contradicts", "kind", "tags"):
            # Only the ``en`` side is sure to be English: a bare alias may be folded Vietnamese.
            if key == "en":
                en.append(node)
            elif key == "vi" or diacritic_ratio(node) > 0.03:
                vi.append(node)

    for path in sorted(rubrics_dir.glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), None)
    return vi, en


def split_sentences(texts: Iterable[str]) -> list[str]:
    """Sentences of free texts (lines, then ``.!?;`` followed by a space), deduplicated in order."""
    seen: set[str] = set()
    out = []
    for text in texts:
        for piece in _SENTENCE_SPLIT.split(text):
            s = clean(piece)
            if s and s not in seen:
                seen.add(s)
                out.append(s)
    return out


def rubric_sentences(rubrics_dir: Path | None = None) -> list[str]:
    """The Vietnamese sentences of the rubrics (with their English terms), deduplicated."""
    vi, _ = _rubric_strings(rubrics_dir or bundled_rubrics_dir())
    return split_sentences(vi)


def english_texts(rubrics_dir: Path | None = None) -> list[str]:
    """The rubrics' English strings (their ``en`` fields)."""
    return _rubric_strings(rubrics_dir or bundled_rubrics_dir())[1]


def split_of(sentence: str) -> str:
    """Where a sentence goes, by a hash of its cleaned text: ``test`` (one in ten, never in the
    shipped model), ``dev`` (one in ten, left out only while tuning the constants), else ``train``."""
    bucket = int(hashlib.sha1(clean(sentence).encode("utf-8")).hexdigest()[:8], 16) % HELD_OUT_BUCKETS
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def held_out(sentences: Iterable[str], split: str = "test") -> list[str]:
    """The sentences of ``split`` among ``sentences``."""
    return [s for s in sentences if split_of(s) == split]


def training(sentences: Iterable[str], *, tuning: bool = False) -> list[str]:
    """The sentences the model learns from: all but the test split (and the dev split while tuning)."""
    left_out = {"test", "dev"} if tuning else {"test"}
    return [s for s in sentences if split_of(s) not in left_out]


# --------------------------------------------------------------------------- inventory


def is_syllable(word: str) -> bool:
    """Whether ``word`` (lower case) has the shape of one Vietnamese syllable with at most one tone."""
    if not word or not word.isalpha():
        return False
    tones = sum(1 for c in unicodedata.normalize("NFD", word) if c in _TONE_MARKS)
    return tones <= 1 and _SYLLABLE.fullmatch(strip_diacritics(word).lower()) is not None


def dictionary_words(path: Path | None = None) -> list[list[str]]:
    """Viet74K entries as lists of syllables (lower case), entries with a non-syllable left out."""
    out = []
    for line in (path or viet74k_path()).read_text(encoding="utf-8").splitlines():
        syls = [syllable_key(s) for s in line.split()]
        if syls and all(is_syllable(s) for s in syls):
            out.append(syls)
    return out


def english_words(texts: Iterable[str]) -> Counter[str]:
    """Lower-case English words with their counts in ``texts``, plus the lexicon's English stop words (once each)."""
    counts: Counter[str] = Counter()
    for text in texts:
        for tok in tokenize(clean(text)):
            if tok.kind == "word" and not is_marked(tok.text):
                counts[tok.text.lower()] += 1
    for w in sorted(RESTORE_ENGLISH_STOP):
        if w.isalpha():
            counts[w] += 1
    return counts
