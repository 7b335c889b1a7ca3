"""Shared fixtures: one real model and one Grader for the whole session; the ``slow`` marker kept honest.

A test that runs the model is ``slow`` (``pytest -m "not slow"`` runs the model-free ones in seconds):
every test that uses the session ``grader`` is marked automatically, and any other test that
runs the model (through the command line, say) must carry the marker: unmarked, its first
encoder call fails and says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "grader" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _model_only_in_slow_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("slow") is not None:
        return
    try:
        from grader.embedding.encoder import SentenceTransformerEncoder
        from grader.embedding.exported_encoder import ExportedEncoder
    except ImportError:  # pragma: no cover - lean install: no model to guard
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("this test runs the embedding model: mark it @pytest.mark.slow")

    for backend in (SentenceTransformerEncoder, ExportedEncoder):  # torch, and the openvino backends (the default)
        monkeypatch.setattr(backend, "encode", refuse)


@pytest.fixture(scope="session")
def grader():
    """The bundled rubrics with the bundled multilingual-e5-small: loaded once per test run
    (the encoder is cached per process, so CLI tests building their own Grader share it)."""
    from grader.engine import Grader

    return Grader.default()
