"""The documentation names what exists: every ``grader.…`` name and every command and option of the README."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from grader.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOTTED = re.compile(r"`(grader(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _resolve(dotted: str) -> object:
    """The module or attribute a dotted name denotes (ImportError / AttributeError if none)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and not ".".join(parts[:cut]).startswith(exc.name):
                raise  # a dependency is missing, not the module
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_grader_name_in_the_docs_exists(doc: Path):
    names = sorted(set(DOTTED.findall(doc.read_text(encoding="utf-8"))))
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert missing == [], f"{doc.name} names what does not exist"


def _subcommands() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)  # type: ignore[attr-defined]


def test_every_command_and_option_of_the_readme_exists():
    commands = _subcommands()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `grader ")]
    assert rows
    for row in rows:
        cells = row.split("|")
        usage = " ".join(re.findall(r"`([^`]*)`", cells[1]))
        command = re.match(r"grader ([a-z-]+)", usage).group(1)  # type: ignore[union-attr]
        assert command in commands, row
        options = {o for a in commands[command]._actions for o in a.option_strings}  # type: ignore[attr-defined]
        for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage + " " + cells[2]):
            if flag in ("-", "--"):
                continue
            assert flag in options, f"{row}: {flag} is not an option of grader {command}"
