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

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from grader.rubric.schema import Rubric

RUBRIC_SUFFIXES = (".yaml", ".yml")

# libyaml's C parser when available: parsing dominates `grader validate`.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    """1-based line of the deepest YAML node of ``tree`` reachable along ``loc``."""
    node, line = tree, (tree.start_mark.line + 1 if isinstance(tree, Node) else 1)
    for key in loc:
        if isinstance(node, MappingNode):
            match = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(key)), None)
            if match is None:
                break
            key_node = next(k for k, v in node.value if v is match)
            line, node = key_node.start_mark.line + 1, match
        elif isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _duplicate_keys(node: Any, path: str, out: list[Problem]) -> None:
    """YAML allows a repeated key and keeps the last value: for a rubric that is always a mistake."""
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            if isinstance(k, ScalarNode):
                if k.value in seen:
                    out.append(Problem(path, k.start_mark.line + 1, f"duplicate key '{k.value}'", "keep one of them"))
                seen.add(k.value)
            _duplicate_keys(v, path, out)
    elif isinstance(node, SequenceNode):
        for v in node.value:
            _duplicate_keys(v, path, out)


def _plain(node: Any) -> Any:
    """Parsed YAML with every string in NFC."""
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
    try:
        tree = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(s for s in (exc.context, exc.problem) if s).strip() or "invalid YAML"
        raise RubricError([Problem(path, line, f"YAML syntax error: {what}", "fix the YAML syntax")]) from None
    except yaml.YAMLError as exc:
        raise RubricError([Problem(path, 1, f"YAML error: {exc}", "fix the YAML syntax")]) from None
    if not isinstance(tree, MappingNode) or not isinstance(data, dict):
        raise RubricError(
            [Problem(path, 1, "the top level must be a mapping of fields", "start with 'id:', 'title:', 'question:' ...")]
        )
    duplicates: list[Problem] = []
    _duplicate_keys(tree, path, duplicates)
    if duplicates:
        raise RubricError(duplicates)
    try:
        rubric = Rubric.model_validate(_plain(data))
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
