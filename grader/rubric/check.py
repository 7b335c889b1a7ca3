"""Checks on rubric files that need no model: what ``grader validate`` runs."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from grader.rubric.load import (
    RUBRIC_SUFFIXES,
    LoadedRubric,
    Problem,
    RubricError,
    discover_rubric_files,
    read_question_id,
    read_rubric_file,
)
from grader.rubric.schema import Keyword, Phrasings
from grader.text.normalize import fold, normalize
from grader.text.language import detect_language
from grader.text.patterns import CompiledPattern, clauses_of, find_pattern


#: The most (pattern term x clause word) comparisons one rubric's pattern check may take: about 0.4 µs each,
#: so under a second; the shipped rubrics need at most about 320,000.
MAX_PATTERN_CHECKS = 2_000_000


def _key(text: str) -> str:
    return " ".join(normalize(text).split())


def check_rubric(loaded: LoadedRubric) -> list[Problem]:
    """Consistency checks inside one rubric; every problem is located."""
    r, path = loaded.rubric, loaded.path
    out: list[Problem] = []

    def add(loc: tuple[str | int, ...], message: str, hint: str = "", severity: str = "error") -> None:
        out.append(Problem(path, loaded.line_of(loc), message, hint, severity))

    point_ids = [p.id for p in r.points]
    mis_ids = [m.id for m in r.misconceptions]
    seen: dict[str, int] = {}
    for i, pid in enumerate(point_ids):
        if pid in seen:
            add(("points", i, "id"), f"duplicate point id '{pid}' (also point {seen[pid] + 1})", "give each point its own id")
        seen.setdefault(pid, i)
    seen_m: dict[str, int] = {}
    for i, mid in enumerate(mis_ids):
        if mid in seen_m:
            add(("misconceptions", i, "id"), f"duplicate misconception id '{mid}'", "give each misconception its own id")
        elif mid in seen:
            add(("misconceptions", i, "id"), f"misconception id '{mid}' is also a point id", "rename one of them")
        seen_m.setdefault(mid, i)

    # Reference phrasings in both languages, none repeated anywhere in the rubric.
    phrasing_owner: dict[str, str] = {}

    def check_phrasings(section: str, i: int, owner: str, ph: Phrasings) -> None:
        for lang in ("vi", "en"):
            items = getattr(ph, lang)
            if not items:
                add((section, i, "phrasings"), f"{owner} has no '{lang}' reference phrasing", f"add at least one phrasing under phrasings.{lang}")
            for j, text in enumerate(items):
                k = _key(text)
                if k in phrasing_owner:
                    add(
                        (section, i, "phrasings", lang, j),
                        f"duplicate phrasing \"{text}\" (already under {phrasing_owner[k]})",
                        "remove it or make it say something different",
                    )
                else:
                    phrasing_owner[k] = owner

    def check_keywords(section: str, i: int, owner: str, kws: list[Keyword]) -> None:
        forms: dict[str, int] = {}
        for j, kw in enumerate(kws):
            for form in kw.forms():
                k = _key(form)
                if k in forms and forms[k] != j:
                    add((section, i, "keywords", j), f"{owner}: keyword form '{form}' appears twice", "keep one")
                forms.setdefault(k, j)
            if len(fold(kw.term)) < 2:
                add((section, i, "keywords", j), f"{owner}: keyword '{kw.term}' is too short to match reliably", "use a longer term")

    for i, p in enumerate(r.points):
        check_phrasings("points", i, f"point '{p.id}'", p.phrasings)
        check_keywords("points", i, f"point '{p.id}'", p.keywords)
    for i, m in enumerate(r.misconceptions):
        check_phrasings("misconceptions", i, f"misconception '{m.id}'", m.phrasings)
        check_keywords("misconceptions", i, f"misconception '{m.id}'", m.keywords)
        for j, target in enumerate(m.contradicts):
            if target not in seen:
                add(
                    ("misconceptions", i, "contradicts", j),
                    f"misconception '{m.id}' contradicts unknown point '{target}'",
                    f"use one of: {', '.join(point_ids)}",
                )

    # A keyword that several points (or a point and a misconception) share gives
    # the same evidence to both: the engine cannot tell them apart by it.
    users: dict[str, list[tuple[str, tuple[str | int, ...]]]] = defaultdict(list)
    for section, items in (("points", r.points), ("misconceptions", r.misconceptions)):
        for i, item in enumerate(items):
            for j, kw in enumerate(item.keywords):
                for form in {_key(f) for f in kw.forms()}:
                    users[form].append((item.id, (section, i, "keywords", j)))
    for form, owners in users.items():
        ids = sorted({o for o, _ in owners})
        if len(ids) > 1:
            add(
                owners[-1][1],
                f"keyword '{form}' is shared by {', '.join(ids)}",
                "keep it under the one idea it identifies; shared terms blur which point was covered",
                severity="warning",
            )

    _check_patterns(loaded, add)

    for i, ex in enumerate(r.examples):
        for field_name, known, what in (
            ("covers", seen, "point"),
            ("not_covers", seen, "point"),
            ("misconceptions", seen_m, "misconception"),
        ):
            for j, ref in enumerate(getattr(ex, field_name)):
                if ref not in known:
                    add(("examples", i, field_name, j), f"example {i + 1} names unknown {what} '{ref}'", f"use one of: {', '.join(known)}")
        both = set(ex.covers) & set(ex.not_covers)
        if both:
            add(("examples", i), f"example {i + 1} both covers and not_covers {', '.join(sorted(both))}", "keep it in one list")
    return out


def _check_patterns(loaded: LoadedRubric, add: Callable[..., None]) -> None:
    """A misconception's pattern must not fire on what the rubric itself calls correct.

    Checked against every point's statement and phrasings, the model answer, and
    the examples that do not list the misconception: a pattern that matches
    them would cancel points of correct answers. Each text is split into clauses
    once; a rubric that would need more than :data:`MAX_PATTERN_CHECKS` term × word
    comparisons is refused instead (it would take seconds to check, and to grade).
    """
    r = loaded.rubric
    if not any(m.patterns for m in r.misconceptions):
        return
    correct: list[tuple[str, str]] = []
    for p in r.points:
        for text in (p.statement.vi, p.statement.en, *p.phrasings.all()):
            correct.append((f"point '{p.id}'", text))
    if r.model_answer is not None:
        correct += [("the model answer", t) for t in (r.model_answer.vi, r.model_answer.en) if t]
    examples = [(k, ex, (f"example {k + 1} ({ex.kind})", ex.answer)) for k, ex in enumerate(r.examples) if ex.kind != "misconception"]
    prepared = {text: (detect_language(text) == "en", clauses_of(text)) for _, text in [*correct, *(e[2] for e in examples)]}
    # The work is about (patterns + their terms) x (words of the clauses searched).
    words = sum(1 + len(c.split()) for _, parts in prepared.values() for c in parts)
    terms = sum(1 + sum(len(g) for g in p.terms) + len(p.unless) for m in r.misconceptions for p in m.patterns)
    checks = terms * words
    if checks > MAX_PATTERN_CHECKS:
        first = next(i for i, m in enumerate(r.misconceptions) if m.patterns)
        add(
            ("misconceptions", first, "patterns"),
            f"checking the patterns against the rubric's own texts would take {checks:,} term x word comparisons, "
            f"over the {MAX_PATTERN_CHECKS:,} allowed",
            "use fewer patterns, or fewer (or shorter) phrasings and examples",
        )
        return
    for i, m in enumerate(r.misconceptions):
        texts = correct + [owner_text for _, ex, owner_text in examples if m.id not in ex.misconceptions]
        for j, pattern in enumerate(m.patterns):
            compiled = CompiledPattern.build(pattern.terms, pattern.window, pattern.unless)
            for owner, text in texts:
                english, parts = prepared[text]
                hit = next((h for c in parts if (h := find_pattern(compiled, c, english))), None)
                if hit is not None:
                    add(
                        ("misconceptions", i, "patterns", j),
                        f"pattern {j + 1} of misconception '{m.id}' matches {owner}: \"{hit.words}\"",
                        "a correct answer would be marked wrong: narrow the terms, lower 'window' or add 'unless' words",
                    )
                    break


def validate_paths(
    paths: Iterable[str | Path], *, rubric_set: Iterable[str | Path] | None = None
) -> tuple[list[LoadedRubric], list[Problem]]:
    """Load and check every rubric file under ``paths``; collect all problems, never raise.

    Each file is read once however often it is named. ``rubric_set``: files or folders of the
    rubric set the named files belong to (see :func:`rubric_set_of`); a named file whose question
    id another file of the set uses is an error too (the files of the set are read, not checked).
    """
    paths = list(paths)
    files, problems = discover_rubric_files(paths)
    loaded: list[LoadedRubric] = []
    if not files and not problems:
        where = " ".join(str(p) for p in paths) or "."
        problems.append(Problem(where, 1, "no rubric files found", "pass .yaml files or a folder holding them"))
    for f in files:
        try:
            lr = read_rubric_file(f)
        except RubricError as exc:
            problems.extend(exc.problems)
            continue
        loaded.append(lr)
        problems.extend(check_rubric(lr))
    by_id: dict[str, LoadedRubric] = {}
    for lr in loaded:
        first = by_id.get(lr.rubric.id)
        if first is not None:
            problems.append(
                Problem(lr.path, lr.line_of(("id",)), f"question id '{lr.rubric.id}' is already used by {first.path}", "give each question its own id")
            )
        else:
            by_id[lr.rubric.id] = lr
    if rubric_set is not None:
        problems.extend(_clashes_with_set(loaded, rubric_set, {os.path.realpath(f) for f in files}))
    return loaded, problems


def _clashes_with_set(loaded: list[LoadedRubric], rubric_set: Iterable[str | Path], named: set[str]) -> list[Problem]:
    """The named rubrics whose question id a file of the set (not named itself) already uses."""
    ids = {lr.rubric.id: lr for lr in loaded}
    out = []
    others, _ = discover_rubric_files(rubric_set)  # a broken file of the set is not the named files' problem
    for f in others:
        if os.path.realpath(f) in named:
            continue
        other = read_question_id(f)
        lr = ids.get(other) if other is not None else None
        if lr is not None:
            shown = os.path.relpath(f) if not os.path.relpath(f).startswith("..") else str(f)  # as the user named the set
            out.append(Problem(lr.path, lr.line_of(("id",)), f"question id '{other}' is already used by {shown}", "give each question its own id"))
    return out


def rubric_set_of(files: Iterable[str | Path]) -> list[Path]:
    """The rubric set that named files belong to, for the question-id check across it (the pre-commit hook passes
    only the changed files): for each file, the nearest folder above it called ``rubrics`` (the hooks' default
    ``files:``), searched recursively, else the rubric files beside it."""
    out: dict[str, Path] = {}
    for raw in files:
        p = Path(raw)
        if p.is_dir():
            continue
        absolute = Path(os.path.abspath(p))  # not resolved: a link's folder is where it is named
        home = next((a for a in absolute.parents if a.name == "rubrics"), None)
        if home is not None:
            out.setdefault(str(home), home)
        elif absolute.parent.is_dir():
            for sibling in sorted(absolute.parent.iterdir()):
                if sibling.suffix in RUBRIC_SUFFIXES:
                    out.setdefault(str(sibling), sibling)
    return list(out.values())


def load_rubric_set(paths: Iterable[str | Path]) -> list[LoadedRubric]:
    """Load a rubric set for grading; raise :class:`RubricError` if any check fails."""
    loaded, problems = validate_paths(list(paths))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise RubricError(errors)
    return loaded
