"""The encoder backends' names (no imports: the command line's parser reads them in the lean install)."""

from __future__ import annotations

#: Encoder backends: "openvino" runs an export of the model (made once, into the cache) on OpenVINO computing in
#: fp32: the same scores as "torch" (sentence-transformers in fp32, the reference), faster and in less memory,
#: without importing torch. "openvino-int8" has int8 weights: faster still, but a few answers' scores move, by up to
#: 0.40 on the fixtures and hold-out sets (a point's status flips at a threshold), so it is not the default. The
#: measured figures are in docs/speed.md.
BACKENDS = ("openvino", "torch", "openvino-int8")
DEFAULT_BACKEND = "openvino"
#: The OpenVINO backends and the export variant each runs (grader.embedding.export.VARIANTS): one table both ways.
EXPORT_VARIANTS = {"openvino": "fp32", "openvino-int8": "int8"}
BACKEND_OF_VARIANT = {variant: backend for backend, variant in EXPORT_VARIANTS.items()}


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a ValueError naming them (before anything loads)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown encoder backend {backend!r} (known: {', '.join(BACKENDS)})")
    return backend
