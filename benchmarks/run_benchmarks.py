#!/usr/bin/env python
"""Reference-answer mode on public short-answer benchmarks (SemEval-2013 Task 7, SAF).

    .venv/bin/python benchmarks/run_benchmarks.py            # everything (first run encodes ~37k texts)
    .venv/bin/python benchmarks/run_benchmarks.py --limit 150 --corpus semeval   # a quick look

Every question gets a rubric drafted from its reference answer
(:meth:`Rubric.from_reference`, one rubric set per corpus: the questions of all
its splits; no labels are used for that) and every answer is graded like any
other. Only calibrations are fitted, on the train split only:

* plain cosine: cos(answer, reference), a threshold (SemEval) or a one-feature
  logistic map (SAF);
* cosine + keyword recall: their mean, thresholded (the README's reference point);
* grader, raw: the engine's score, thresholded;
* grader + calibration: :func:`grader.calibration.fit_calibration` on the
  GradeResult features (what ``grader calibrate`` fits), guards off and on;
* reference mode: one logistic regression over the GradeResult features plus a
  handful of reference features (answer-vs-reference cosine, per-clause
  coverage of the reference, keyword recall, length ratio, negation mismatch,
  cosine to the question), guards off and on.

Answers' embeddings are cached on disk (``<cache dir>/benchmarks``), so a rerun
encodes nothing. Data: ``../shared/benchmarks`` relative to the repository, or ``--data``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import inspect
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

from grader.analysis import AnswerAnalysis, analyse_many  # noqa: E402
from grader.calibration import best_threshold, fit_calibration, fit_fractional_logistic, result_features  # noqa: E402
from grader.engine import Grader, default_cache_dir  # noqa: E402
from grader.labelled import CachedEncoder, LabelledRow, label_metrics, macro_f1, rubrics_for_rows  # noqa: E402
from grader.matching.combine import CombinerParams  # noqa: E402
from grader.reference import content_words, stem  # noqa: E402
from grader.result import GradeResult  # noqa: E402
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
def guards_off(params: CombinerParams) -> CombinerParams:
    """The combiner with the parametrised guards disabled (keyword list, off-topic, negation, misconceptions).

    The empty-answer and copied-question guards have no parameter and stay on. Only fields the
    combiner has are changed, so this follows the engine as its parameters evolve.
    """
    off = {"keyword_list_at": 2.0, "off_topic_z": -1e9, "negated_factor": 1.0, "negated_answer_at": 2.0, "misconception_at": 2.0}
    return params.model_copy(update={k: v for k, v in off.items() if k in type(params).model_fields})


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text) if len(w) > 1}


def reference_features(item: Item, an: AnswerAnalysis, ref_vec: np.ndarray, q_vec: np.ndarray, clause_vecs: np.ndarray, clause_w: np.ndarray) -> dict[str, float]:
    """Answer-vs-reference features that need no rubric: cosine, clause coverage, keyword recall, length, negation."""
    rows = np.vstack([an.segment_emb, an.answer_emb[None, :]]) if len(an.segments) else an.answer_emb[None, :]
    cover = (rows @ clause_vecs.T).max(axis=0)
    ref_stems, q_stems, ans_stems = _stems(item.reference), _stems(item.question), _stems(item.answer)
    novel = ref_stems - q_stems
    ans_words = len(re.findall(r"\w+", item.answer))
    ref_words = len(re.findall(r"\w+", item.reference))
    return {
        "cos_ref": float(an.answer_emb @ ref_vec),
        "cos_question": float(an.answer_emb @ q_vec),
        "clause_mean": float((cover * clause_w).sum() / clause_w.sum()),
        "clause_min": float(cover.min()),
        "clause_max": float(cover.max()),
        "recall": len(ref_stems & ans_stems) / len(ref_stems) if ref_stems else 0.0,
        "novel_recall": len(novel & ans_stems) / len(novel) if novel else 0.0,
        "answer_in_ref": len(ans_stems & (ref_stems | q_stems)) / len(ans_stems) if ans_stems else 0.0,
        "log_length_ratio": math.log((ans_words + 1) / (ref_words + 1)),
        "negation_mismatch": float(is_negated(item.answer) != is_negated(item.reference)),
    }


SUPERVISED = "supervised comparison: reference mode + marked train answers of the same question (UA only)"
REF_FEATURES = ("cos_ref", "cos_question", "clause_mean", "clause_min", "clause_max", "recall", "novel_recall", "answer_in_ref", "log_length_ratio", "negation_mismatch")


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
    # The topic context (own vs best other question) does not depend on the combiner: compute it once per answer
    # when the engine accepts it precomputed.
    topics: list[object] = [None] * len(items)
    if "topic" in inspect.signature(grader.grade_analysed).parameters and hasattr(grader, "topic"):
        topics = [grader.topic(qid, an) for qid, an in zip(ids, analyses)]
    on = grader.params
    for name, params in (("on", on), ("off", guards_off(on))):
        grader.params = params
        for it, qid, an, tc in zip(items, ids, analyses, topics):
            it.results[name] = grader.grade_analysed(qid, an, topic=tc) if tc is not None else grader.grade_analysed(qid, an)
    grader.params = on
    log(f"  graded twice (guards on/off) in {time.perf_counter() - t:.0f} s")
    refs = sorted({nfc(it.reference) for it in items} | {nfc(it.question) for it in items})
    vecs = dict(zip(refs, encoder.encode(refs)))
    clauses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for r in rubric_set:
        texts = [p.statement.en for p in r.points]
        clauses[r.id] = (encoder.encode(texts), np.array([p.weight for p in r.points]))
    for it, qid, an in zip(items, ids, analyses):
        cv, cw = clauses[qid]
        it.features = reference_features(it, an, vecs[nfc(it.reference)], vecs[nfc(it.question)], cv, cw)
        it.vector = an.answer_emb
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
    """A fitted map from an item to a [0, 1] score, with a decision threshold for binary labels."""

    def __init__(self, name: str, fn: Callable[[Item], float], threshold: float | None = None):
        self.name, self.fn, self.threshold = name, fn, threshold

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


def logistic_scorer(name: str, vector: Callable[[Item], list[float]], train: Sequence[Item], binary: bool, c: float = 1.0) -> Scorer:
    """A (fractional) logistic regression over standardised features, fitted on train; for binary labels, the train-best threshold."""
    x = np.array([vector(it) for it in train], dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-9] = 1.0
    coef, intercept = fit_fractional_logistic(((x - mean) / std).tolist(), [it.gold for it in train], c)
    w = np.array(coef)

    def fn(it: Item) -> float:
        z = float(((np.array(vector(it)) - mean) / std) @ w + intercept)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    if not binary:
        return Scorer(name, fn)
    prob = [fn(it) for it in train]
    return Scorer(name, fn, best_threshold(prob, [int(it.gold >= 0.5) for it in train]))


def calibration_scorer(name: str, guards: str, train: Sequence[Item]) -> Scorer:
    """What ``grader calibrate`` fits, on train only (no held-out part), applied with Calibration.calibrated_score."""
    cal = fit_calibration([it.results[guards] for it in train], [it.gold for it in train], test_share=0, scale=(0.0, 1.0))
    return Scorer(name, lambda it: cal.calibrated_score(it.results[guards]), cal.threshold)


def build_scorers(train: Sequence[Item], binary: bool) -> list[Scorer]:
    grader_feats = lambda g: (lambda it: list(result_features(it.results[g]).values()))  # noqa: E731
    ref_feats = lambda it: [it.features[k] for k in REF_FEATURES]  # noqa: E731
    out: list[Scorer] = []
    if binary:
        out.append(threshold_scorer("plain cosine (answer vs reference)", lambda it: it.features["cos_ref"], train))
        out.append(threshold_scorer("mean of cosine and keyword recall", lambda it: (it.features["cos_ref"] + it.features["recall"]) / 2, train))
        out.append(threshold_scorer("grader raw score, guards on", lambda it: it.results["on"].score, train))
    else:
        out.append(logistic_scorer("plain cosine (answer vs reference)", lambda it: [it.features["cos_ref"]], train, binary))
        out.append(Scorer("grader raw score, guards on", lambda it: it.results["on"].score))
    out.append(calibration_scorer("grader + calibration, guards off", "off", train))
    out.append(calibration_scorer("grader + calibration, guards on", "on", train))
    out.append(logistic_scorer("reference mode (grader + reference features), guards off", lambda it: grader_feats("off")(it) + ref_feats(it), train, binary))
    out.append(logistic_scorer("reference mode (grader + reference features), guards on", lambda it: grader_feats("on")(it) + ref_feats(it), train, binary))
    knn = lambda it: [it.features.get("knn_correct", 0.0), it.features.get("knn_wrong", 0.0)]  # noqa: E731
    out.append(logistic_scorer(SUPERVISED, lambda it: grader_feats("on")(it) + ref_feats(it) + knn(it), train, binary))
    return out


# --------------------------------------------------------------------- reports
def semeval_table(corpora: dict[str, list[Item]]) -> list[str]:
    columns: list[tuple[str, str]] = [(c, s) for c, splits in SEMEVAL.items() if c in corpora for s in splits[1:]]
    scorers = {c: build_scorers([it for it in corpora[c] if it.split == "train"], binary=True) for c in SEMEVAL if c in corpora}
    names = [s.name for s in next(iter(scorers.values()))]
    head = " | ".join(f"{'SEB' if c == 'sciEntsBank' else 'Beetle'} {SHORT[s]}" for c, s in columns)
    lines = [
        "### SemEval-2013 Task 7, 2-way (correct vs not): macro-F1 / accuracy",
        "",
        f"| method | {head} | contradictory: acc. |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    for i, name in enumerate(names):
        cells = []
        contra_ok = contra_n = 0
        for c, s in columns:
            sc = scorers[c][i]
            items = [it for it in corpora[c] if it.split == s]
            if not items or (sc.name == SUPERVISED and SHORT[s] != "UA"):
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
        contra = f"{contra_ok / contra_n:.3f} (n={contra_n})" if contra_n and sc.name != SUPERVISED else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {contra} |")
    lines += ["", "Reference points (SciEntsBank, unseen answers, macro-F1):", ""]
    lines += [f"- {what}: {value}" for what, value in REFERENCE_POINTS]
    thresholds = {c: {s.name: s.threshold for s in scs} for c, scs in scorers.items()}
    lines += ["", "Thresholds fitted on train: " + "; ".join(f"{c}: " + ", ".join(f"{n.split(',')[0].split(' (')[0]} {t:.3f}" for n, t in th.items() if t is not None) for c, th in thresholds.items())]
    return lines


def saf_table(items: list[Item]) -> list[str]:
    scorers = build_scorers([it for it in items if it.split == "training"], binary=False)
    splits = [s for s in SAF_SPLITS if s != "training"]
    lines = [
        "### SAF (English), scores in [0, 1]: Pearson / Spearman / MAE / RMSE",
        "",
        "| method | " + " | ".join(f"SAF {SHORT[s]}" for s in splits) + " |",
        "|---|" + "---|" * len(splits),
    ]
    for sc in scorers:
        cells = []
        for s in splits:
            part = [it for it in items if it.split == s]
            if len(part) < 3 or (sc.name == SUPERVISED and SHORT[s] != "UA"):
                cells.append("–")
                continue
            m = label_metrics(sc.scores(part), [it.gold for it in part], scale=(0.0, 1.0))
            cells.append(f"{m['pearson']:.3f} / {m['spearman']:.3f} / {m['mae']:.3f} / {m['rmse']:.3f}")
        lines.append(f"| {sc.name} | " + " | ".join(cells) + " |")
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

    encoder = CachedEncoder(SentenceTransformerEncoder(args.model), args.cache or default_cache_dir() / "benchmarks", progress=not args.quiet)
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
