"""Shared fixtures: one real model and one Grader for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def grader():
    """The bundled rubrics with the bundled multilingual-e5-small: loaded once per test run
    (the encoder is cached per process, so CLI tests building their own Grader share it)."""
    from grader.engine import Grader

    return Grader.default()
