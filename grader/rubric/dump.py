"""Writing a rubric as YAML that reads like a hand-written one (ruamel.yaml keeps comments and quoting).

The inverse of :mod:`grader.rubric.load`: ``parse_rubric_text(rubric_to_yaml(r)).rubric == r``.
Strings are double-quoted, short lists of ids are written inline, examples start with
their kind, and defaults are left out.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

from grader.rubric.schema import Rubric

# Lists of short strings written on one line: [a, b, c].
_INLINE_LISTS = ("tags", "aliases", "covers", "not_covers", "misconceptions", "contradicts")


def _node(node: Any, key: str | None = None) -> Any:
    if isinstance(node, dict):
        if key is None and set(node) == {"term"}:
            return Quoted(node["term"])  # the shorthand for a keyword without aliases
        m = CommentedMap()
        if "expected_score" in node and "kind" in node:  # examples read best kind first, as in docs/authoring.md
            node = {"kind": node["kind"], **{k: v for k, v in node.items() if k != "kind"}}
        for k, v in node.items():
            m[k] = _node(v, k)
        return m
    if isinstance(node, list):
        seq = CommentedSeq([_node(v) for v in node])
        if key in _INLINE_LISTS and all(isinstance(v, str) for v in node):
            seq.fa.set_flow_style()
        return seq
    if isinstance(node, str) and key not in ("id", "kind"):
        return Quoted(node)
    if isinstance(node, float) and node.is_integer():
        return int(node)
    return node


def rubric_yaml_tree(rubric: Rubric) -> CommentedMap:
    """The rubric as a ruamel.yaml tree (comments can be added before :func:`yaml_text` writes it)."""
    tree = _node(rubric.model_dump(mode="json", exclude_defaults=True))
    if "total" not in tree:
        tree.insert(list(tree).index("points"), "total", _node(rubric.total, "total"))
    return tree


def yaml_text(tree: CommentedMap, start_comment: str | None = None) -> str:
    """A ruamel.yaml tree as text, with ``start_comment`` (lines) at the top."""
    if start_comment:
        tree.yaml_set_start_comment(start_comment)
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(tree, buf)
    return buf.getvalue()


def rubric_to_yaml(rubric: Rubric, start_comment: str | None = None) -> str:
    """The rubric as YAML text."""
    return yaml_text(rubric_yaml_tree(rubric), start_comment)
