"""Checks on rubric files that need no model: what ``grader validate`` runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from grader.rubric.load import LoadedRubric, Problem, RubricError, find_rubric_files, read_rubric_file
from grader.rubric.schema import Keyword, Phrasings
from grader.text.normalize import fold, normalize
from grader.text.patterns import CompiledPattern, pattern_matches_text


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
    them would cancel points of correct answers.
    """
    r = loaded.rubric
    correct: list[tuple[str, str]] = []
    for p in r.points:
        for text in (p.statement.vi, p.statement.en, *p.phrasings.all()):
            correct.append((f"point '{p.id}'", text))
    if r.model_answer is not None:
        correct += [("the model answer", t) for t in (r.model_answer.vi, r.model_answer.en) if t]
    for i, m in enumerate(r.misconceptions):
        for j, pattern in enumerate(m.patterns):
            compiled = CompiledPattern.build(pattern.terms, pattern.window, pattern.unless)
            texts = correct + [
                (f"example {k + 1} ({ex.kind})", ex.answer)
                for k, ex in enumerate(r.examples)
                if m.id not in ex.misconceptions and ex.kind != "misconception"
            ]
            for owner, text in texts:
                hit = pattern_matches_text(compiled, text)
                if hit is not None:
                    add(
                        ("misconceptions", i, "patterns", j),
                        f"pattern {j + 1} of misconception '{m.id}' matches {owner}: \"{hit.words}\"",
                        "a correct answer would be marked wrong: narrow the terms, lower 'window' or add 'unless' words",
                    )
                    break


def validate_paths(paths: Iterable[str | Path]) -> tuple[list[LoadedRubric], list[Problem]]:
    """Load and check every rubric file under ``paths``; collect all problems, never raise."""
    files = find_rubric_files(paths)
    problems: list[Problem] = []
    loaded: list[LoadedRubric] = []
    if not files:
        problems.append(Problem(" ".join(str(p) for p in paths) or ".", 1, "no rubric files found", "pass .yaml files or a folder holding them"))
    for f in files:
        if not f.exists():
            problems.append(Problem(str(f), 1, "no such file", "check the path"))
            continue
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
    return loaded, problems


def load_rubric_set(paths: Iterable[str | Path]) -> list[LoadedRubric]:
    """Load a rubric set for grading; raise :class:`RubricError` if any check fails."""
    loaded, problems = validate_paths(list(paths))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise RubricError(errors)
    return loaded
