"""Build the diacritic restorer's model (``grader/data/restore_model.bin.gz``) from installed files.

    python -m grader.train.restorer            # writes grader/data/restore_model.bin.gz
    python -m grader.train.restorer --check    # rebuilds in memory, fails if the file differs

The sources (:mod:`grader.train.corpus`) are underthesea's VLSP2013 text and Viet74K word list,
the bundled rubrics and the lexicon's English stop words: all in a fresh clone with the
``model`` extra installed, nothing downloaded. The build is deterministic: same sources,
same bytes (the file's header records each source's hash).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from grader.atomic import file_sha256
from grader.paths import bundled_rubrics_dir
from grader.text.lexicon import RESTORE_ENGLISH_STOP
from grader.text.restore import is_marked, model_from_parts, read_model_parts, syllable_key, tokenize, write_model
from grader.text.restore.model import EN, MODEL_FORMAT, MODEL_PATH, NUM, PUNCT, SCALE, SPECIALS
from grader.train.corpus import (
    dictionary_words,
    english_texts,
    english_words,
    is_syllable,
    rubric_sentences,
    training,
    viet74k_path,
    vlsp_path,
    vlsp_sentences,
)
from grader.train.kneser_ney import kneser_ney

PRUNE = 0.0  # singleton trigrams this close (nats) to their backoff estimate are dropped


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



def _quantize(x: float) -> int:
    return max(-32767, min(32767, round(x * SCALE)))


def _delta(keys: list[int]) -> array:
    out, last = array("q"), 0
    for k in keys:
        out.append(k - last)
        last = k
    return out


# --------------------------------------------------------------------------- build


def build_parts(
    *,
    rubrics_dir: Path | None = None,
    prune: float = PRUNE,
    tuning: bool = False,
) -> dict[str, object]:
    """Everything the model file holds, from the installed sources (``tuning``: without the dev split)."""
    rubrics_dir = rubrics_dir or bundled_rubrics_dir()
    vlsp = training(vlsp_sentences(), tuning=tuning)
    rubric = training(rubric_sentences(rubrics_dir), tuning=tuning)
    corpus = vlsp + rubric
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

    english_counts = english_words(english_texts(rubrics_dir))
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
        "vlsp2013": file_sha256(vlsp_path()),
        "viet74k": file_sha256(viet74k_path()),
        "rubrics": hashlib.sha256(
            b"".join(file_sha256(p).encode() for p in sorted(rubrics_dir.glob("*.yaml")))
        ).hexdigest(),
        "english_stop_words": hashlib.sha256(" ".join(sorted(RESTORE_ENGLISH_STOP)).encode()).hexdigest(),
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
    parser = argparse.ArgumentParser(prog="python -m grader.train.restorer", description=__doc__.split("\n")[0])
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
