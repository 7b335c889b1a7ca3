"""Reading rubric files: YAML with line numbers, schema errors as located problems.

Nothing here imports torch or a model, so that ``grader validate`` stays instant.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from grader.rubric.schema import Rubric

RUBRIC_SUFFIXES = (".yaml", ".yml")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rubric file, located as precisely as possible."""

    path: str
    line: int
    message: str
    hint: str = ""
    severity: str = "error"  # "error" fails validation; "warning" is only reported

    def __str__(self) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        level = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {level}{self.message}{hint}"


class RubricError(ValueError):
    """Raised when rubric files cannot be loaded; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class LoadedRubric:
    """A parsed rubric with the source positions of its YAML nodes."""

    path: str
    rubric: Rubric
    tree: Any = field(repr=False)

    def line_of(self, loc: Loc) -> int:
        """1-based line of the YAML node at ``loc`` (or its nearest parent)."""
        return line_of(self.tree, loc)


def line_of(tree: Any, loc: Loc) -> int:
    """1-based line of the deepest node of ``tree`` reachable along ``loc``."""
    node, line = tree, 1
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers as plain dicts/lists, strings in NFC."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return unicodedata.normalize("NFC", node)
    return node


def _describe(err: dict[str, Any]) -> tuple[str, str]:
    """A pydantic error as (message, hint) in a rubric author's words."""
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown field '{err['loc'][-1]}'", "check the spelling; see schema/rubric.schema.json for the allowed fields"
    if kind == "missing":
        return f"missing required field '{loc}'", "add it"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    where = f"'{loc}': " if loc else ""
    return f"{where}{msg}", ""


def parse_rubric_text(text: str, path: str = "<string>") -> LoadedRubric:
    """Parse YAML text into a :class:`LoadedRubric`; raise :class:`RubricError` with located problems."""
    if not text.strip():
        raise RubricError([Problem(path, 1, "the file is empty", "write a rubric; see rubrics/ for examples")])
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(s for s in (exc.context, exc.problem) if s).strip() or "invalid YAML"
        raise RubricError([Problem(path, line, f"YAML syntax error: {what}", "fix the YAML syntax")]) from None
    except YAMLError as exc:
        raise RubricError([Problem(path, 1, f"YAML error: {exc}", "fix the YAML syntax")]) from None
    if not isinstance(tree, CommentedMap):
        raise RubricError(
            [Problem(path, 1, "the top level must be a mapping of fields", "start with 'id:', 'title:', 'question:' ...")]
        )
    try:
        rubric = Rubric.model_validate(_plain(tree))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message, hint = _describe(err)
            problems.append(Problem(path, line_of(tree, tuple(err["loc"])), message, hint))
        raise RubricError(problems) from None
    return LoadedRubric(path=path, rubric=rubric, tree=tree)


def read_rubric_file(path: str | Path) -> LoadedRubric:
    """Read and parse one rubric file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise RubricError([Problem(str(p), 1, f"cannot read the file: {exc.strerror}", "check the path")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RubricError(
            [Problem(str(p), line, f"the file is not valid UTF-8 (byte {exc.start})", "save it as UTF-8")]
        ) from None
    return parse_rubric_text(text, str(p))


def find_rubric_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rubric files named by ``paths``: files as given, folders searched recursively."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.suffix in RUBRIC_SUFFIXES and f.is_file()))
        else:
            found.append(p)
    return found


def rubric_hash(rubrics: Iterable[Rubric]) -> str:
    """A short content hash of a rubric set, independent of file layout and YAML formatting."""
    canon = json.dumps(
        [r.model_dump(mode="json") for r in sorted(rubrics, key=lambda r: r.id)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:12]
