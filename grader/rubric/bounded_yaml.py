"""YAML read within limits: a hostile or broken rubric file is a located error in well under a second, never a hang.

A rubric is small (the shipped ones are 20-40 KB, about 1,000 YAML nodes, 7 levels deep), so the limits
are generous for rubrics and tight for attacks:

* :data:`MAX_FILE_BYTES`: larger files are refused unread (a 5 MB file took 21 s to check);
* :data:`MAX_DEPTH`: nesting deeper than that is refused (libyaml's composer recurses: 100,000
  ``[`` would exhaust the stack);
* :data:`MAX_ALIASES` alias uses, expanding to at most :data:`MAX_ALIAS_NODES` nodes in all: the
  "billion laughs" (nine aliases of nine aliases of ... a string) is 1 KB of YAML and 10^9 nodes
  once expanded; a recursive alias (``&a [*a]``) is refused too.

The limits are checked on libyaml's event stream, which is flat (no recursion, no tree), before any
tree is built; the parse itself is linear in the file's size.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import Node

#: The largest rubric file read (the largest shipped rubric is 38 KB).
MAX_FILE_BYTES = 256 * 1024
#: The deepest nesting of mappings and sequences (the shipped rubrics nest 7 deep).
MAX_DEPTH = 24
#: The most alias uses (``*name``) in one file (the shipped rubrics have none).
MAX_ALIASES = 100
#: The most nodes that aliases may add once expanded (a shipped rubric has about 1,000 nodes in all).
MAX_ALIAS_NODES = 10_000

# libyaml's C parser when available: parsing dominates `grader validate`.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LimitExceeded(Exception):
    """The YAML text breaks one of the limits: where, what, and what to do."""

    def __init__(self, line: int, message: str, hint: str):
        super().__init__(line, message, hint)
        self.line, self.message, self.hint = line, message, hint


def check_limits(text: str) -> None:
    """Raise :class:`LimitExceeded` if ``text`` is too large, too deep or expands its aliases too far.

    YAML syntax errors are left to the parser proper (:func:`load`), which locates them.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise LimitExceeded(
            1,
            f"the file is {size:,} bytes, over the {MAX_FILE_BYTES // 1024} KiB a rubric may have",
            "one file per question; shorten or move out its examples",
        )
    counts: list[int] = [0]  # nodes (aliases expanded) of each open collection; [0]: the document
    anchored: list[str | None] = []  # the anchor of each open collection
    sizes: dict[str, int | None] = {}  # anchor -> its node's expanded size (None: still open, an alias to it is recursive)
    aliases = added = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            line = event.start_mark.line + 1 if event.start_mark is not None else 1
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(anchored) >= MAX_DEPTH:
                    raise LimitExceeded(line, f"the YAML nests deeper than {MAX_DEPTH} levels", "a rubric nests about 7 levels: flatten it")
                counts.append(1)
                anchored.append(event.anchor)
                if event.anchor:
                    sizes[event.anchor] = None
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                n, anchor = counts.pop(), anchored.pop()
                if anchor:
                    sizes[anchor] = n
                counts[-1] += n
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    sizes[event.anchor] = 1
                counts[-1] += 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise LimitExceeded(line, f"more than {MAX_ALIASES} YAML aliases", "write the repeated text out, or use fewer aliases")
                if event.anchor not in sizes:
                    continue  # an undefined alias: the parser proper reports it with its line
                n = sizes[event.anchor]
                if n is None:
                    raise LimitExceeded(line, f"the alias *{event.anchor} refers to a node that holds it (a recursive alias)", "remove the alias")
                added += n
                if added > MAX_ALIAS_NODES:
                    raise LimitExceeded(
                        line,
                        f"the YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?)",
                        "write the repeated text out, or use fewer aliases",
                    )
                counts[-1] += n
    except yaml.YAMLError:
        return  # located by load()


def load(text: str) -> tuple[Node, Any]:
    """The node tree (with line numbers) and the Python data of one YAML document, parsed once.

    Call :func:`check_limits` first. Raises yaml.YAMLError for invalid YAML, ValueError for a
    value the constructor rejects (an integer of thousands of digits, a bad timestamp).
    """
    loader = Loader(text)
    try:
        tree = loader.get_single_node()
        data = loader.construct_document(tree) if tree is not None else None
    finally:
        loader.dispose()
    return tree, data
