"""Build the diacritic-restoration model (``grader/data/restore_model.bin.gz``) from installed files.

    python -m grader.text.restore_build            # writes grader/data/restore_model.bin.gz
    python -m grader.text.restore_build --check    # rebuilds in memory, fails if the file differs

Sources, all on the machine once the ``model`` extra is installed (nothing is downloaded):

* underthesea's VLSP2013 POS-tagged news text (``test_output.txt``, about 2,800 sentences),
* underthesea's Viet74K word list (the syllable inventory and its unigram prior),
* the bundled rubrics: every Vietnamese string (statements, phrasings, feedback, aliases, examples),
  and their English strings for the English word list,
* the seed article ``shared/seed/interview-questions-vi.txt`` beside the checkout, when present,
* spaCy's English stop-word list (read as text, spaCy is not imported).

A tenth of the VLSP and rubric sentences, chosen by a hash of the sentence (:func:`split_of`),
is held out of the model and measured by ``benchmarks/restore_accuracy.py``; another tenth was
left out while the constants below were chosen. The build is
deterministic: same sources, same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import math
import re
import sys
import time
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.paths import bundled_rubrics_dir
from grader.text.normalize import strip_diacritics
from grader.text.restore import (
    BOS,
    EN,
    EOS,
    MODEL_FORMAT,
    MODEL_PATH,
    NUM,
    PUNCT,
    SCALE,
    SPECIALS,
    is_marked,
    model_from_parts,
    read_model_parts,
    syllable_key,
    tokenize,
    write_model,
)

HELD_OUT_BUCKETS = 10  # one sentence in ten is held out
UNIFORM_MASS = 0.002  # unigram mass spread over the whole inventory (syllables seen only in Viet74K)
PRUNE = 0.0  # singleton trigrams this close (nats) to their backoff estimate are dropped

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


def seed_path() -> Path:
    """The seed article, in ``shared/`` beside the checkout."""
    return Path(__file__).resolve().parents[3] / "shared/seed/interview-questions-vi.txt"


def spacy_stop_words_path() -> Path:
    """spaCy's English stop words (a Python file read as text)."""
    return _package_dir("spacy") / "lang/en/stop_words.py"


def clean(text: str) -> str:
    """NFC, new-style tone placement (keeps case), single spaces."""
    from grader.text.normalize import normalize_tone_placement

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

    from grader.text.normalize import diacritic_ratio

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


def seed_sentences(path: Path | None = None) -> list[str]:
    """The seed article's sentences, or none when it is not beside the checkout."""
    path = path or seed_path()
    return split_sentences([path.read_text(encoding="utf-8")]) if path.is_file() else []


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


def english_words(texts: Iterable[str], stop_words_file: Path | None) -> Counter[str]:
    """Lower-case English words with their counts in ``texts``, plus spaCy's stop words (once each)."""
    counts: Counter[str] = Counter()
    for text in texts:
        for tok in tokenize(clean(text)):
            if tok.kind == "word" and not is_marked(tok.text):
                counts[tok.text.lower()] += 1
    if stop_words_file is not None and stop_words_file.is_file():
        body = stop_words_file.read_text(encoding="utf-8")
        block = body[body.index('"""') + 3 : body.rindex('"""')]
        for w in block.split():
            if w.isalpha():
                counts[w.lower()] += 1
    return counts


# --------------------------------------------------------------------------- training sequences


def encode(sentence: str, index: dict[str, int], english: set[str]) -> Iterator[list[int]]:
    """The model ids of a marked sentence, cut at sentence breaks.

    A bare word that is both a syllable and an English word counts as English when a
    neighbouring word is not Vietnamese ("the model"), else as the syllable ("to hơn")."""
    seq: list[int] = []
    toks = tokenize(sentence)
    words = [t for t in toks if t.kind == "word"]
    vi_word = {id(t): syllable_key(t.text) in index and not (2 <= len(t.text) <= 4 and t.text.isupper()) for t in words}
    pos = {id(t): i for i, t in enumerate(words)}
    for k, tok in enumerate(toks):
        if tok.kind == "word" and len(tok.text) == 1 and k + 1 < len(toks) and toks[k + 1].text in ").":
            seq.append(EN)  # a list label, spaced in VLSP: "a ) ...", "a . ..."
        elif tok.kind == "break":
            if seq:
                yield seq
            seq = []
        elif tok.kind == "punct":
            seq.append(PUNCT)
        elif tok.kind == "other":
            seq.append(NUM if any(c.isdigit() for c in tok.text) else EN)
        else:
            key = syllable_key(tok.text)
            if not vi_word[id(tok)]:
                seq.append(EN)
                continue
            if not is_marked(key) and key in english:
                i = pos[id(tok)]
                neighbours = [words[j] for j in (i - 1, i + 1) if 0 <= j < len(words)]
                if any(not vi_word[id(n)] for n in neighbours):
                    seq.append(EN)
                    continue
            seq.append(index[key])
    if seq:
        yield seq


# --------------------------------------------------------------------------- Kneser-Ney


def _discounts(counts: Iterable[int]) -> tuple[float, float, float]:
    # Modified Kneser-Ney discounts for counts 1, 2 and 3+ (Chen & Goodman).
    n = Counter(min(c, 4) for c in counts)
    n1, n2, n3, n4 = (max(n[i], 1) for i in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2)
    return (
        min(max(1 - 2 * y * n2 / n1, 0.05), 0.95),
        min(max(2 - 3 * y * n3 / n2, 0.05), 1.95),
        min(max(3 - 4 * y * n4 / n3, 0.05), 2.95),
    )


def _d(c: int, ds: tuple[float, float, float]) -> float:
    return ds[0] if c == 1 else ds[1] if c == 2 else ds[2]


@dataclass
class KneserNey:
    """A trigram model in backoff form, natural logs: ``tri[(u*V+v)*V+w]`` = log P(w | u, v) for seen
    trigrams, else ``bow2[u*V+v]`` + (``bi[v*V+w]`` = log P(w | v) if seen, else ``bow1[v]`` + ``uni[w]``)."""

    uni: list[float]
    bow1: list[float]
    bi: dict[int, float]
    bow2: dict[int, float]
    tri: dict[int, float]
    tokens: int

    def counts(self) -> dict[str, int]:
        """Sizes of the tables, for the file's header."""
        return {"trigrams": len(self.tri), "bigrams": len(self.bi), "contexts": len(self.bow2), "tokens": self.tokens}


def kneser_ney(
    sequences: Iterable[list[int]],
    vocab_size: int,
    dictionary_unigrams: Counter[int],
    prune: float = 0.0,
) -> KneserNey:
    """Interpolated modified Kneser-Ney trigram model, stored in backoff form (natural logs).

    The unigram mass freed by discounting goes to the syllables by their frequency in
    ``dictionary_unigrams`` (Viet74K), and a little uniformly, so a syllable the text never
    shows is still a candidate. A trigram seen once whose probability is within ``prune``
    nats of its backoff estimate is left out (smaller, faster to load)."""
    c3: Counter[tuple[int, int, int]] = Counter()
    for seq in sequences:
        padded = [BOS, BOS, *seq, EOS]
        for i in range(2, len(padded)):
            c3[(padded[i - 2], padded[i - 1], padded[i])] += 1

    # Continuation counts: distinct left neighbours.
    cc2: Counter[tuple[int, int]] = Counter()
    for u, v, w in c3:
        cc2[(v, w)] += 1
    cc1: Counter[int] = Counter()
    for v, w in cc2:
        cc1[w] += 1

    d3, d2, d1 = _discounts(c3.values()), _discounts(cc2.values()), _discounts(cc1.values())

    # Unigrams: discounted continuation counts, the freed mass spread by the dictionary and uniformly.
    total1 = sum(cc1.values())
    freed = sum(_d(c, d1) for c in cc1.values()) / total1
    dict_total = sum(dictionary_unigrams.values()) or 1
    uni = []
    for w in range(vocab_size):
        p = max(cc1.get(w, 0) - _d(cc1.get(w, 0), d1), 0.0) / total1 if cc1.get(w) else 0.0
        p += (freed - UNIFORM_MASS) * dictionary_unigrams.get(w, 0) / dict_total + UNIFORM_MASS / (vocab_size - 1)
        uni.append(math.log(p) if w != BOS else -99.0)

    # Bigrams over continuation counts.
    ctx2_total: defaultdict[int, int] = defaultdict(int)
    ctx2_freed: defaultdict[int, float] = defaultdict(float)
    for (v, w), c in cc2.items():
        ctx2_total[v] += c
        ctx2_freed[v] += _d(c, d2)
    bi: dict[int, float] = {}
    for (v, w), c in cc2.items():
        gamma = ctx2_freed[v] / ctx2_total[v]
        bi[v * vocab_size + w] = math.log((c - _d(c, d2)) / ctx2_total[v] + gamma * math.exp(uni[w]))
    bow1 = [0.0] * vocab_size
    for v, t in ctx2_total.items():
        bow1[v] = math.log(ctx2_freed[v] / t)

    # Trigrams over raw counts.
    ctx3_total: defaultdict[tuple[int, int], int] = defaultdict(int)
    ctx3_freed: defaultdict[tuple[int, int], float] = defaultdict(float)
    for (u, v, w), c in c3.items():
        ctx3_total[(u, v)] += c
        ctx3_freed[(u, v)] += _d(c, d3)
    tri: dict[int, float] = {}
    for (u, v, w), c in c3.items():
        gamma = ctx3_freed[(u, v)] / ctx3_total[(u, v)]
        lower = bi.get(v * vocab_size + w)
        p2 = math.exp(lower) if lower is not None else math.exp(bow1[v] + uni[w])
        p3 = math.log((c - _d(c, d3)) / ctx3_total[(u, v)] + gamma * p2)
        if c == 1 and abs(p3 - math.log(gamma * p2)) < prune:
            continue
        tri[(u * vocab_size + v) * vocab_size + w] = p3
    bow2 = {u * vocab_size + v: math.log(ctx3_freed[(u, v)] / t) for (u, v), t in ctx3_total.items()}
    return KneserNey(uni, bow1, bi, bow2, tri, tokens=sum(c3.values()))


def _quantize(x: float) -> int:
    return max(-32767, min(32767, round(x * SCALE)))


def _delta(keys: list[int]) -> array:
    out, last = array("q"), 0
    for k in keys:
        out.append(k - last)
        last = k
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- build


def build_parts(
    *,
    rubrics_dir: Path | None = None,
    seed: Path | None = None,
    prune: float = PRUNE,
    tuning: bool = False,
) -> dict[str, object]:
    """Everything the model file holds, from the installed sources (``tuning``: without the dev split)."""
    rubrics_dir = rubrics_dir or bundled_rubrics_dir()
    seed = seed or seed_path()
    vlsp = training(vlsp_sentences(), tuning=tuning)
    rubric = training(rubric_sentences(rubrics_dir), tuning=tuning)
    article = seed_sentences(seed)
    corpus = vlsp + rubric + article
    dictionary = dictionary_words()

    # Inventory: every syllable of the training text and of Viet74K, most frequent first.
    freq: Counter[str] = Counter()
    for sentence in corpus:
        for tok in tokenize(sentence):
            if tok.kind == "word":
                key = syllable_key(tok.text)
                if is_syllable(key) and (is_marked(key) or not (2 <= len(tok.text) <= 4 and tok.text.isupper())):
                    freq[key] += 1
    dict_freq: Counter[str] = Counter(s for entry in dictionary for s in entry)
    syllables = sorted(set(freq) | set(dict_freq), key=lambda s: (-freq[s], -dict_freq[s], s))
    # A bare form seen only in mixed text (an English word: "the", "can") is no syllable unless
    # the news text or the dictionary has it.
    vlsp_forms: Counter[str] = Counter(syllable_key(t.text) for s in vlsp for t in tokenize(s) if t.kind == "word")
    syllables = [s for s in syllables if is_marked(s) or s in dict_freq or vlsp_forms[s] >= 2]
    vocab = list(SPECIALS) + syllables
    index = {w: i for i, w in enumerate(vocab)}

    english_counts = english_words(english_texts(rubrics_dir), spacy_stop_words_path())
    english = set(english_counts)
    sequences = [seq for sentence in corpus for seq in encode(sentence, index, english)]
    # Viet74K shapes the unigram prior only: its word-internal syllable pairs, tried as bigram
    # continuation counts, cost 0.9 points of accuracy on the dev split (they outweigh the text).
    dictionary_unigrams: Counter[int] = Counter({index[s]: c for s, c in dict_freq.items()})
    lm = kneser_ney(sequences, len(vocab), dictionary_unigrams, prune=prune)

    # The English side of an ambiguous bare word: P(word | English), add-half smoothed.
    total = sum(english_counts.values()) + 0.5 * (len(english_counts) + 1)
    eng_words = sorted(english_counts)
    eng_logp = array("h", (_quantize(math.log((english_counts[w] + 0.5) / total)) for w in eng_words))

    bi_keys, bow2_keys, tri_keys = sorted(lm.bi), sorted(lm.bow2), sorted(lm.tri)
    sources = {
        "vlsp2013": _sha256(vlsp_path()),
        "viet74k": _sha256(viet74k_path()),
        "rubrics": hashlib.sha256(
            b"".join(_sha256(p).encode() for p in sorted(rubrics_dir.glob("*.yaml")))
        ).hexdigest(),
        "seed": _sha256(seed) if seed.is_file() else None,
        "spacy_stop_words": _sha256(spacy_stop_words_path()),
    }
    return {
        "format": MODEL_FORMAT,
        "scale": SCALE,
        "vocab": vocab,
        "sources": sources,
        "counts": {
            **lm.counts(),
            "sentences": len(corpus),
            "vlsp_sentences": len(vlsp),
            "rubric_sentences": len(rubric),
            "seed_sentences": len(article),
            "syllables": len(syllables),
            "english_words": len(eng_words),
        },
        "english_words": eng_words,
        "english_logp": eng_logp,
        "english_floor": _quantize(math.log(0.5 / total)),
        "uni": array("h", map(_quantize, lm.uni)),
        "bow1": array("h", map(_quantize, lm.bow1)),
        "bi_keys": _delta(bi_keys),
        "bi_logp": array("h", (_quantize(lm.bi[k]) for k in bi_keys)),
        "bow2_keys": _delta(bow2_keys),
        "bow2_logw": array("h", (_quantize(lm.bow2[k]) for k in bow2_keys)),
        "tri_keys": _delta(tri_keys),
        "tri_logp": array("h", (_quantize(lm.tri[k]) for k in tri_keys)),
    }


def main(argv: list[str] | None = None) -> int:
    """Build (or check) the model file."""
    parser = argparse.ArgumentParser(prog="python -m grader.text.restore_build", description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=MODEL_PATH, help="model file to write")
    parser.add_argument("--check", action="store_true", help="rebuild in memory and compare with the file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    parts = build_parts()
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "model.bin.gz"
            write_model(fresh, parts)
            same = fresh.read_bytes() == args.output.read_bytes()
        print(f"{args.output}: {'up to date' if same else 'DIFFERS from a fresh build'}")
        return 0 if same else 1
    write_model(args.output, parts)
    model_from_parts(read_model_parts(args.output))  # the file reads back
    counts: dict[str, int] = parts["counts"]  # type: ignore[assignment]
    print(
        f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
