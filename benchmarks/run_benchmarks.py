#!/usr/bin/env python
"""Reference-answer mode on public short-answer benchmarks (SemEval-2013 Task 7, SAF).

    .venv/bin/python benchmarks/run_benchmarks.py            # everything (first run encodes ~52k texts; ~4 min when cached)
    .venv/bin/python benchmarks/run_benchmarks.py --limit 150 --corpus semeval   # a quick look

Every question gets a rubric drafted from its reference answer
(:func:`grader.drafting.rubric_from_reference`, one rubric set per corpus: the questions of all
its splits; no labels are used for that) and every answer is graded like any
other. Only calibrations are fitted, on the train split only:

* plain cosine: cos(answer, reference), a threshold (SemEval) or a one-feature
  logistic map (SAF);
* cosine + keyword recall: their mean, thresholded (the README's reference point);
* grader, raw: the engine's score, thresholded;
* grader + calibration: :func:`grader.calibrate.fit.fit_calibration` on the
  GradeResult features (what ``grader calibrate`` fits), guards off and on;
* reference mode, previous features: one logistic regression over the
  GradeResult features plus ten reference features (answer-vs-reference cosine,
  per-clause coverage of the reference, keyword recall, length ratio, negation
  mismatch, cosine to the question), guards on;
* reference mode + question demoting, word alignment: the same plus four
  features computed with the question's words dropped from answer and
  reference (Mohler et al. 2011, Sultan et al. 2016): IDF-weighted word
  alignment reference->answer and answer->reference (exact, stem, prefix or
  fuzzy word matches; IDF from the corpus' own answers, no labels), the cosine
  of the demoted texts and a negation-parity mismatch; C chosen by 5-fold
  cross-validation on train (folds by question), guards off and on;
* the same + per-question calibration: a shrunk per-question shift of the
  log-odds fitted on the question's train answers (a per-question threshold;
  only for questions marked in train, i.e. unseen answers), shrinkage by CV;
* a supervised comparison (marked train answers of the same question, UA only).

A second table refits the final global model with all guards, none and each
guard switched off, and lists how many test answers each guard flags.

Answers' embeddings are cached on disk (``<cache dir>/benchmarks``), so a rerun
encodes nothing. Data: ``../shared/benchmarks`` relative to the repository, or ``--data``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_features import (  # noqa: E402
    aligned_share,
    demote_question,
    demoted_words,
    fit_group_offsets,
    idf_weights,
    logit,
    negator_count,
)

from grader.analysis import AnswerAnalysis, analyse_many  # noqa: E402
from grader.calibrate.fit import best_threshold, fit_calibration, fit_fractional_logistic  # noqa: E402
from grader.drafting.terms import content_words, stem  # noqa: E402
from grader.embedding.cache import CachedEncoder  # noqa: E402
from grader.engine import Grader  # noqa: E402
from grader.evaluate.labelled import LabelledRow, rubrics_for_rows  # noqa: E402
from grader.evaluate.metrics import label_metrics, macro_f1  # noqa: E402
from grader.paths import default_cache_dir  # noqa: E402
from grader.result import GradeResult  # noqa: E402
from grader.score.calibration import result_features  # noqa: E402
from grader.score.combine import sigmoid  # noqa: E402
from grader.score.params import CombinerParams  # noqa: E402
from grader.text.negation import is_negated  # noqa: E402
from grader.text.normalize import nfc  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks"

SEMEVAL = {
    "sciEntsBank": ("train", "test-unseen-answers", "test-unseen-questions", "test-unseen-domains"),
    "beetle": ("train", "test-unseen-answers", "test-unseen-questions"),
}
SAF_SPLITS = {"training": "english_training.csv", "unseen_answers": "english_unseen_answers.csv", "unseen_questions": "english_unseen_questions.csv"}
SHORT = {
    "test-unseen-answers": "UA",
    "test-unseen-questions": "UQ",
    "test-unseen-domains": "UD",
    "unseen_answers": "UA",
    "unseen_questions": "UQ",
}
REFERENCE_POINTS = [
    ("lexical overlap baseline (published, SciEntsBank UA)", "0.66"),
    ("best supervised systems of the task (published, SciEntsBank UA)", "0.77"),
    ("mean of embedding cosine and fuzzy keyword recall (measured, README)", "0.68"),
]


@dataclass
class Item:
    """One benchmark answer."""

    corpus: str
    split: str
    question_id: str
    question: str
    reference: str
    answer: str
    gold: float
    label: str
    features: dict[str, float] = field(default_factory=dict)
    results: dict[str, GradeResult] = field(default_factory=dict)
    vector: np.ndarray | None = None


def _spread(rows: list[dict[str, str]], limit: int | None) -> list[dict[str, str]]:
    """At most ``limit`` rows, spread over the file's questions (a fixed hash order, not the first N)."""
    if limit is None or len(rows) <= limit:
        return rows
    key = lambda r: hashlib.sha256((r.get("answer_id", "") + r["student_answer"]).encode()).hexdigest()  # noqa: E731
    keep = {id(r) for r in sorted(rows, key=key)[:limit]}
    return [r for r in rows if id(r) in keep]


def _read(path: Path, corpus: str, split: str, limit: int | None) -> list[Item]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Item(corpus, split, r["question_id"], r["question"], r["reference_answer"], r["student_answer"], float(r["gold_score"]), r.get("gold_label", ""))
        for r in _spread(rows, limit)
    ]


def load(data: Path, corpora: Sequence[str], limit: int | None) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for corpus, splits in SEMEVAL.items():
        if corpus in corpora:
            out[corpus] = [it for s in splits for it in _read(data / "semeval2013" / f"{corpus}_{s}.csv", corpus, s, limit)]
    if "saf" in corpora:
        out["saf"] = [it for s, f in SAF_SPLITS.items() for it in _read(data / "saf2022" / f, "saf", s, limit)]
    return out


# --------------------------------------------------------------------- features
# Combiner settings that switch each parametrised guard off. The empty-answer and copied-question guards have
# no parameter and stay on.
GUARD_OFF: dict[str, dict[str, float]] = {
    "keyword list": {"keyword_list_at": 2.0},
    "off-topic": {"off_topic_z": -1e9, "off_topic_margin": 1e9},  # the margin too: it also fires when <= 1 point is covered
    "negation": {"negated_factor": 1.0, "negated_answer_at": 2.0},
    "misconception": {"misconception_at": 2.0},
}


def guards_off(params: CombinerParams, guards: Sequence[str] = tuple(GUARD_OFF)) -> CombinerParams:
    """The combiner with the named parametrised guards disabled (default: all of :data:`GUARD_OFF`).

    Only fields the combiner has are changed, so this follows the engine as its parameters evolve.
    """
    off = {k: v for g in guards for k, v in GUARD_OFF[g].items()}
    return params.model_copy(update={k: v for k, v in off.items() if k in type(params).model_fields})


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text) if len(w) > 1}


def reference_features(
    item: Item,
    an: AnswerAnalysis,
    ref_vec: np.ndarray,
    q_vec: np.ndarray,
    clause_vecs: np.ndarray,
    clause_w: np.ndarray,
    demoted_vecs: tuple[np.ndarray, np.ndarray],
    idf: Callable[[str], float],
    answer_vec: np.ndarray,
) -> dict[str, float]:
    """Answer-vs-reference features that need no rubric.

    The first ten (:data:`BASIC_REF_FEATURES`): cosine, clause coverage, keyword recall, length,
    negation. Then (:data:`ALIGN_FEATURES`), all with the question's words demoted (dropped from
    answer and reference, see :func:`reference_features.demote_question`): IDF-weighted word
    alignment of the reference to the answer (recall) and of the answer to the reference
    (precision), the cosine of the demoted texts, and whether answer and reference have a
    different parity of negating words.
    """
    ans_dem, ref_dem = demoted_words(item.answer, item.question), demoted_words(item.reference, item.question)
    rows = np.vstack([an.segment_emb, answer_vec[None, :]]) if len(an.segments) else answer_vec[None, :]
    cover = (rows @ clause_vecs.T).max(axis=0)
    ref_stems, q_stems, ans_stems = _stems(item.reference), _stems(item.question), _stems(item.answer)
    novel = ref_stems - q_stems
    ans_words = len(re.findall(r"\w+", item.answer))
    ref_words = len(re.findall(r"\w+", item.reference))
    return {
        "cos_ref": float(answer_vec @ ref_vec),
        "cos_question": float(answer_vec @ q_vec),
        "clause_mean": float((cover * clause_w).sum() / clause_w.sum()),
        "clause_min": float(cover.min()),
        "clause_max": float(cover.max()),
        "recall": len(ref_stems & ans_stems) / len(ref_stems) if ref_stems else 0.0,
        "novel_recall": len(novel & ans_stems) / len(novel) if novel else 0.0,
        "answer_in_ref": len(ans_stems & (ref_stems | q_stems)) / len(ans_stems) if ans_stems else 0.0,
        "log_length_ratio": math.log((ans_words + 1) / (ref_words + 1)),
        "negation_mismatch": float(is_negated(item.answer) != is_negated(item.reference)),
        "align_recall": aligned_share(ref_dem, ans_dem, idf),
        "align_precision": aligned_share(ans_dem, ref_dem, idf),
        "cos_demoted": float(demoted_vecs[0] @ demoted_vecs[1]),
        "negation_parity": float(negator_count(item.answer) % 2 != negator_count(item.reference) % 2),
    }


PLAIN = "plain cosine (answer vs reference)"
PREVIOUS = "reference mode, previous features (grader + 10 reference features)"
REFERENCE = "reference mode + question demoting, word alignment (grader + 14 reference features)"
PER_QUESTION = "same, guards on, + per-question calibration (questions seen in train: UA only)"
C_GRID = (0.1, 1.0, 10.0)
OFFSET_STRENGTHS = (1.0, 3.0, 10.0, 30.0)
SUPERVISED = "supervised comparison: reference mode + marked train answers of the same question (UA only)"
BASIC_REF_FEATURES = ("cos_ref", "cos_question", "clause_mean", "clause_min", "clause_max", "recall", "novel_recall", "answer_in_ref", "log_length_ratio", "negation_mismatch")
ALIGN_FEATURES = ("align_recall", "align_precision", "cos_demoted", "negation_parity")
REF_FEATURES = BASIC_REF_FEATURES + ALIGN_FEATURES


def featurise(items: list[Item], encoder: CachedEncoder, log: Callable[[str], None]) -> Grader:
    """Grade every item (guards on and off) and compute its reference features."""
    rows = [LabelledRow(it.question_id, it.question, it.reference, it.answer, it.gold) for it in items]
    t = time.perf_counter()
    rubric_set, ids = rubrics_for_rows(rows)
    grader = Grader(rubric_set, encoder)
    log(f"  {len(rubric_set)} rubrics drafted and compiled in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    analyses = analyse_many([it.answer for it in items], encoder)
    log(f"  {len(items)} answers analysed in {time.perf_counter() - t:.0f} s ({encoder.encoded} texts encoded so far)")
    t = time.perf_counter()
    # The evidence (topic context included) does not depend on the combiner: computed once per answer.
    evidence = [grader.evidence(qid, an) for qid, an in zip(ids, analyses)]
    on = grader.params
    settings = [("on", on), ("off", guards_off(on))] + [(f"no {g}", guards_off(on, [g])) for g in GUARD_OFF]
    for name, params in settings:
        for it, qid, an, ev in zip(items, ids, analyses, evidence):
            it.results[name] = grader.grade_analysed(qid, an, evidence=ev, params=params)
    log(f"  graded {len(settings)} times (guards on, off, each one off) in {time.perf_counter() - t:.0f} s")
    refs = sorted({nfc(it.reference) for it in items} | {nfc(it.question) for it in items})
    vecs = dict(zip(refs, encoder.encode(refs)))
    clauses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for r in rubric_set:
        texts = [p.statement.en for p in r.points]
        clauses[r.id] = (encoder.encode(texts), np.array([p.weight for p in r.points]))
    t = time.perf_counter()
    # Question demoting: answers and references without the question's words, encoded once (cached).
    dem_answers = encoder.encode([demote_question(it.answer, it.question).strip() or " " for it in items])
    pairs = sorted({(it.question, it.reference) for it in items})
    dem_refs = dict(zip(pairs, encoder.encode([demote_question(r, q).strip() or " " for q, r in pairs])))
    # IDF from the corpus' own answers (all splits, no labels): unsupervised.
    idf = idf_weights(it.answer for it in items)
    # The whole answer's embedding (the engine itself no longer computes one: it grades segments).
    whole = encoder.encode([an.text.strip() or " " for an in analyses])
    for it, qid, an, dv, av in zip(items, ids, analyses, dem_answers, whole):
        cv, cw = clauses[qid]
        dr = dem_refs[(it.question, it.reference)]
        it.features = reference_features(it, an, vecs[nfc(it.reference)], vecs[nfc(it.question)], cv, cw, (dv, dr), idf, av)
        it.vector = av
    log(f"  reference features (question demoting, word alignment) in {time.perf_counter() - t:.0f} s")
    add_marked_neighbours(items)
    return grader


def add_marked_neighbours(items: list[Item]) -> None:
    """For the *supervised* comparison row only: similarity to marked train answers of the same question.

    ``knn_correct`` / ``knn_wrong``: the highest cosine between the answer and a train answer of
    the same question marked correct / not correct (a train answer never counts itself). Only
    questions with train answers (unseen answers) get them; others get 0 and are not scored by that row.
    """
    train: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        if it.split in ("train", "training"):
            train[it.question_id].append(it)
    for qid, group in train.items():
        mat = np.stack([g.vector for g in group])
        good = np.array([g.gold >= 0.5 for g in group])
        for it in [x for x in items if x.question_id == qid]:
            sims = mat @ it.vector
            own = np.array([g is it for g in group])
            pos, neg = sims[good & ~own], sims[~good & ~own]
            it.features["knn_correct"] = float(pos.max()) if len(pos) else 0.0
            it.features["knn_wrong"] = float(neg.max()) if len(neg) else 0.0


# --------------------------------------------------------------------- models
class Scorer:
    """A fitted map from an item to a [0, 1] score, with a decision threshold for binary labels.

    ``note`` records a choice made by cross-validation on train (C, shrinkage), ``c`` the C of a logistic model.
    """

    def __init__(self, name: str, fn: Callable[[Item], float], threshold: float | None = None, note: str = "", c: float | None = None):
        self.name, self.fn, self.threshold, self.note, self.c = name, fn, threshold, note, c

    def scores(self, items: Sequence[Item]) -> list[float]:
        return [self.fn(it) for it in items]


def threshold_scorer(name: str, fn: Callable[[Item], float], train: Sequence[Item]) -> Scorer:
    """A single number, thresholded where macro-F1 on train is best (searched over its train quantiles)."""
    vals = np.array([fn(it) for it in train])
    gold = [int(it.gold >= 0.5) for it in train]
    best = (-1.0, 0.0)
    for t in np.unique(np.quantile(vals, np.linspace(0.02, 0.98, 97))):
        f1 = macro_f1([int(v >= t) for v in vals], gold)
        if f1 > best[0]:
            best = (f1, float(t))
    return Scorer(name, fn, best[1])


def _fit_logistic(vector: Callable[[Item], list[float]], train: Sequence[Item], c: float) -> Callable[[Item], float]:
    """A (fractional) logistic regression over standardised features, fitted on ``train``: item -> probability."""
    x = np.array([vector(it) for it in train], dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-9] = 1.0
    coef, intercept = fit_fractional_logistic(((x - mean) / std).tolist(), [it.gold for it in train], c)
    w = np.array(coef)

    def fn(it: Item) -> float:
        z = float(((np.array(vector(it)) - mean) / std) @ w + intercept)
        return sigmoid(z)

    return fn


def _folds(train: Sequence[Item], k: int = 5, by_question: bool = False, seed: int = 0) -> list[int]:
    """A fixed-seed fold number per train item; with ``by_question`` all answers of a question share a fold."""
    rng = np.random.RandomState(seed)
    if not by_question:
        return (rng.permutation(len(train)) % k).tolist()
    qids = sorted({it.question_id for it in train})
    fold_of = {qids[i]: j % k for j, i in enumerate(rng.permutation(len(qids)))}
    return [fold_of[it.question_id] for it in train]


def _fit_quality(fn: Callable[[Item], float], fit_on: Sequence[Item], held: Sequence[Item], binary: bool) -> float:
    """Held-out quality: macro-F1 at the threshold best on ``fit_on`` (binary), else Pearson."""
    if binary:
        th = best_threshold([fn(it) for it in fit_on], [int(it.gold >= 0.5) for it in fit_on])
        return macro_f1([int(fn(it) >= th) for it in held], [int(it.gold >= 0.5) for it in held])
    return label_metrics([fn(it) for it in held], [it.gold for it in held], scale=(0.0, 1.0))["pearson"]


def _cv_choice(
    options: Sequence[float],
    fit: Callable[[Sequence[Item], float], Callable[[Item], float]],
    train: Sequence[Item],
    folds: list[int],
    binary: bool,
) -> float:
    """The option whose model, ``fit(fit_on, option)``, does best on the held-out folds of ``train`` (ties: the larger)."""
    best = (-math.inf, 1.0)
    for option in options:
        scores = []
        for j in sorted(set(folds)):
            fit_on = [it for it, f in zip(train, folds) if f != j]
            held = [it for it, f in zip(train, folds) if f == j]
            scores.append(_fit_quality(fit(fit_on, option), fit_on, held, binary))
        best = max(best, (float(np.mean(scores)), option))
    return best[1]


def choose_c(vector: Callable[[Item], list[float]], train: Sequence[Item], binary: bool, grid: Sequence[float] = C_GRID) -> float:
    """The regularisation strength C (smaller: stronger) best in 5-fold cross-validation on ``train``.

    Folds group the answers by question, so the choice favours what carries over to new questions.
    """
    return _cv_choice(grid, lambda fit_on, c: _fit_logistic(vector, fit_on, c), train, _folds(train, by_question=True), binary)


def logistic_scorer(name: str, vector: Callable[[Item], list[float]], train: Sequence[Item], binary: bool, c: float | None = 1.0) -> Scorer:
    """A (fractional) logistic regression over standardised features, fitted on train; for binary labels, the train-best threshold.

    ``c=None`` chooses C by cross-validation on train (:func:`choose_c`); the scorer's note says which.
    """
    note = ""
    if c is None:
        c = choose_c(vector, train, binary)
        note = f"C={c:g} (CV)"
    fn = _fit_logistic(vector, train, c)
    if not binary:
        return Scorer(name, fn, note=note, c=c)
    return Scorer(name, fn, best_threshold([fn(it) for it in train], [int(it.gold >= 0.5) for it in train]), note, c)


def _with_offsets(fn: Callable[[Item], float], train: Sequence[Item], strength: float) -> tuple[Callable[[Item], float], dict[str, float]]:
    """``fn`` shifted, on the log-odds scale, by per-question offsets fitted on ``train`` (see fit_group_offsets)."""
    offsets = fit_group_offsets([logit(fn(it)) for it in train], [it.gold for it in train], [it.question_id for it in train], strength)

    def shifted(it: Item) -> float:
        z = logit(fn(it)) + offsets.get(it.question_id, 0.0)
        return sigmoid(z)

    return shifted, offsets


def per_question_scorer(name: str, base: Scorer, vector: Callable[[Item], list[float]], train: Sequence[Item], binary: bool, c: float) -> Scorer:
    """Per-question calibration, for questions with marked train answers (unseen answers only).

    The global model's log-odds get a per-question shift (:func:`reference_features.fit_group_offsets`)
    fitted on that question's train answers; its shrinkage strength is chosen by 5-fold
    cross-validation on train over random folds (the questions stay seen, as in unseen answers).
    For binary labels this amounts to a per-question decision threshold; the threshold on the
    shifted probabilities is refitted on train. Questions without train answers keep ``base``.
    """
    strength = _cv_choice(
        OFFSET_STRENGTHS, lambda fit_on, s: _with_offsets(_fit_logistic(vector, fit_on, c), fit_on, s)[0], train, _folds(train), binary
    )
    shifted, _ = _with_offsets(base.fn, train, strength)
    note = f"shrinkage {strength:g} (CV)"
    if not binary:
        return Scorer(name, shifted, note=note, c=c)
    return Scorer(name, shifted, best_threshold([shifted(it) for it in train], [int(it.gold >= 0.5) for it in train]), note, c)


def calibration_scorer(name: str, guards: str, train: Sequence[Item]) -> Scorer:
    """What ``grader calibrate`` fits, on train only (no held-out part), applied with Calibration.calibrated_score."""
    cal = fit_calibration([it.results[guards] for it in train], [it.gold for it in train], test_share=0, scale=(0.0, 1.0))
    return Scorer(name, lambda it: cal.calibrated_score(it.results[guards]), cal.threshold)


def _grader_features(guards: str) -> Callable[[Item], list[float]]:
    """The calibration features of an item's GradeResult graded with the ``guards`` setting."""
    return lambda it: list(result_features(it.results[guards]).values())


def reference_vector(guards: str, names: Sequence[str] = REF_FEATURES) -> Callable[[Item], list[float]]:
    """Reference mode's feature vector: the GradeResult features (``guards`` setting) and the reference features ``names``."""
    grader = _grader_features(guards)
    return lambda it: grader(it) + [it.features[k] for k in names]


def build_scorers(train: Sequence[Item], binary: bool) -> list[Scorer]:
    """Every compared method, fitted on ``train`` (rows of the report, in order)."""
    out: list[Scorer] = []
    if binary:
        out.append(threshold_scorer(PLAIN, lambda it: it.features["cos_ref"], train))
        out.append(threshold_scorer("mean of cosine and keyword recall", lambda it: (it.features["cos_ref"] + it.features["recall"]) / 2, train))
        out.append(threshold_scorer("grader raw score, guards on", lambda it: it.results["on"].score, train))
    else:
        out.append(logistic_scorer(PLAIN, lambda it: [it.features["cos_ref"]], train, binary))
        out.append(Scorer("grader raw score, guards on", lambda it: it.results["on"].score))
    out.append(calibration_scorer("grader + calibration, guards off", "off", train))
    out.append(calibration_scorer("grader + calibration, guards on", "on", train))
    out.append(logistic_scorer(f"{PREVIOUS}, guards on", reference_vector("on", BASIC_REF_FEATURES), train, binary))
    out.append(logistic_scorer(f"{REFERENCE}, guards off", reference_vector("off"), train, binary, c=None))
    final = logistic_scorer(f"{REFERENCE}, guards on", reference_vector("on"), train, binary, c=None)
    out.append(final)
    out.append(per_question_scorer(PER_QUESTION, final, reference_vector("on"), train, binary, final.c or 1.0))
    knn = lambda it: [it.features.get("knn_correct", 0.0), it.features.get("knn_wrong", 0.0)]  # noqa: E731
    vec = reference_vector("on")
    out.append(logistic_scorer(SUPERVISED, lambda it: vec(it) + knn(it), train, binary))
    return out


def guard_scorers(train: Sequence[Item], binary: bool, c: float) -> list[Scorer]:
    """Reference mode (global model, C as chosen for guards on) with all guards, none, and each guard switched off."""
    settings = [("all guards on", "on"), ("all guards off", "off")] + [(f"without the {g} guard", f"no {g}") for g in GUARD_OFF]
    return [logistic_scorer(name, reference_vector(key), train, binary, c) for name, key in settings]


# --------------------------------------------------------------------- reports
UA_ONLY = (SUPERVISED, PER_QUESTION)


def _short(name: str) -> str:
    """A method's name without its parenthesised details."""
    return re.sub(r" \([^()]*(?:\([^()]*\)[^()]*)*\)", "", name)


def _semeval_rows(scorers: dict[str, list[Scorer]], corpora: dict[str, list[Item]], columns: list[tuple[str, str]], contradictory: bool) -> list[str]:
    """One Markdown row per scorer index: macro-F1 / accuracy per test split (and the contradictory answers' accuracy)."""
    lines = []
    for i, name in enumerate(s.name for s in next(iter(scorers.values()))):
        cells = []
        contra_ok = contra_n = 0
        for c, s in columns:
            sc = scorers[c][i]
            items = [it for it in corpora[c] if it.split == s]
            if not items or (sc.name in UA_ONLY and SHORT[s] != "UA"):
                cells.append("–")
                continue
            pred = [int(v >= sc.threshold) for v in sc.scores(items)]
            gold = [int(it.gold >= 0.5) for it in items]
            acc = float(np.mean([p == g for p, g in zip(pred, gold)]))
            cells.append(f"{macro_f1(pred, gold):.3f} / {acc:.3f}")
            for it, p in zip(items, pred):
                if it.label == "contradictory":
                    contra_n += 1
                    contra_ok += p == 0
        contra = f"{contra_ok / contra_n:.3f} (n={contra_n})" if contra_n and name not in UA_ONLY else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + (f" | {contra} |" if contradictory else " |"))
    return lines


def _flag_counts(items: Sequence[Item]) -> str:
    """How many test answers each guard flags (guards on), and the share of them marked correct."""
    parts = []
    for flag in ("negated", "keyword_list", "off_topic", "misconception", "empty", "copies_question"):
        hit = [it for it in items if flag in it.results["on"].flags or (flag == "misconception" and it.results["on"].misconceptions)]
        if hit:
            parts.append(f"{flag} {len(hit)} ({np.mean([it.gold >= 0.5 for it in hit]):.0%} correct)")
    return ", ".join(parts) or "none"


def semeval_table(corpora: dict[str, list[Item]]) -> list[str]:
    columns: list[tuple[str, str]] = [(c, s) for c, splits in SEMEVAL.items() if c in corpora for s in splits[1:]]
    trains = {c: [it for it in corpora[c] if it.split == "train"] for c in corpora}
    scorers = {c: build_scorers(trains[c], binary=True) for c in SEMEVAL if c in corpora}
    head = " | ".join(f"{'SEB' if c == 'sciEntsBank' else 'Beetle'} {SHORT[s]}" for c, s in columns)
    lines = [
        "### SemEval-2013 Task 7, 2-way (correct vs not): macro-F1 / accuracy",
        "",
        f"| method | {head} | contradictory: acc. |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    lines += _semeval_rows(scorers, corpora, columns, contradictory=True)
    lines += [
        "",
        "Per-question calibration (UA only) shifts each question's decision threshold using that question's marked "
        "train answers; the row above it is the same model with one global threshold. Neither applies to unseen questions or domains.",
    ]
    lines += ["", "Reference points (SciEntsBank, unseen answers, macro-F1):", ""]
    lines += [f"- {what}: {value}" for what, value in REFERENCE_POINTS]
    lines += ["", "Fitted on train: " + "; ".join(
        f"{c}: " + ", ".join(f"{_short(sc.name)} {sc.threshold:.3f}{f' [{sc.note}]' if sc.note else ''}" for sc in scs if sc.threshold is not None)
        for c, scs in scorers.items()
    )]
    # How the guards change the final (global) reference-mode model: refitted with each setting.
    final = {c: next(sc for sc in scs if sc.name == f"{REFERENCE}, guards on") for c, scs in scorers.items()}
    guards = {c: guard_scorers(trains[c], True, final[c].c or 1.0) for c in scorers}
    lines += [
        "",
        "#### Guards: reference mode + question demoting, word alignment (global threshold), refitted per setting",
        "",
        f"| guards | {head} | contradictory: acc. |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    lines += _semeval_rows(guards, corpora, columns, contradictory=True)
    lines += [""] + [f"- answers flagged in {c} {SHORT[s]}: " + _flag_counts([it for it in corpora[c] if it.split == s]) for c, s in columns]
    return lines


def _saf_rows(scorers: Sequence[Scorer], items: Sequence[Item], splits: Sequence[str]) -> list[str]:
    lines = []
    for sc in scorers:
        cells = []
        for s in splits:
            part = [it for it in items if it.split == s]
            if len(part) < 3 or (sc.name in UA_ONLY and SHORT[s] != "UA"):
                cells.append("–")
                continue
            m = label_metrics(sc.scores(part), [it.gold for it in part], scale=(0.0, 1.0))
            cells.append(f"{m['pearson']:.3f} / {m['spearman']:.3f} / {m['mae']:.3f} / {m['rmse']:.3f}")
        lines.append(f"| {sc.name} | " + " | ".join(cells) + " |")
    return lines


def saf_table(items: list[Item]) -> list[str]:
    train = [it for it in items if it.split == "training"]
    scorers = build_scorers(train, binary=False)
    splits = [s for s in SAF_SPLITS if s != "training"]
    head = "| method | " + " | ".join(f"SAF {SHORT[s]}" for s in splits) + " |"
    lines = ["### SAF (English), scores in [0, 1]: Pearson / Spearman / MAE / RMSE", "", head, "|---|" + "---|" * len(splits)]
    lines += _saf_rows(scorers, items, splits)
    notes = [f"{_short(sc.name)} {sc.note}" for sc in scorers if sc.note]
    if notes:
        lines += ["", "Chosen on train: " + ", ".join(notes)]
    final = next(sc for sc in scorers if sc.name == f"{REFERENCE}, guards on")
    lines += ["", "#### Guards (SAF): reference mode + question demoting, word alignment, refitted per setting", "", head.replace("method", "guards"), "|---|" + "---|" * len(splits)]
    lines += _saf_rows(guard_scorers(train, False, final.c or 1.0), items, splits)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"benchmark folder (default {DEFAULT_DATA})")
    ap.add_argument("--corpus", choices=["all", "semeval", "sciEntsBank", "beetle", "saf"], default="all")
    ap.add_argument("--limit", type=int, help="at most N answers per split file (quick runs)")
    ap.add_argument("--cache", type=Path, default=None, help="embedding cache folder (default: <grader cache>/benchmarks)")
    ap.add_argument("--model", default="bundled")
    ap.add_argument("--output", type=Path, help="also write the Markdown report here")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    corpora = {"all": ["sciEntsBank", "beetle", "saf"], "semeval": ["sciEntsBank", "beetle"]}.get(args.corpus, [args.corpus])
    if not args.data.is_dir():
        print(f"no benchmark data at {args.data} (pass --data)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    from grader.embedding.encoder import SentenceTransformerEncoder

    encoder = CachedEncoder(
        SentenceTransformerEncoder(args.model), args.cache or default_cache_dir() / "benchmarks", chunk=512, progress=not args.quiet
    )
    log(f"model {encoder.model_id}; {len(encoder)} cached embeddings")
    data = load(args.data, corpora, args.limit)
    for corpus, items in data.items():
        log(f"{corpus}: {len(items)} answers")
        featurise(items, encoder, log)
    report = [f"## Reference-answer mode on public benchmarks ({encoder.model_id})", ""]
    sem = {c: data[c] for c in ("sciEntsBank", "beetle") if c in data}
    if sem:
        report += semeval_table(sem) + [""]
    if "saf" in data:
        report += saf_table(data["saf"]) + [""]
    n = sum(len(v) for v in data.values())
    elapsed = time.perf_counter() - start
    report.append(
        f"{n} answers{f' (--limit {args.limit} per split)' if args.limit else ''}; {encoder.encoded} texts encoded in this run; "
        f"total {elapsed / 60:.1f} min. Fitted on train splits only; rubrics drafted from the reference answers."
    )
    text = "\n".join(report)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
