"""The embedding disk cache: an encoder that never encodes the same text twice.

Used for the rubrics' reference phrasings (every :class:`~grader.engine.Grader` compiles
through it, so editing one rubric re-encodes only its changed phrasings) and for the
answers of labelled sets and benchmarks (tens of thousands of texts).

Vectors are keyed by a hash of the text, in one folder per model id. Each encoder call's
new vectors become one append-only shard file (``shard-*.npz``), written atomically: an
interrupted run keeps every finished shard, two processes never write the same file, and
a damaged shard only costs re-encoding its texts. Once a folder holds more than
:data:`MAX_SHARDS` shards they are merged into one.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grader.atomic import write_atomic
from grader.embedding.encoder import Encoder

MAX_SHARDS = 64


def text_key(text: str) -> str:
    """The cache key of a text (32 hex characters)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def model_folder(directory: str | os.PathLike[str], model_id: str) -> Path:
    """The folder holding the vectors of ``model_id`` under a cache ``directory``."""
    return Path(directory) / hashlib.sha256(model_id.encode()).hexdigest()[:12]


class CachedEncoder:
    """An :class:`~grader.embedding.encoder.Encoder` that remembers every vector it computes.

    ``directory`` None keeps the vectors in memory only. ``chunk``: at most this many new
    texts per call of the wrapped encoder (each chunk is saved as it is done; None: all
    of a call's new texts at once). ``progress`` shows a tqdm bar while encoding.
    """

    def __init__(
        self, encoder: Encoder, directory: str | os.PathLike[str] | None, *, chunk: int | None = None, progress: bool = False
    ):
        self.encoder = encoder
        self.model_id: str = encoder.model_id
        #: The wrapped encoder's backend (signatures name it) and cache key (one folder per backend's vectors).
        self.backend: str | None = getattr(encoder, "backend", None)
        self.cache_id: str = getattr(encoder, "cache_id", None) or encoder.model_id
        self.directory = model_folder(directory, self.cache_id) if directory is not None else None
        self.chunk = chunk
        self.progress = progress
        self.encoded = 0  # texts sent to the wrapped encoder by this object
        self._vectors: dict[str, np.ndarray] = {}
        self._shards: list[Path] = []
        self._dim = 0
        self._load()

    def __len__(self) -> int:
        return len(self._vectors)

    def _load(self) -> None:
        if self.directory is None or not self.directory.is_dir():
            return
        for f in sorted(self.directory.glob("shard-*.npz")):
            try:
                with np.load(f, allow_pickle=False) as data:
                    keys, vecs = data["keys"], data["vectors"].astype(np.float32)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # damaged or half-deleted: its texts are encoded again
            if keys.shape[0] != vecs.shape[0]:
                continue
            self._shards.append(f)
            self._vectors.update(zip(keys.tolist(), vecs))
            if len(vecs):
                self._dim = vecs.shape[1]

    def _save(self, keys: list[str], vecs: np.ndarray) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, keys=np.array(keys, dtype="<U32"), vectors=np.asarray(vecs, dtype=np.float32))
        name = f"shard-{len(self._shards) + 1:05d}-{os.getpid()}-{secrets.token_hex(3)}.npz"
        self._shards.append(write_atomic(self.directory / name, buf.getvalue(), durable=False))
        if len(self._shards) > MAX_SHARDS:
            self._merge()

    def _merge(self) -> None:
        """Rewrite every known vector as one shard and remove the shards it replaces (not others' new ones)."""
        assert self.directory is not None
        old, self._shards = self._shards, []
        keys = list(self._vectors)
        self._save(keys, np.stack([self._vectors[k] for k in keys]))
        for f in old:
            f.unlink(missing_ok=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (one row per text, float32), encoding only the texts not seen before."""
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._vectors and k not in missing:
                missing[k] = t
        todo = list(missing.items())
        size = self.chunk or max(1, len(todo))
        bar = _progress_bar(len(todo)) if self.progress and todo else None
        try:
            for i in range(0, len(todo), size):
                part = todo[i : i + size]
                vecs = np.asarray(self.encoder.encode([t for _, t in part]), dtype=np.float32)
                self._vectors.update(zip((k for k, _ in part), vecs))
                self._dim = vecs.shape[1]
                self.encoded += len(part)
                self._save([k for k, _ in part], vecs)
                if bar is not None:
                    bar.update(len(part))
        finally:
            if bar is not None:
                bar.close()
        if not keys:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])


def _progress_bar(total: int):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, unit="text", desc="encoding", dynamic_ncols=True)
