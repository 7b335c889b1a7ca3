"""The restored text and its map back onto what the candidate wrote.

Restoring a syllable keeps its length in NFC (a vowel gains marks, ``d`` becomes ``đ``), so only
shorthand expansion (``ko`` → ``không``) and NFC normalisation of a decomposed input shift
offsets; :class:`RestoredText` records those replacements and maps spans both ways.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Literal

# full: every bare word; marked: shorthand, bare words that cannot be right as typed, and
# sentences typed without marks; shorthand: shorthand only; none: nothing.
RestoreMode = Literal["full", "marked", "shorthand", "none"]


@dataclass(frozen=True)
class RestoredText:
    """The restored text and how it maps back onto what the candidate wrote.

    ``edits`` lists the replacements that changed length, in order, as
    ``(original_start, original_end, restored_start, restored_end)``; outside them
    the two texts correspond character for character (a restored syllable has
    the length of its unmarked form).
    """

    original: str
    text: str
    edits: tuple[tuple[int, int, int, int], ...] = ()
    mode: RestoreMode = "none"

    @property
    def changed(self) -> bool:
        """Whether restoring changed anything."""
        return self.text != self.original

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that the span ``text[start:end]`` came from.

        A span that cuts into an expanded shorthand widens to the whole shorthand."""
        return (
            _map_start(start, [e[2] for e in self.edits], [e[3] for e in self.edits], self.edits, 0),
            _map_end(end, [e[2] for e in self.edits], [e[3] for e in self.edits], self.edits, 0),
        )

    def to_restored(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``text`` that the span ``original[start:end]`` became."""
        return (
            _map_start(start, [e[0] for e in self.edits], [e[1] for e in self.edits], self.edits, 2),
            _map_end(end, [e[0] for e in self.edits], [e[1] for e in self.edits], self.edits, 2),
        )


def _map_start(
    p: int, src_s: list[int], src_e: list[int], edits: tuple[tuple[int, int, int, int], ...], dst: int
) -> int:
    i = bisect_right(src_s, p) - 1
    if i < 0:
        return p
    if p < src_e[i]:  # inside a replaced span: its start
        return edits[i][dst]
    return p - src_e[i] + edits[i][dst + 1]


def _map_end(p: int, src_s: list[int], src_e: list[int], edits: tuple[tuple[int, int, int, int], ...], dst: int) -> int:
    i = bisect_left(src_s, p) - 1
    if i < 0:
        return p
    if p <= src_e[i]:  # inside a replaced span: its end
        return edits[i][dst + 1]
    return p - src_e[i] + edits[i][dst + 1]


def assemble(original: str, ops: list[tuple[int, int, str]], mode: RestoreMode) -> RestoredText:
    """Apply non-overlapping replacements ``(start, end, new)`` (sorted) to ``original``, keeping the map."""
    pieces: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    pos = out_len = 0
    for s, e, new in ops:
        pieces.append(original[pos:s])
        out_len += s - pos
        pieces.append(new)
        if len(new) != e - s:
            edits.append((s, e, out_len, out_len + len(new)))
        out_len += len(new)
        pos = e
    pieces.append(original[pos:])
    return RestoredText(original=original, text="".join(pieces), edits=tuple(edits), mode=mode)


def nfc_ops(text: str) -> list[tuple[int, int, str]]:
    """The replacements that make ``text`` NFC: each base character with its combining marks, where NFC changes it."""
    ops: list[tuple[int, int, str]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        composed = unicodedata.normalize("NFC", cluster)
        if composed != cluster:
            ops.append((i, j, composed))
        i = j
    return ops


def compose_nfc(
    text: str, composing: list[tuple[int, int, str]], ops: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Word replacements ``ops`` made on the NFC form of ``text``, in the coordinates of ``text`` as given,
    beside the NFC replacements ``composing`` (:func:`nfc_ops`) outside those words."""
    orig_at: list[int] = []  # NFC offset -> offset in ``text`` (a composed cluster maps to its start)
    pos = 0
    for s, e, new in composing:
        orig_at.extend(range(pos, s))
        orig_at.extend([s] * len(new))
        pos = e
    orig_at.extend(range(pos, len(text) + 1))
    mapped = [(orig_at[s], orig_at[e], new) for s, e, new in ops]
    covered = [(s, e) for s, e, _ in mapped]
    kept = [op for op in composing if not any(s <= op[0] < e for s, e in covered)]
    return sorted(mapped + kept)

