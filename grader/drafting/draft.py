"""Drafting a rubric from a question and one reference answer (``grader draft-rubric``).

The reference answer is cut into candidate points (sentences, then clauses, via
:mod:`grader.text.segment`); each point gets

* a weight: the number of content words of its clause (1 to 10);
* keywords: the clause's most distinctive content terms (technical tokens and
  numbers first, then long words; terms of the question only as a last resort;
  no term is used by two points), each with a prefix alias so that
  "evaporated" also finds "evaporation";
* phrasings: the clause itself, under the reference's language. ``grader
  validate`` wants phrasings in both languages and rejects the same phrasing
  twice, so the other language gets the clause prefixed with ``TODO
  translate:``: the file validates and grades at once, and ``grep TODO`` lists
  what an author should translate (see docs/reference-mode.md);
* feedback from bilingual templates that quote the clause.

Pure Python: no model, numpy or torch is imported, so drafting works in the
lean install (pydantic, PyYAML, rapidfuzz and ruamel.yaml, the base dependencies). Without
the model extra, sentences are split by a regular expression instead of underthesea's
splitter, so a reference with abbreviations may be cut differently.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from grader.drafting.terms import (
    TOKEN,
    DraftPoint,
    candidates,
    choose_keywords,
    content_words,
    is_stop_word,
    keyword_aliases,
)
from grader.rubric.dump import rubric_yaml_tree, yaml_text
from grader.rubric.schema import Rubric
from grader.text.language import detect_language
from grader.text.normalize import fold, nfc
from grader.text.segment import split_clauses, split_sentences

TODO_PREFIX = "TODO translate: "
MAX_POINTS = 8
MIN_POINT_CONTENT_WORDS = 2
_BULLETS = re.compile(r"\s*[●○■□▪◦►•]\s*")


def _slug(text: str, max_len: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", fold(text.lower())).strip("_")
    s = s[:max_len].rstrip("_")
    return s


def sanitize_id(raw: str) -> str:
    """A valid rubric/point id from any string: lower case, ``[a-z0-9_]``, starting with a letter."""
    s = _slug(raw, 60) or "q"
    if not s[0].isalpha():
        s = f"q_{s}"
    return s[:64]


def draft_id(question: str) -> str:
    """A readable, stable id for a question: its first content words and a short hash."""
    words = [w for w in TOKEN.findall(question) if not is_stop_word(w) and w.isalpha()][:4]
    digest = hashlib.sha256(nfc(question).encode("utf-8")).hexdigest()[:6]
    return sanitize_id("_".join(words + [digest]) if words else f"q_{digest}")


def _clean_piece(text: str) -> str:
    text = text.strip().strip(",;:-–—").strip()
    if text.endswith("."):
        # keep abbreviations' dots, drop a sentence's final one
        text = text[:-1].rstrip() if not re.search(r"\b\w\.$", text[-3:]) else text
    return text


def split_reference(reference: str, max_points: int = MAX_POINTS) -> list[str]:
    """The reference answer as candidate points: sentences, then clauses; short pieces joined to a neighbour."""
    text = nfc(_BULLETS.sub("\n", reference or "")).strip()
    pieces: list[str] = []
    for s, e in split_sentences(text):
        clauses = split_clauses(text, s, e)
        if len(clauses) <= 1:
            pieces.append(text[s:e])
            continue
        # Each kept clause runs to the next one: short fragments that split_clauses drops stay attached.
        starts = [s] + [cs for cs, _ in clauses[1:]]
        ends = [cs for cs, _ in clauses[1:]] + [e]
        pieces.extend(text[a:b] for a, b in zip(starts, ends))
    pieces = [p for p in (_clean_piece(p) for p in pieces) if p]
    # Pieces with too little content join their neighbour (the previous one, or the next for the first).
    merged: list[str] = []
    for p in pieces:
        if merged and len(content_words(p)) < MIN_POINT_CONTENT_WORDS:
            merged[-1] = f"{merged[-1]}, {p}"
        elif merged and len(content_words(merged[-1])) < MIN_POINT_CONTENT_WORDS:
            merged[-1] = f"{merged[-1]}, {p}"
        else:
            merged.append(p)
    # At most ``max_points``: join the adjacent pair that is shortest together.
    while len(merged) > max(1, max_points):
        sizes = [len(content_words(a)) + len(content_words(b)) for a, b in zip(merged, merged[1:])]
        i = sizes.index(min(sizes))
        merged[i : i + 2] = [f"{merged[i]}; {merged[i + 1]}"]
    return merged or ([nfc(reference).strip()] if reference and reference.strip() else [])


def _language(text: str, language: str | None) -> str:
    if language in ("vi", "en"):
        return language
    if language is not None:
        raise ValueError(f"language must be 'vi' or 'en', not {language!r}")
    return "en" if detect_language(text) in ("en", "unknown") else "vi"


def _title(question: str, limit: int = 80) -> str:
    q = " ".join(question.split())
    if len(q) <= limit:
        return q
    cut = q.rfind(" ", 0, limit - 1)
    return q[: cut if cut > 20 else limit - 1].rstrip(" ,;:") + "…"


def _feedback(clause: str) -> dict[str, dict[str, str]]:
    return {
        "covered": {"vi": f"Đúng: câu trả lời đã nêu ý “{clause}”.", "en": f"Correct: your answer states “{clause}”."},
        "partial": {
            "vi": f"Mới nêu một phần; hãy nói rõ ý “{clause}”.",
            "en": f"Partly there; state clearly that “{clause}”.",
        },
        "missing": {"vi": f"Còn thiếu ý: “{clause}”.", "en": f"Missing: “{clause}”."},
    }


def draft_points(question: str, reference_answer: str, language: str | None = None) -> list[DraftPoint]:
    """The candidate points of a reference answer, with their keywords."""
    lang = _language(reference_answer, language)
    points = [DraftPoint(text=t, language=lang, content_words=content_words(t)) for t in split_reference(reference_answer)]
    if lang == "vi":  # count Vietnamese words, not syllables, for the weights
        for p in points:
            p.content_words = candidates(p)
    choose_keywords(points, question)
    return points


def rubric_data(
    question: str,
    reference_answer: str,
    language: str | None = None,
    id: str | None = None,  # noqa: A002 - the rubric field's name
    *,
    total: float = 10,
) -> dict[str, Any]:
    """The drafted rubric as plain data (what :func:`rubric_from_reference` validates)."""
    question = nfc(question or "").strip()
    reference = nfc(reference_answer or "").strip()
    if not question:
        raise ValueError("the question is empty")
    if not reference:
        raise ValueError("the reference answer is empty")
    lang = _language(reference, language)
    other = "vi" if lang == "en" else "en"
    points = draft_points(question, reference, lang)
    used_ids: set[str] = set()
    out_points = []
    for i, p in enumerate(points, 1):
        base = f"p{i}_{_slug(p.keywords[0], 24)}" if p.keywords and _slug(p.keywords[0], 24) else f"p{i}"
        pid = base
        while pid in used_ids:
            pid += "_"
        used_ids.add(pid)
        out_points.append(
            {
                "id": pid,
                "weight": p.weight,
                "statement": {"vi": p.text, "en": p.text},
                "phrasings": {lang: [p.text], other: [TODO_PREFIX + p.text]},
                "keywords": [{"term": k, "aliases": keyword_aliases(k)} if keyword_aliases(k) else k for k in p.keywords],
                "feedback": _feedback(p.text),
            }
        )
    rid = sanitize_id(id) if id else draft_id(question)
    return {
        "id": rid,
        "title": {"vi": _title(question), "en": _title(question)},
        "question": {"vi": question, "en": question},
        "tags": ["drafted-from-reference"],
        "total": total,
        "points": out_points,
        "model_answer": {lang: reference},
        "examples": [
            {
                "kind": "complete",
                "answer": reference,
                "expected_score": {"min": 0.7, "max": 1.0},
                "covers": [p["id"] for p in out_points],
                "note": "the reference answer itself",
            }
        ],
    }


def rubric_from_reference(
    question: str,
    reference_answer: str,
    language: str | None = None,
    id: str | None = None,  # noqa: A002
    *,
    total: float = 10,
) -> Rubric:
    """A rubric drafted from ``reference_answer`` (see the module docstring)."""
    return Rubric.model_validate(rubric_data(question, reference_answer, language, id, total=total))




def draft_to_yaml(rubric: Rubric, *, source: str = "a reference answer") -> str:
    """A drafted rubric as commented YAML: what ``grader draft-rubric`` writes (placeholders marked TODO translate)."""
    tree = rubric_yaml_tree(rubric)
    for point in tree["points"]:
        ph = point["phrasings"]
        for lang in ("vi", "en"):
            if any(str(t).startswith(TODO_PREFIX) for t in ph.get(lang, [])):
                ph.yaml_add_eol_comment("TODO translate", lang)
                point["statement"].yaml_add_eol_comment("TODO translate", lang)
    return yaml_text(
        tree,
        "yaml-language-server: $schema=../schema/rubric.schema.json\n"
        f"Drafted by `grader draft-rubric` from {source}. Review before use:\n"
        "- split or merge points, adjust weights and keywords (aliases: other forms that count);\n"
        "- lines marked TODO translate are copies in the other language: translate them\n"
        "  (`grader validate` needs phrasings in both languages);\n"
        "- add misconceptions the candidates actually state, and more examples.",
    )
