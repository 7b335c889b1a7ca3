"""Agreement between computed and human scores on graded fixtures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import pearsonr, spearmanr

from grader.fixtures import WRONG_KINDS, Fixture
from grader.result import GradeResult


def _corr(fn, a: Sequence[float], b: Sequence[float]) -> float:  # type: ignore[no-untyped-def]
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(fn(a, b)[0])


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation; NaN for fewer than 3 values or a constant series."""
    return _corr(pearsonr, a, b)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation; NaN for fewer than 3 values or a constant series."""
    return _corr(spearmanr, a, b)


# "Equally long" in the length-matched pair ranking: word counts within this factor.
LENGTH_MATCH = 1.5


def pair_ranking(fixtures: Sequence[Fixture], scores: Sequence[float], length_ratio: float | None = None) -> float:
    """Share of same-question (honest partial, wrong) pairs in which the partial answer scores higher (ties: half).

    With ``length_ratio``, only pairs of about equal length count (the longer at most
    ``length_ratio`` times the shorter, in words): there length says nothing.
    """
    by_q: dict[str, tuple[list[tuple[float, int]], list[tuple[float, int]]]] = defaultdict(lambda: ([], []))
    for f, s in zip(fixtures, scores):
        n = max(1, len(f.answer.split()))
        if f.kind == "partial":
            by_q[f.question_id][0].append((s, n))
        elif f.kind in WRONG_KINDS:
            by_q[f.question_id][1].append((s, n))
    wins = total = 0.0
    for partial, wrong in by_q.values():
        for p, pn in partial:
            for w, wn in wrong:
                if length_ratio is not None and max(pn, wn) > length_ratio * min(pn, wn):
                    continue
                wins += 1.0 if p > w else 0.5 if p == w else 0.0
                total += 1
    return wins / total if total else float("nan")


@dataclass
class Agreement:
    """Agreement figures for one scorer."""

    n: int
    pearson: float
    spearman: float
    mae: float
    pair_ranking: float
    by_kind: dict[str, float] = field(default_factory=dict)


def agreement(fixtures: Sequence[Fixture], scores: Sequence[float]) -> Agreement:
    """Correlation, error, pair ranking and mean score per kind."""
    human = [f.human_score for f in fixtures]
    kinds: dict[str, list[float]] = defaultdict(list)
    for f, s in zip(fixtures, scores):
        kinds[f.kind].append(s)
    return Agreement(
        n=len(fixtures),
        pearson=pearson(scores, human),
        spearman=spearman(scores, human),
        mae=float(np.mean(np.abs(np.array(scores) - np.array(human)))) if fixtures else float("nan"),
        pair_ranking=pair_ranking(fixtures, scores),
        by_kind={k: float(np.mean(v)) for k, v in sorted(kinds.items())},
    )


def point_precision_recall(fixtures: Sequence[Fixture], results: Sequence[GradeResult]) -> tuple[float, float]:
    """Micro precision and recall of status 'covered' against the fixtures' covered points (wrong kinds included)."""
    tp = fp = fn = 0
    for f, r in zip(fixtures, results):
        for p in r.points:
            pred = p.status == "covered"
            gold = p.id in f.covers
            tp += pred and gold
            fp += pred and not gold
            fn += gold and not pred
    return (tp / (tp + fp) if tp + fp else float("nan"), tp / (tp + fn) if tp + fn else float("nan"))


def twin_gaps(fixtures: Sequence[Fixture], scores: Sequence[float]) -> list[float]:
    """|score(answer without diacritics) - score(same answer with them)| for each twin pair."""
    by_id = {f.answer_id: s for f, s in zip(fixtures, scores)}
    return [abs(s - by_id[f.twin_of]) for f, s in zip(fixtures, scores) if f.twin_of and f.twin_of in by_id]


def length_scores(fixtures: Sequence[Fixture]) -> list[float]:
    """The control scorer: answer length, scaled to [0, 1] within the set."""
    lengths = np.array([len(f.answer) for f in fixtures], dtype=float)
    return list(lengths / lengths.max()) if len(lengths) and lengths.max() > 0 else [0.0] * len(fixtures)


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
