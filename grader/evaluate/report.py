"""The Markdown reports ``grader evaluate`` prints: graded fixtures, and labelled answer sets."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from grader.evaluate.fixtures import Fixture
from grader.evaluate.metrics import LENGTH_MATCH, agreement, label_metrics, length_scores, pair_ranking, point_precision_recall, twin_gaps
from grader.evaluate.plot import plot_calibration
from grader.result import GradeResult
from grader.score.calibration import Calibration


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def evaluation_report(fixtures: Sequence[Fixture], results: Sequence[GradeResult], title: str = "") -> str:
    """The table ``grader evaluate`` prints."""
    scores = [r.score for r in results]
    ours = agreement(fixtures, scores)
    control = agreement(fixtures, length_scores(fixtures))
    precision, recall = point_precision_recall(fixtures, results)
    gaps = twin_gaps(fixtures, scores)
    lines = [f"## {title or 'evaluation'} ({ours.n} answers)", "", "| figure | grader | length alone |", "|---|---|---|"]
    lines.append(f"| Pearson | {ours.pearson:.3f} | {control.pearson:.3f} |")
    lines.append(f"| Spearman | {ours.spearman:.3f} | {control.spearman:.3f} |")
    lines.append(f"| MAE | {ours.mae:.3f} | {control.mae:.3f} |")
    lines.append(f"| partial > wrong pairs | {ours.pair_ranking:.3f} | {control.pair_ranking:.3f} |")
    matched = (pair_ranking(fixtures, scores, LENGTH_MATCH), pair_ranking(fixtures, length_scores(fixtures), LENGTH_MATCH))
    lines.append(f"| … of equal length (words within x{LENGTH_MATCH:g}) | {matched[0]:.3f} | {matched[1]:.3f} |")
    lines.append(f"| covered precision / recall | {precision:.3f} / {recall:.3f} | |")
    if gaps:
        within = sum(g <= 0.1 for g in gaps) / len(gaps)
        lines.append(f"| no-diacritics twin gap: mean / max / within 0.10 | {np.mean(gaps):.3f} / {max(gaps):.3f} / {within:.2f} | |")
    lines += ["", "| kind | n | mean score | mean human |", "|---|---|---|---|"]
    for kind, mean in ours.by_kind.items():
        members = [f for f in fixtures if f.kind == kind]
        lines.append(f"| {kind} | {len(members)} | {mean:.3f} | {np.mean([f.human_score for f in members]):.3f} |")
    forms: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(fixtures):
        forms[f.form].append(i)
    lines += ["", "| form | n | Pearson | MAE |", "|---|---|---|---|"]
    for form, idx in sorted(forms.items()):
        sub = agreement([fixtures[i] for i in idx], [scores[i] for i in idx])
        lines.append(f"| {form} | {sub.n} | {sub.pearson:.3f} | {sub.mae:.3f} |")
    return "\n".join(lines)


def labelled_report(
    results: Sequence[GradeResult],
    human: Sequence[float],
    *,
    calibration: Calibration | None = None,
    plot_path: str | os.PathLike[str] | None = None,
    bins: int = 5,
    title: str = "evaluation",
    signature: str = "",
) -> str:
    """The Markdown report of :func:`~grader.evaluate.labelled.evaluate_labelled` for already graded answers."""
    labels = sorted(set(human))
    lo, hi = (calibration.scale_min, calibration.scale_max) if calibration is not None else (labels[0], labels[-1])
    label_set = labels if len(labels) <= 11 else None
    span = hi - lo
    lengths = np.array([len(r.answer) for r in results], dtype=float)
    columns: dict[str, tuple[list[float], float | None]] = {
        "grader": ([lo + r.score * span for r in results], None),
    }
    if calibration is not None:
        t = calibration.to_scale(calibration.threshold) if calibration.threshold is not None else None
        columns["grader + calibration"] = ([calibration.predict(r) for r in results], t)
    columns["length alone"] = (list(lo + span * lengths / lengths.max()) if lengths.max() > 0 else [lo] * len(results), None)
    figures = {name: label_metrics(p, human, labels=label_set, scale=(lo, hi), threshold=t, bins=bins) for name, (p, t) in columns.items()}
    kind = "binary" if len(labels) == 2 else f"{len(labels)} levels" if label_set else "continuous"
    lines = [
        f"## {title} ({len(results)} answers; human scores {kind}, {lo:g} to {hi:g})",
        "",
        "| figure | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    rows = [("Pearson", "pearson"), ("Spearman", "spearman"), ("MAE", "mae"), ("RMSE", "rmse")]
    qwk_name = f"QWK ({len(labels)} labels)" if label_set else f"QWK ({bins} bins)"
    rows.append((qwk_name, "qwk"))
    if len(labels) == 2:
        rows += [("accuracy", "accuracy"), ("macro-F1", "macro_f1")]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(_fmt(figures[c].get(key, float("nan"))) for c in columns) + " |")
    lines += ["", f"mean score: grader {np.mean(columns['grader'][0]):.3f}, human {np.mean(human):.3f}"]
    flags: dict[str, int] = {}
    for r in results:
        for f in r.flags:
            flags[f] = flags.get(f, 0) + 1
    if flags:
        lines.append("flags: " + ", ".join(f"{k} {v}" for k, v in sorted(flags.items())))
    if plot_path is not None:
        series = {name: p for name, (p, _) in columns.items() if name != "length alone"}
        out = plot_calibration(series, human, plot_path, title=title)
        lines.append(f"calibration plot: {out}")
    if signature:
        lines.append(f"signature: {signature}")
    return "\n".join(lines)
