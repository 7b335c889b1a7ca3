"""Compiling a rubric set for one encoder: reference embeddings, matchers and background statistics.

Every point and misconception is matched against its reference phrasings and standardised
against *background* text: a bundled set of
generic sentences plus the reference phrasings of the other questions in the set.

The references are embedded through the encoder given (the engine passes a
:class:`~grader.embedding.cache.CachedEncoder`, so they are cached on disk per model, text by text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources

import numpy as np

from grader.compile.probe import RubricProbe, examples_digest, fit_probe, shipped_probes, training_texts
from grader.compile.target import MIN_SIGMA, CompiledRubric, Target, reference_match
from grader.embedding.encoder import Encoder
from grader.rubric.schema import Misconception, Point, Rubric
from grader.text.keywords import CompiledKeyword, match_keyword
from grader.text.language import detect_language
from grader.text.negation import has_preventive, is_counterfactual, is_negated, scope_after
from grader.text.normalize import diacritic_ratio, fold, nfc, normalize
from grader.text.patterns import CompiledPattern


def _ref_texts(phrasings: list[str], statement: list[str]) -> list[str]:
    # No accent-folded copies: answers typed without diacritics are restored before they are matched
    # (grader.text.restore). With the combiner refitted, the copies no longer helped on the hold-out
    # sets (Pearson blind 0.950 -> 0.939, dev 0.695 -> 0.720, nodiac 0.718 -> 0.740 without them),
    # and they were a third of the references to embed.
    return list(dict.fromkeys(nfc(t) for t in [*statement, *phrasings]))


def _target_texts(item: Point | Misconception) -> list[str]:
    return _ref_texts(item.phrasings.all(), [item.statement.vi, item.statement.en])


def _english_refs(refs: list[str]) -> set[str]:
    """The references that are English: not Vietnamese and not a folded copy of Vietnamese.

    Folded Vietnamese "nó" (it) reads as English "no", so only English text gets English cues.
    """
    vietnamese = {t for t in refs if diacritic_ratio(t) > 0.02}
    vietnamese |= {fold(t) for t in vietnamese}
    return {t for t in refs if t not in vietnamese and detect_language(t) != "vi_nodiac"}


def negatable_keywords(
    keywords: Sequence[CompiledKeyword], refs: list[str], english: set[str], scope: int = 3
) -> frozenset[str]:
    """Terms among ``keywords`` that some reference says right after (within ``scope`` words) a negation or a
    preventive word, or right before a negated predicate ("số tham số không đổi"). ``english``: the
    references that are English (:func:`_english_refs`).

    Narrower than the answer-side scope (NEGATION_SCOPE_WORDS) on purpose: measured on the
    rubric examples, the same scope on both sides made more keywords negatable and let
    more denials through (78 → 76 of 88 examples passing).
    """
    out = set()
    for ref in refs:
        norm = normalize(ref)
        folded = fold(norm)
        for kw in keywords:
            hit = match_keyword(kw, norm, folded)
            if hit is None:
                continue
            text = norm if hit.credit == 1.0 else folded
            before = " ".join(text[: hit.start].split()[-scope:])
            after = " ".join(scope_after(text[hit.end :]).split()[:2])  # "số tham số không đổi"
            if is_negated(before, english=ref in english) or has_preventive(before) or is_negated(after, english=ref in english):
                out.add(kw.term)
    return frozenset(out)


def background_sentences() -> list[str]:
    """The bundled generic sentences used as background."""
    text = resources.files("grader.data").joinpath("background.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _point_texts(rubric: Rubric) -> list[str]:
    return [t for p in rubric.points for t in (p.statement.vi, p.statement.en, *p.phrasings.all())]


def rubric_probe_examples(rubric: Rubric, rubrics: Sequence[Rubric], background: Sequence[str]) -> list[tuple[str, str]]:
    """``rubric``'s probe examples (:func:`~grader.compile.probe.training_texts`) in the set ``rubrics``: its own
    phrasings and generated copies of them, against the other questions' phrasings and the background."""
    others = [t for r in rubrics if r.id != rubric.id for t in _point_texts(r)]
    return [(nfc(t), c) for t, c in training_texts(rubric, others, background)]


def probe_examples(rubrics: Sequence[Rubric], background: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Every rubric's probe examples (:func:`rubric_probe_examples`), by rubric id."""
    return {r.id: rubric_probe_examples(r, rubrics, background) for r in rubrics}


def compile_rubrics(
    rubrics: Sequence[Rubric], encoder: Encoder, *, fitted: Mapping[str, RubricProbe] | None = None
) -> dict[str, CompiledRubric]:
    """Embed every reference of every rubric (one encoder call), fit background statistics and probes.

    ``fitted``: probes already fitted, by :func:`~grader.compile.probe.examples_digest` (default: the
    bundled rubrics' shipped ones); a rubric whose examples match one skips embedding them."""
    background = background_sentences()
    per_item: list[tuple[Rubric, Point | Misconception, list[str]]] = []
    texts: list[str] = []
    for r in rubrics:
        for item in [*r.points, *r.misconceptions]:
            refs = _target_texts(item)
            per_item.append((r, item, refs))
            texts.extend(refs)
        texts.extend([nfc(r.question.vi), nfc(r.question.en)])
    texts.extend(background)
    # Each rubric's probe learns from its own phrasings (and generated copies of them) against the
    # other questions' phrasings and the background: what has no fitted probe yet is embedded in the same call.
    examples = probe_examples(rubrics, background)
    fitted = shipped_probes() if fitted is None else fitted
    ready = {r.id: fitted.get(examples_digest(encoder.model_id, examples[r.id])) for r in rubrics}
    texts.extend(t for r in rubrics if ready[r.id] is None for t, _ in examples[r.id])
    unique = list(dict.fromkeys(texts))
    vectors = encoder.encode(unique)
    index = {t: i for i, t in enumerate(unique)}

    def emb(ts: list[str]) -> np.ndarray:
        return vectors[[index[t] for t in ts]]

    bg_emb = emb(background)
    compiled: dict[str, CompiledRubric] = {}
    for r in rubrics:
        own = [(item, refs) for rr, item, refs in per_item if rr.id == r.id]
        # Background for this rubric: generic sentences and the other questions' point references.
        others = [refs for rr, item, refs in per_item if rr.id != r.id and isinstance(item, Point)]
        other_texts = list(dict.fromkeys(t for refs in others for t in refs))
        bg = np.vstack([bg_emb, emb(other_texts)]) if other_texts else bg_emb
        points, misconceptions = [], []
        for item, refs in own:
            e = emb(refs)
            english = _english_refs(refs)
            keywords = tuple(CompiledKeyword.build(k.term, k.aliases, k.required) for k in item.keywords)
            best = reference_match(bg @ e.T)
            target = Target(
                id=item.id,
                kind="point" if isinstance(item, Point) else "misconception",
                weight=item.weight if isinstance(item, Point) else item.penalty,
                refs=refs,
                ref_negated=np.array(
                    [is_negated(t, english=t in english) and not is_counterfactual(t) for t in refs], dtype=bool
                ),
                emb=e,
                keywords=keywords,
                contradicts=tuple(item.contradicts) if isinstance(item, Misconception) else (),
                negatable_keywords=negatable_keywords(keywords, refs, english),
                patterns=tuple(CompiledPattern.build(p.terms, p.window, p.unless) for p in item.patterns) if isinstance(item, Misconception) else (),
                mu=float(best.mean()),
                sigma=max(float(best.std()), MIN_SIGMA),
            )
            (points if target.kind == "point" else misconceptions).append(target)
        compiled[r.id] = CompiledRubric(
            rubric=r,
            points=points,
            misconceptions=misconceptions,
            question_texts=[normalize(r.question.vi), normalize(r.question.en)],
            question_emb=emb([nfc(r.question.vi), nfc(r.question.en)]),
            probe=ready[r.id] or fit_probe(examples[r.id], emb),
        )
    return compiled
