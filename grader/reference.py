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
lean install (pydantic and ruamel.yaml).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from grader.text.language import detect_language
from grader.text.normalize import fold, nfc
from grader.text.segment import split_clauses, split_sentences

if TYPE_CHECKING:
    from grader.rubric.schema import Rubric

TODO_PREFIX = "TODO translate: "
MAX_POINTS = 8
MIN_POINT_CONTENT_WORDS = 2
MAX_WEIGHT = 10
KEYWORDS_PER_POINT = 4
# Shorter stems would match too many unrelated words ("activ" in "active"): no alias then.
MIN_STEM_CHARS = 6

_EN_STOP = frozenset(
    """a about above after again against all almost along already also although always am among an and another any
    anything are around as at away be became because become becomes been before being below between both but by can
    cannot could did do does doing done down during each either else enough etc even ever every few for from further
    get gets getting given gives go goes going got had has have having he her here hers him his how however i if in
    into is it its itself just least less like likely made make makes many may me might more most much must my near
    need needs neither never no nor not now of off often on once one only onto or other others otherwise our out over
    own per perhaps put rather really same see seen should since so some something still such than that the their
    them then there these they thing things this those though through thus to too toward towards under until up upon
    us use used uses using very was way we well were what whatever when where whether which while who whom whose why
    will with within without would yes yet you your answer explain explained describe question student students
    because therefore e.g i.e also able possible possibly instead following example examples namely certain various
    usually basically actually simply kind""".split()
)
# Frequent Vietnamese function words, accent-folded (compared with fold(word)).
_VI_STOP = frozenset(
    """la cua va duoc khong cac nhung mot trong cho khi thi de voi nay nen vi se da dang co hay neu lam giup ve nhu tu
    den ra bi cung rat nhieu qua hon thuc hien giua sau truoc lai ma do khac bang cai con nao gi the nhat moi minh em
    anh chi ta ho chung toi ban no vao len xuong tai theo boi hoac nhu vay tuc cach viec su tung moi nho dung the
    phai can nhat hon ca gom nhieu it""".split()
)
# A Vietnamese syllable written without diacritics (so "trung", "sai" are not mistaken for English terms).
_VI_SYLLABLE = re.compile(r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?$")
_TOKEN = re.compile(r"[^\W_][\w'’\-./+]*[^\W_]|[^\W_]", re.UNICODE)
_BULLETS = re.compile(r"\s*[●○■□▪◦►•]\s*")
_SUFFIXES = ("ational", "ations", "ation", "ings", "ing", "ments", "ment", "ness", "edly", "ies", "ied", "ed", "es", "s", "ly")


def _is_stop(word: str) -> bool:
    w = word.lower().strip("'’.-").replace("’", "'")
    if "'" in w:  # contractions and possessives: don't, it's, battery's
        return w.endswith("n't") or w.split("'")[0] in _EN_STOP
    return w in _EN_STOP or fold(w) in _VI_STOP or len(w) < 2 and not w.isdigit()


def _is_technical(word: str) -> bool:
    """Numbers, acronyms, camelCase, snake_case and hyphenated or dotted terms."""
    return bool(re.search(r"\d", word)) or (sum(c.isupper() for c in word) >= 2) or bool(re.search(r"[a-z][A-Z]|[_\-./+]", word))


def stem(word: str) -> str:
    """A crude English stem: lower case, accent-folded, common suffixes removed (for comparing terms)."""
    w = fold(word.lower())
    for suffix in _SUFFIXES:
        if len(w) - len(suffix) >= 4 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


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
    words = [w for w in _TOKEN.findall(question) if not _is_stop(w) and w.isalpha()][:4]
    digest = hashlib.sha256(nfc(question).encode("utf-8")).hexdigest()[:6]
    return sanitize_id("_".join(words + [digest]) if words else f"q_{digest}")


@dataclass
class DraftPoint:
    """A candidate point of a reference answer."""

    text: str
    language: str  # "en" or "vi"
    content_words: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @property
    def weight(self) -> float:
        return float(min(MAX_WEIGHT, max(1, len(self.content_words))))


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not function words (English and Vietnamese), in order."""
    return [w.strip("'’.-/") for w in _TOKEN.findall(text) if not _is_stop(w)]


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


def _is_latin_term(word: str) -> bool:
    """An English or technical term inside Vietnamese text ("activation", "mini-batch", "BN")."""
    if _is_technical(word):
        return True
    w = word.lower()
    return w.isascii() and w.isalpha() and len(w) >= 4 and not _VI_SYLLABLE.match(w)


def _candidates(point: DraftPoint) -> list[str]:
    """Keyword candidates of a point, in text order.

    English: its content words. Vietnamese: the English/technical terms it
    mixes in, and pairs of adjacent content syllables (most Vietnamese words
    have two syllables).
    """
    if point.language != "vi":
        return point.content_words
    out: list[str] = []
    run: list[str] = []
    for w in [*_TOKEN.findall(point.text), ""]:
        w = w.strip("'’.-/")
        if w and not _is_stop(w) and not _is_latin_term(w):
            run.append(w)
            continue
        if len(run) >= 2:
            out.extend(" ".join(run[i : i + 2]) for i in range(len(run) - 1))
        run = []
        if w and not _is_stop(w):
            out.append(w)
    return out


def _rank(term: str, question_stems: set[str]) -> float:
    stems = {stem(w) for w in term.split()}
    score = min(len(term), 12) / 12
    if _is_technical(term):
        score += 1.5
    elif " " not in term and _is_latin_term(term):
        score += 0.5
    if not stems & question_stems:
        score += 2.0
    return score


def choose_keywords(points: list[DraftPoint], question: str, per_point: int | None = None, question_terms: bool = False) -> None:
    """Fill each point's ``keywords``: distinctive terms of its clause, none shared between points.

    Terms of the question rank last; with ``question_terms`` false they are used only when a point has no other term.
    """
    question_stems = {stem(w) for w in content_words(question)}
    cands = [list(dict.fromkeys(_candidates(p))) for p in points]
    owners: dict[str, set[int]] = {}
    for i, cs in enumerate(cands):
        for c in cs:
            owners.setdefault(stem(c), set()).add(i)
    for i, (p, cs) in enumerate(zip(points, cands)):
        limit = per_point or KEYWORDS_PER_POINT
        # A term in several points identifies none of them.
        own = [c for c in cs if len(owners[stem(c)]) == 1 and len(fold(c)) >= 2]
        fresh = own if question_terms else [c for c in own if not {stem(w) for w in c.split()} & question_stems]
        ranked = sorted(fresh, key=lambda c: -_rank(c, question_stems))
        if not ranked:  # nothing beyond the question's own words: one of those is better than none
            ranked = sorted(own, key=lambda c: -_rank(c, question_stems))[:1]
        chosen: list[str] = []
        seen: set[str] = set()
        for c in ranked:
            key = stem(c)
            if key in seen or any(key in stem(x) or stem(x) in key for x in chosen):
                continue
            chosen.append(c)
            seen.add(key)
            if len(chosen) == limit:
                break
        p.keywords = chosen


def keyword_aliases(term: str) -> list[str]:
    """Prefix forms that also match other endings of the term (``evaporated`` → ``evaporat``)."""
    if " " in term or _is_technical(term):
        return []
    s = stem(term)
    return [s] if len(s) >= MIN_STEM_CHARS and s != fold(term.lower()) else []


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
            p.content_words = _candidates(p)
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
    """A rubric drafted from ``reference_answer`` (see the module docstring); what ``Rubric.from_reference`` returns."""
    from grader.rubric.schema import Rubric

    return Rubric.model_validate(rubric_data(question, reference_answer, language, id, total=total))


def rubric_to_yaml(rubric: Rubric, *, source: str = "a reference answer") -> str:
    """The rubric as commented YAML: what ``grader draft-rubric`` writes."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Q

    data = rubric.model_dump(mode="json", exclude_defaults=True)

    def conv(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            if key is None and set(node) == {"term"}:
                return Q(node["term"])  # the shorthand for a keyword without aliases
            m = CommentedMap()
            if "expected_score" in node and "kind" in node:  # examples read best kind first, as in docs/authoring.md
                node = {"kind": node["kind"], **{k: v for k, v in node.items() if k != "kind"}}
            for k, v in node.items():
                m[k] = conv(v, k)
            return m
        if isinstance(node, list):
            seq = CommentedSeq([conv(v) for v in node])
            if key in ("tags", "aliases", "covers", "not_covers", "misconceptions", "contradicts") and all(
                isinstance(v, str) for v in node
            ):
                seq.fa.set_flow_style()
            return seq
        if isinstance(node, str) and key not in ("id", "kind"):
            return Q(node)
        if isinstance(node, float) and node.is_integer():
            return int(node)
        return node

    tree = conv(data)
    if "total" not in tree:
        tree.insert(list(tree).index("points"), "total", conv(rubric.total, "total"))
    tree.yaml_set_start_comment(
        "yaml-language-server: $schema=../schema/rubric.schema.json\n"
        f"Drafted by `grader draft-rubric` from {source}. Review before use:\n"
        "- split or merge points, adjust weights and keywords (aliases: other forms that count);\n"
        "- lines marked TODO translate are copies in the other language: translate them\n"
        "  (`grader validate` needs phrasings in both languages);\n"
        "- add misconceptions the candidates actually state, and more examples."
    )
    for point in tree["points"]:
        ph = point["phrasings"]
        for lang in ("vi", "en"):
            if any(str(t).startswith(TODO_PREFIX) for t in ph.get(lang, [])):
                ph.yaml_add_eol_comment("TODO translate", lang)
                point["statement"].yaml_add_eol_comment("TODO translate", lang)
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(tree, buf)
    return buf.getvalue()


# ------------------------------------------------------------------ answer-vs-reference similarity
# Used by reference mode (benchmarks/run_benchmarks.py) as calibration features; pure Python like the rest.

NEGATORS = frozenset(
    "no not never none nothing nobody nowhere neither nor without cannot cant dont doesnt didnt isnt arent wasnt werent wont".split()
)


def question_stems(question: str) -> set[str]:
    """The stems of the question's content words (what "question demoting" removes)."""
    return {stem(w) for w in content_words(question)}


def demote_question(text: str, question: str) -> str:
    """``text`` without the content words it shares with ``question`` (function words stay).

    Question demoting (Mohler et al. 2011; Sultan et al. 2016): words an answer
    merely repeats from the question say nothing about whether it is right, so
    they are dropped before comparing an answer with the reference.
    """
    q = question_stems(question)
    kept = [t for t in _TOKEN.findall(nfc(text or "")) if _is_stop(t) or stem(t.strip("'’.-/")) not in q]
    return " ".join(kept)


def demoted_words(text: str, question: str) -> list[str]:
    """The content words of ``text`` that the question does not contain (lower case, 2+ characters)."""
    q = question_stems(question)
    return [w.lower() for w in content_words(text) if len(w) > 1 and stem(w) not in q]


def word_match(a: str, b: str) -> float:
    """How well word ``a`` matches word ``b``: 1 same word or stem, 0.9 a long common prefix, else a fuzzy ratio >= 0.8 or 0.

    Lower-case words are expected. The prefix rule catches other endings the crude
    :func:`stem` misses (``evaporates`` / ``evaporation``); the ratio catches misspellings.
    """
    if a == b or stem(a) == stem(b):
        return 1.0
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    if common >= 5 or (common >= 4 and min(len(a), len(b)) <= 5):
        return 0.9
    if abs(len(a) - len(b)) > max(len(a), len(b)) // 3 + 1:
        return 0.0
    ratio = SequenceMatcher(None, a, b).ratio()
    return ratio if ratio >= 0.8 else 0.0


def idf_weights(texts: Iterable[str]) -> Callable[[str], float]:
    """An inverse-document-frequency weight per word stem, from a corpus of (unlabelled) texts.

    ``log((n + 1) / (df + 1)) + 1``: a stem no text contains gets the largest weight.
    """
    df: Counter[str] = Counter()
    n = 0
    for t in texts:
        n += 1
        df.update({stem(w) for w in content_words(t)})
    return lambda word: math.log((n + 1) / (df.get(stem(word), 0) + 1)) + 1.0


def aligned_share(source: Sequence[str], target: Sequence[str], weight: Callable[[str], float] | None = None) -> float:
    """The (weighted) share of ``source`` words aligned to a ``target`` word: each counts its best :func:`word_match`.

    With source = reference words and target = answer words this is a recall of the
    reference; swapped, a precision of the answer. 0 when ``source`` is empty.
    """
    if not source:
        return 0.0
    total = got = 0.0
    for w in source:
        wt = weight(w) if weight else 1.0
        total += wt
        got += wt * max((word_match(w, t) for t in target), default=0.0)
    return got / total


def negator_count(text: str) -> int:
    """How many negating words (``not``, ``no``, ``never``, ``n't``, also without apostrophe: ``dont``) ``text`` has."""
    toks = re.findall(r"[a-z]+(?:'[a-z]+)?", nfc(text or "").lower().replace("’", "'"))
    return sum(1 for t in toks if t in NEGATORS or t.endswith("n't"))
