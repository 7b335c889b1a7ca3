"""Splitting an answer into sentences and clauses, with character offsets.

Each rubric point is matched against the part of the answer that says it, so
the answer is cut into sentences (lines and bullets first, then underthesea's
sentence splitter, which knows Vietnamese abbreviations such as "v.v." and
"TS.") and sentences into clauses (at ``;``, ``,`` and contrast words; a topic
ending in "thì" stays with its comment). The offsets index the NFC text of the
answer, so evidence can be quoted exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from grader.text.lexicon import INTERJECTIONS

_LINE_SPLIT = re.compile(r"\n+|(?:^|\s)(?:[-*•·]|\d+[.)])\s+")
# Clause boundaries: punctuation, and words that start a new claim or flip one.
_CLAUSE_SPLIT = re.compile(
    r"\s*[;,:]\s+|\s+(?=(?:nhưng|tuy nhiên|mặc dù|còn|trong khi|nhung|tuy nhien|but|however|whereas|while|although)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
_ARROW = re.compile(r"\s*(?:-+>|=+>|→|⇒|⟶)\s*")

MIN_CLAUSE_WORDS = 3
MAX_SEGMENT_CHARS = 600


@dataclass(frozen=True)
class Segment:
    """A span of the answer: ``text == answer[start:end]``."""

    start: int
    end: int
    text: str
    kind: str  # "sentence", "clause" or "answer"


@lru_cache(maxsize=1)
def _sentence_splitter():  # type: ignore[no-untyped-def]
    # underthesea's sentence splitter is one self-contained module (json, string and its punkt_params.json), but
    # ``import underthesea`` runs the package's __init__, which imports its translation pipeline: transformers and
    # torch, 2 s and 200 MB that grading on the openvino backend otherwise never loads. So the module is loaded
    # from its file, as a module of its own; the package import stays the fallback (same code, same splits).
    import importlib.util
    import os.path

    try:
        spec = importlib.util.find_spec("underthesea")  # finds the package without running its __init__
        folder = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else None
        path = os.path.join(folder, "pipeline", "sent_tokenize", "__init__.py") if folder else ""
        if path and os.path.isfile(path):
            module_spec = importlib.util.spec_from_file_location("grader.text._underthesea_sent_tokenize", path)
            if module_spec is not None and module_spec.loader is not None:
                module = importlib.util.module_from_spec(module_spec)
                module_spec.loader.exec_module(module)
                return module.sent_tokenize
    except Exception:  # noqa: BLE001 - another underthesea layout: the package import below
        pass
    try:
        from underthesea import sent_tokenize
    except ImportError:  # pragma: no cover - underthesea is in the model extra
        return lambda text: re.split(r"(?<=[.!?])\s+", text)
    return sent_tokenize


def _locate(pieces: list[str], text: str, base: int) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        i = text.find(piece, pos)
        if i < 0:  # the splitter changed the text; fall back to the rest of it
            continue
        spans.append((base + i, base + i + len(piece)))
        pos = i + len(piece)
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "-*•·,;:"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# A formula's operators are no bullets: "w = w - lr * grad" (an "=" earlier in the clause, no punctuation between).
_FORMULA_BEFORE = re.compile(r"=[^=.;,!?\n]*$")


def _is_operator(text: str, bullet: re.Match[str]) -> bool:
    if not any(c in bullet.group(0) for c in "-*·") or bullet.start() == 0 or text[bullet.start()] == "\n":
        return False
    line_start = text.rfind("\n", 0, bullet.start()) + 1
    return bool(_FORMULA_BEFORE.search(text, line_start, bullet.start()))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``: lines and bullets first, then sentences."""
    spans: list[tuple[int, int]] = []
    pos = 0
    bounds = [(m.start(), m.end()) for m in _LINE_SPLIT.finditer(text) if not _is_operator(text, m)] + [(len(text), len(text))]
    split = _sentence_splitter()
    for b_start, b_end in bounds:
        s, e = _trim(text, pos, b_start)
        pos = b_end
        if s >= e:
            continue
        line = text[s:e]
        spans.extend(_join_split_tokens(_locate(list(split(line)), line, s), text) or [(s, e)])
    return spans


def _join_split_tokens(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Undo sentence breaks inside a token: the splitter cuts "model.fit()", "np.array" and ".pth"."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s == out[-1][1]:  # no space between the pieces: one token was cut
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def is_arrow_link(text: str) -> bool:
    """Whether ``text`` holds an arrow ("->", "=>", "→"): a link of a chain typed as "cause -> effect"."""
    return bool(_ARROW.search(text))


def _arrow_links(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A piece written as a chain "cause -> effect -> effect" (hurried answers do): one span per link.

    Each link keeps its arrow ("derivative ~0 -> vanishing grad"): the pieces alone are often too
    short to be clauses, and the link is the claim.
    """
    arrows = list(_ARROW.finditer(text, start, end))
    if not arrows:
        return [(start, end)]
    bounds = [start, *[x for m in arrows for x in (m.start(), m.end())], end]
    pieces = [_trim(text, bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    return [(pieces[i][0], pieces[i + 1][1]) for i in range(len(pieces) - 1)]


# A piece that ends with the topic or condition marker "thì" says what the next piece is about ("siêu tham số thì,
# ờ, là mình chọn trước khi train"): the two are one clause. Pieces of interjections only (ờ, ừm, uh) sit between.
_TOPIC_END = re.compile(r"\b(?:thì|thi)\W*$", re.IGNORECASE)


def _only_interjections(piece: str) -> bool:
    words = _WORD.findall(piece.lower())
    return bool(words) and all(w in INTERJECTIONS for w in words)


def _join_topics(text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    waiting = False  # the last piece is a topic that waits for its comment
    for s, e in pieces:
        if waiting and not _ARROW.search(text, out[-1][0], e):
            out[-1] = (out[-1][0], e)  # the comment (or an interjection before it) joins its topic
            waiting = _only_interjections(text[s:e])
        else:
            out.append((s, e))
            waiting = bool(_TOPIC_END.search(text[s:e]))
    return out


def split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause spans inside the sentence ``text[start:end]``; a topic ending in "thì" joins its comment; short pieces
    are dropped."""
    pieces = []
    pos = start
    for m in _CLAUSE_SPLIT.finditer(text, start, end):
        pieces.append(_trim(text, pos, m.start()))
        pos = m.end()
    pieces.append(_trim(text, pos, end))
    out = [link for s, e in _join_topics(text, pieces) for link in _arrow_links(text, s, e)]
    return [(s, e) for s, e in out if len(_WORD.findall(text[s:e])) >= MIN_CLAUSE_WORDS]


def segment(text: str) -> list[Segment]:
    """Sentences and, for sentences with several clauses, the clauses too."""
    segments: list[Segment] = []
    seen: set[tuple[int, int]] = set()

    def add(s: int, e: int, kind: str) -> None:
        # Very long spans (pasted essays without punctuation) are cut into windows.
        while e - s > MAX_SEGMENT_CHARS:
            cut = text.rfind(" ", s, s + MAX_SEGMENT_CHARS)
            cut = cut if cut > s else s + MAX_SEGMENT_CHARS
            add(s, cut, kind)
            s, _ = _trim(text, cut, e)
        if (s, e) not in seen and s < e:
            seen.add((s, e))
            segments.append(Segment(s, e, text[s:e], kind))

    for s, e in split_sentences(text):
        add(s, e, "sentence")
        clauses = split_clauses(text, s, e)
        if len(clauses) > 1:
            for cs, ce in clauses:
                add(cs, ce, "clause")
    return segments


def word_count(text: str) -> int:
    """Number of words (Unicode letters/digits runs)."""
    return len(_WORD.findall(text))
