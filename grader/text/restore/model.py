"""The restoration model: a syllable trigram language model in backoff form, its file format and loader.

``grader/data/restore_model.bin.gz`` is built by ``python -m grader.train.restorer`` (see
:mod:`grader.train.restorer`); here it is read, once per process, in about 0.1 s.
"""

from __future__ import annotations

import gzip
import json
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from grader.text.normalize import strip_diacritics

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MODEL_PATH = DATA_DIR / "restore_model.bin.gz"
MODEL_FORMAT = "grader-restore-1"
SCALE = 1000  # stored log-probabilities are integer millinats

# Reserved ids of the language model's vocabulary; syllables follow.
BOS, EOS, EN, NUM, PUNCT = 0, 1, 2, 3, 4
SPECIALS = ("<s>", "</s>", "<en>", "<num>", "<p>")


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
