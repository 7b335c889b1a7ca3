"""Reading rubric files: YAML with line numbers (within :mod:`~grader.rubric.bounded_yaml`'s limits), schema
errors as located problems, and finding the files a list of paths names (each file once, broken links named).

Nothing here imports torch or a model, so that ``grader validate`` stays instant.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from grader.rubric.bounded_yaml import MAX_FILE_BYTES, LimitExceeded, check_limits
from grader.rubric.bounded_yaml import load as load_yaml
from grader.rubric.schema import Rubric

RUBRIC_SUFFIXES = (".yaml", ".yml")
#: The most problems reported for one file (a file of nonsense would otherwise print thousands).
MAX_PROBLEMS = 50

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
                    out.append(Problem(path, k.start_mark.line + 1, f"duplicate key {_quoted(k.value)}", "keep one of them"))
                seen.add(k.value)
            _duplicate_keys(v, path, out)
    elif isinstance(node, SequenceNode):
        for v in node.value:
            _duplicate_keys(v, path, out)


def _name(part: object) -> str:
    """A key as it reads in a one-line message: line breaks and other control characters escaped."""
    text = str(part)
    return text if text.isprintable() else repr(text)[1:-1]


def _quoted(name: object) -> str:
    return f"'{_name(name)}'"


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
    loc = ".".join(_name(p) for p in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown field {_quoted(err['loc'][-1])}", "check the spelling; see schema/rubric.schema.json for the allowed fields"
    if kind == "missing":
        return f"missing required field '{loc}'", "add it"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    where = f"'{loc}': " if loc else ""
    return f"{where}{msg}", ""


def parse_rubric_text(text: str, path: str = "<string>") -> LoadedRubric:
    """Parse YAML text into a :class:`LoadedRubric`; raise :class:`RubricError` with located problems.

    The text must keep within the limits of :mod:`grader.rubric.bounded_yaml` (size, nesting, aliases).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not text.strip():
        raise RubricError([Problem(path, 1, "the file is empty", "write a rubric; see rubrics/ for examples")])
    try:
        check_limits(text)
        tree, data = load_yaml(text)
    except LimitExceeded as exc:
        raise RubricError([Problem(path, exc.line, exc.message, exc.hint)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(" ".join(s for s in (exc.context, exc.problem) if s).split()) or "invalid YAML"
        raise RubricError([Problem(path, line, f"YAML syntax error: {what}", "fix the YAML syntax")]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, other controls)
        line = text[: max(0, exc.position)].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise RubricError([Problem(path, line, f"the file holds a character YAML does not allow (U+{code:04X})", "remove it")]) from None
    except yaml.YAMLError as exc:
        what = " ".join(str(exc).split())[:200]
        raise RubricError([Problem(path, 1, f"YAML error: {what}", "fix the YAML syntax")]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value the constructor rejects (e.g. an int of 5,000 digits)
        raise RubricError([Problem(path, 1, f"YAML value error: {str(exc)[:200]}", "quote the value to make it text")]) from None
    if not isinstance(tree, MappingNode) or not isinstance(data, dict):
        raise RubricError(
            [Problem(path, 1, "the top level must be a mapping of fields", "start with 'id:', 'title:', 'question:' ...")]
        )
    duplicates: list[Problem] = []
    _duplicate_keys(tree, path, duplicates)
    if duplicates:
        raise RubricError(_capped(duplicates, path))
    try:
        rubric = Rubric.model_validate(_plain(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message, hint = _describe(err)
            problems.append(Problem(path, line_of(tree, tuple(err["loc"])), message, hint))
        raise RubricError(_capped(problems, path)) from None
    return LoadedRubric(path=path, rubric=rubric, tree=tree)


def _capped(problems: list[Problem], path: str) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], Problem(path, problems[MAX_PROBLEMS].line, f"... and {more} more problem(s)", "fix these first")]


def read_rubric_file(path: str | Path) -> LoadedRubric:
    """Read and parse one rubric file (a regular file of at most ``MAX_FILE_BYTES``; links followed)."""
    p = Path(path)
    problem = _unreadable(p)
    if problem is not None:
        raise RubricError([problem])
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RubricError([Problem(str(p), 1, f"cannot read the file: {exc.strerror}", "check the path and its permissions")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise RubricError([_too_large(p)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RubricError(
            [Problem(str(p), line, f"the file is not valid UTF-8 (byte {exc.start})", "save it as UTF-8")]
        ) from None
    return parse_rubric_text(text, str(p))


def read_question_id(path: str | Path) -> str | None:
    """The question id a rubric file declares (``id:`` at its top level), read without the schema's checks; None if
    the file cannot be read or declares none. For checking a file's id against the rest of its rubric set."""
    p = Path(path)
    if _unreadable(p) is not None:
        return None
    try:
        text = p.read_bytes().decode("utf-8-sig")
        check_limits(text)
        _, data = load_yaml(text)
    except (OSError, UnicodeDecodeError, LimitExceeded, yaml.YAMLError, ValueError, TypeError, OverflowError):
        return None
    qid = data.get("id") if isinstance(data, dict) else None
    return qid.strip() if isinstance(qid, str) else None


def _too_large(p: Path) -> Problem:
    return Problem(
        str(p), 1, f"the file is over the {MAX_FILE_BYTES // 1024} KiB a rubric may have", "one file per question; shorten or move out its examples"
    )


def _missing(p: Path) -> Problem | None:
    """Why ``p`` names no file: a missing path, a broken link or a link loop (named, with where it points); else None."""
    where = str(p)
    try:
        p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            return Problem(where, 1, f"the link points to {os.readlink(p)}, which does not exist", "fix the link or remove it")
        return Problem(where, 1, "no such file", "check the path")
    except (RuntimeError, OSError) as exc:  # ELOOP: a link that leads back to itself
        if p.is_symlink() and getattr(exc, "errno", None) in (None, errno.ELOOP):
            return Problem(where, 1, f"the link is a loop ({p} -> {os.readlink(p)} -> ...)", "point the link at a rubric file, or remove it")
        return Problem(where, 1, f"cannot read the file: {getattr(exc, 'strerror', None) or exc}", "check the path and its permissions")
    return None


def _unreadable(p: Path) -> Problem | None:
    """Why ``p`` cannot be read as a rubric file (see :func:`_missing`; also a folder, a device, a file too large), or None."""
    problem = _missing(p)
    if problem is not None:
        return problem
    st = p.stat()
    if stat.S_ISDIR(st.st_mode):
        return Problem(str(p), 1, "this is a folder, not a rubric file", "pass the rubric files inside, or the folder itself")
    if not stat.S_ISREG(st.st_mode):
        return Problem(str(p), 1, "not a regular file (a pipe or a device?)", "pass a rubric file")
    if st.st_size > MAX_FILE_BYTES:
        return _too_large(p)
    return None


def discover_rubric_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Problem]]:
    """The rubric files named by ``paths`` (files as given, folders searched recursively for .yaml/.yml), and
    the paths that name no file: missing, or a broken or looping link (named, with where it points).

    Each file comes once, in the order first named: the same file named twice, through a link, or as a
    file and through its folder is one file.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        problem = _missing(p)
        if problem is not None:
            problems.append(problem)
            return
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            found.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            # Broken links are listed too (is_file() is false for them): they are named, not skipped.
            for f in sorted(p.rglob("*")):
                if f.suffix in RUBRIC_SUFFIXES and (f.is_symlink() or f.is_file()):
                    add(f)
        else:
            add(p)
    return found, problems


def find_rubric_files(paths: Iterable[str | Path]) -> list[Path]:
    """The readable rubric files named by ``paths``, each once (see :func:`discover_rubric_files`)."""
    return discover_rubric_files(paths)[0]


def rubric_hash(rubrics: Iterable[Rubric]) -> str:
    """A short content hash of a rubric set, independent of file layout and YAML formatting."""
    canon = json.dumps(
        [r.model_dump(mode="json") for r in sorted(rubrics, key=lambda r: r.id)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:12]
