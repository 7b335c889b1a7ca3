"""Labelled answer sets: reading them, caching their embeddings, grading and scoring them.

A *labelled CSV* holds answers with a human score, either for questions that
have a rubric (``question_id, answer, score``) or for questions given with a
reference answer (``question, reference_answer, answer, score``), which are
graded with a rubric drafted by :meth:`grader.rubric.Rubric.from_reference`.
The public benchmark CSVs (``question_id, question, reference_answer,
student_answer, gold_score``) are read with the defaults.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.evaluation import pearson, spearman

if TYPE_CHECKING:
    from grader.calibration import Calibration
    from grader.engine import Grader
    from grader.result import GradeResult
    from grader.rubric.schema import Rubric


class CachedEncoder:
    """An :class:`~grader.embedding.encoder.Encoder` that remembers every vector on disk.

    Vectors are stored in append-only shard files (``shard-NNNNN.npz``) in one
    folder per model id, keyed by a hash of the text, so an interrupted run
    keeps what it encoded and a second run encodes nothing it has seen.
    """

    def __init__(self, encoder, directory: str | os.PathLike[str], *, chunk: int = 512, progress: bool = False):  # type: ignore[no-untyped-def]
        self.encoder = encoder
        self.model_id: str = encoder.model_id
        self.directory = Path(directory) / hashlib.sha256(self.model_id.encode()).hexdigest()[:12]
        self.chunk = chunk
        self.progress = progress
        self._vectors: dict[str, np.ndarray] = {}
        self._dim = 0
        self.encoded = 0  # texts actually sent to the model by this object
        self._load()

    @staticmethod
    def key(text: str) -> str:
        """Cache key of a text."""
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    def _load(self) -> None:
        if not self.directory.is_dir():
            return
        for f in sorted(self.directory.glob("shard-*.npz")):
            try:
                with np.load(f, allow_pickle=False) as data:
                    keys, vecs = data["keys"], data["vectors"].astype(np.float32)
            except (OSError, ValueError, KeyError):
                continue  # a torn shard: its texts are encoded again
            for k, v in zip(keys.tolist(), vecs):
                self._vectors[k] = v
            if len(vecs):
                self._dim = vecs.shape[1]

    def _save(self, keys: list[str], vecs: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        n = len(list(self.directory.glob("shard-*.npz")))
        target = self.directory / f"shard-{n:05d}-{os.getpid()}.npz"
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        os.close(fd)
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(keys, dtype="<U32"), vectors=vecs.astype(np.float32))
        os.replace(tmp, target)

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (L2-normalised, one row per text), encoding only unseen texts."""
        keys = [self.key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._vectors and k not in missing:
                missing[k] = t
        todo = list(missing.items())
        for i in range(0, len(todo), self.chunk):
            part = todo[i : i + self.chunk]
            vecs = np.asarray(self.encoder.encode([t for _, t in part]), dtype=np.float32)
            for (k, _), v in zip(part, vecs):
                self._vectors[k] = v
            self._dim = vecs.shape[1]
            self.encoded += len(part)
            self._save([k for k, _ in part], vecs)
            if self.progress:
                print(f"  encoded {min(i + self.chunk, len(todo))}/{len(todo)} new texts", flush=True)
        if not keys:
            return np.zeros((0, self._dim or 1), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])


# ------------------------------------------------------------------ reading
# Column names tried in order when no name is given (case-insensitive); the first is the benchmarks' name.
COLUMN_CANDIDATES: dict[str, tuple[str, ...]] = {
    "question_id": ("question_id", "qid", "question id"),
    "question": ("question", "question_text", "prompt"),
    "reference": ("reference_answer", "reference", "model_answer", "ref_answer", "desired_answer"),
    "answer": ("student_answer", "answer", "response", "answer_text"),
    "score": ("gold_score", "human_score", "score", "grade", "mark"),
}
_FIXTURE_ONLY = ("kind", "form", "covers", "twin_of")


class LabelledInputError(ValueError):
    """A labelled CSV that cannot be read: missing columns, a bad score (names file and line)."""


@dataclass(frozen=True)
class LabelledRow:
    """One human-scored answer."""

    question_id: str
    question: str
    reference: str
    answer: str
    human: float
    line: int = 0


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def _pick(header: Sequence[str], role: str, given: str | None) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    if given is not None:
        if given.lower() not in lower:
            raise LabelledInputError(f"no column '{given}' (columns: {', '.join(header)})")
        return lower[given.lower()]
    for cand in COLUMN_CANDIDATES[role]:
        if cand in lower:
            return lower[cand]
    return None


def _csv_files(path: str | os.PathLike[str]) -> list[Path]:
    p = Path(path)
    return sorted(p.glob("*.csv")) if p.is_dir() else [p]


def looks_like_labelled(csv_path: str | os.PathLike[str]) -> bool:
    """Whether ``csv_path`` (a CSV, or a folder of them) is a labelled answer set rather than graded fixtures.

    Labelled: an answer column and a numeric score column, plus a question id or
    a question with its reference answer; fixture CSVs (``kind``, ``form``,
    ``covers`` ... columns) are not.
    """
    files = _csv_files(csv_path)
    if not files:
        return False
    for f in files:
        try:
            header = [h.strip().lower() for h in _header(f)]
        except (OSError, UnicodeDecodeError):
            return False
        if all(c in header for c in _FIXTURE_ONLY):
            return False
        if _pick(header, "answer", None) is None or _pick(header, "score", None) is None:
            return False
        has_id = _pick(header, "question_id", None) is not None
        has_ref = _pick(header, "question", None) is not None and _pick(header, "reference", None) is not None
        if not (has_id or has_ref):
            return False
    return True


def read_labelled(
    csv_path: str | os.PathLike[str],
    *,
    question_id_column: str | None = None,
    question_column: str | None = None,
    reference_column: str | None = None,
    answer_column: str | None = None,
    score_column: str | None = None,
    limit: int | None = None,
) -> list[LabelledRow]:
    """Rows of a labelled CSV (or of every CSV in a folder); columns default to :data:`COLUMN_CANDIDATES`."""
    out: list[LabelledRow] = []
    for f in _csv_files(csv_path):
        if not f.is_file():
            raise LabelledInputError(f"{f}: no such file")
        header = _header(f)
        cols = {
            "question_id": _pick(header, "question_id", question_id_column),
            "question": _pick(header, "question", question_column),
            "reference": _pick(header, "reference", reference_column),
            "answer": _pick(header, "answer", answer_column),
            "score": _pick(header, "score", score_column),
        }
        for role in ("answer", "score"):
            if cols[role] is None:
                names = " / ".join(COLUMN_CANDIDATES[role])
                raise LabelledInputError(f"{f}: no {role} column (looked for {names}; name it with --{role}-column)")
        if cols["question_id"] is None and (cols["question"] is None or cols["reference"] is None):
            raise LabelledInputError(f"{f}: needs a question_id column, or question and reference_answer columns")
        with f.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                raw = (row.get(cols["score"]) or "").strip()  # type: ignore[arg-type]
                try:
                    human = float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else float(raw)
                except ValueError:
                    raise LabelledInputError(f"{f}:{reader.line_num}: score '{raw}' is not a number") from None
                if math.isnan(human):
                    raise LabelledInputError(f"{f}:{reader.line_num}: score is NaN")

                def get(role: str) -> str:
                    c = cols[role]
                    return (row.get(c) or "").strip() if c else ""

                out.append(LabelledRow(get("question_id"), get("question"), get("reference"), row.get(cols["answer"]) or "", human, reader.line_num))  # type: ignore[arg-type]
                if limit is not None and len(out) >= limit:
                    return out
    return out


def _same(text: str) -> str:
    from grader.text.normalize import nfc

    return " ".join(nfc(text).split())


def _texts(bilingual: Any) -> set[str]:
    if bilingual is None:
        return set()
    return {_same(t) for t in (bilingual.vi, bilingual.en) if t}


def rubrics_for_rows(
    rows: Sequence[LabelledRow], rubrics: Sequence[Rubric] = (), *, optional: Sequence[Rubric] = ()
) -> tuple[list[Rubric], list[str]]:
    """The rubric set for ``rows`` and each row's rubric id.

    A row is graded with a rubric of ``rubrics`` when its question id names one,
    or when the row's question and reference are that rubric's question and model
    answer (a rubric drafted earlier, e.g. saved by ``grader calibrate
    --save-rubrics``, whose id is the question id made valid). ``optional``
    rubrics (e.g. the bundled ones) all join the set once a row without a
    reference names one of them. Other rows need a question and a reference
    answer and get a rubric drafted with :meth:`Rubric.from_reference`, one per
    distinct question and reference; its id is the row's question id made valid
    (``EM_45b`` → ``em_45b``, ``10.1`` → ``q_10_1``; a suffix when taken), or one
    derived from the question.
    """
    from grader.reference import draft_id, rubric_from_reference, sanitize_id

    known = {r.id: r for r in rubrics}
    spare = {r.id: r for r in optional if r.id not in known}
    by_text: dict[tuple[str, str], str] = {}
    for r in rubrics:
        for q in _texts(r.question):
            for a in _texts(r.model_answer):
                by_text.setdefault((q, a), r.id)
    drafted: dict[tuple[str, str], str] = {}
    out: list[Rubric] = list(rubrics)
    used = set(known) | set(spare)
    ids: list[str] = []
    for row in rows:
        has_ref = bool(row.question and row.reference)
        if row.question_id in spare and not has_ref:
            # the whole optional set joins, as a grader built on it (e.g. Grader.default()) would have it
            known.update(spare)
            out.extend(spare.values())
            spare = {}
        if row.question_id in known:
            ids.append(row.question_id)
            continue
        key = (_same(row.question), _same(row.reference))
        if key in by_text:
            ids.append(by_text[key])
            continue
        if not has_ref and row.question_id and sanitize_id(row.question_id) in known:
            ids.append(sanitize_id(row.question_id))
            continue
        if key not in drafted:
            if not has_ref:
                raise LabelledInputError(
                    f"line {row.line}: question id '{row.question_id}' has no rubric, and the row has no question and reference answer to draft one"
                )
            base = sanitize_id(row.question_id) if row.question_id else draft_id(row.question)
            rid, n = base, 1
            while rid in used:
                n += 1
                rid = f"{base[:60]}_{n}"
            used.add(rid)
            out.append(rubric_from_reference(row.question, row.reference, id=rid))
            drafted[key] = rid
        ids.append(drafted[key])
    return out, ids


GraderLike = Any  # a Grader, an Encoder, or a callable(rubrics) -> Grader


def grader_for_rows(
    grader_or_builder: GraderLike, rows: Sequence[LabelledRow], rubrics: Sequence[Rubric] = (), *, optional: Sequence[Rubric] = ()
) -> tuple[Grader, list[str]]:
    """A grader that knows every row's question, and each row's question id in it.

    ``grader_or_builder`` is a :class:`Grader` (used as is when it knows every
    question; otherwise its encoder and parameters grade the drafted rubrics),
    an encoder, or a callable that builds a grader from a rubric list.
    """
    from grader.engine import Grader

    if isinstance(grader_or_builder, Grader):
        g = grader_or_builder
        base = list(rubrics) or [r for r in g.rubrics.values() if any(row.question_id == r.id for row in rows)]
        if not rubrics and all(row.question_id in g.rubrics for row in rows):
            return g, [row.question_id for row in rows]
        rubric_set, ids = rubrics_for_rows(rows, base, optional=optional)
        return Grader(rubric_set, g.encoder, params=g.params), ids
    rubric_set, ids = rubrics_for_rows(rows, rubrics, optional=optional)
    if hasattr(grader_or_builder, "encode") and hasattr(grader_or_builder, "model_id"):
        return Grader(rubric_set, grader_or_builder), ids
    if callable(grader_or_builder):
        return grader_or_builder(rubric_set), ids
    raise TypeError("expected a Grader, an encoder, or a callable that builds a Grader from rubrics")


# ------------------------------------------------------------------ metrics
def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], k: int) -> float:
    """Cohen's kappa with quadratic weights between two ratings in ``0..k-1``."""
    if k < 2 or not len(a):
        return float("nan")
    observed = np.zeros((k, k))
    for i, j in zip(a, b):
        observed[i, j] += 1
    n = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    grid = np.arange(k)
    weights = (grid[:, None] - grid[None, :]) ** 2 / (k - 1) ** 2
    denom = float((weights * expected).sum())
    return float("nan") if denom == 0 else 1.0 - float((weights * observed).sum()) / denom


def discretise(values: Sequence[float], labels: Sequence[float] | None = None, scale: tuple[float, float] = (0.0, 1.0), bins: int = 5) -> tuple[list[int], int]:
    """Values as classes: the nearest of ``labels``, else ``bins`` equal bins over ``scale``; with the class count."""
    if labels:
        lab = sorted(labels)
        return [min(range(len(lab)), key=lambda i: (abs(v - lab[i]), i)) for v in values], len(lab)
    lo, hi = scale
    width = (hi - lo) or 1.0
    return [min(bins - 1, max(0, int((v - lo) / width * bins))) for v in values], bins


def macro_f1(pred: Sequence[int], gold: Sequence[int]) -> float:
    """Mean F1 over the classes present in ``gold`` or ``pred``."""
    classes = sorted(set(gold) | set(pred))
    scores = []
    for c in classes:
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        fp = sum(p == c and g != c for p, g in zip(pred, gold))
        fn = sum(p != c and g == c for p, g in zip(pred, gold))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def label_metrics(
    pred: Sequence[float],
    human: Sequence[float],
    *,
    labels: Sequence[float] | None = None,
    scale: tuple[float, float] | None = None,
    threshold: float | None = None,
    bins: int = 5,
) -> dict[str, float]:
    """Agreement of predictions with human scores, both on the human scale.

    Pearson, Spearman, MAE, RMSE, and quadratic weighted kappa after putting both
    on the label set (``labels``, if the labels are few) or into ``bins`` equal
    bins of ``scale``; for two labels also accuracy and macro-F1, a prediction
    counting as the high label at or above ``threshold`` (default: midway).
    """
    p = np.asarray(pred, dtype=float)
    h = np.asarray(human, dtype=float)
    if len(p) != len(h):
        raise ValueError("pred and human differ in length")
    lo, hi = scale if scale is not None else (float(h.min()), float(h.max())) if len(h) else (0.0, 1.0)
    out = {
        "n": float(len(p)),
        "pearson": pearson(p, h),
        "spearman": spearman(p, h),
        "mae": float(np.mean(np.abs(p - h))) if len(p) else float("nan"),
        "rmse": float(np.sqrt(np.mean((p - h) ** 2))) if len(p) else float("nan"),
    }
    pc, k = discretise(p, labels, (lo, hi), bins)
    hc, _ = discretise(h, labels, (lo, hi), bins)
    out["qwk"] = quadratic_weighted_kappa(hc, pc, k)
    if labels is not None and len(labels) == 2:
        t = threshold if threshold is not None else (labels[0] + labels[1]) / 2
        yp = [int(v >= t) for v in p]
        yh = [int(v >= (labels[0] + labels[1]) / 2) for v in h]
        out["accuracy"] = float(np.mean([a == b for a, b in zip(yp, yh)]))
        out["macro_f1"] = macro_f1(yp, yh)
    return out


# ------------------------------------------------------------------ plot
def plot_calibration(series: dict[str, Sequence[float]], human: Sequence[float], path: str | os.PathLike[str], *, title: str = "", bins: int = 10) -> Path:
    """Predicted vs human scores: one scatter and binned means per series, and the diagonal; written as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    h = np.asarray(human, dtype=float)
    lo, hi = float(h.min()), float(h.max())
    fig, ax = plt.subplots(figsize=(6, 5.5), dpi=100)
    rng = np.random.default_rng(0)
    jitter = (hi - lo or 1.0) * 0.015 * rng.standard_normal(len(h)) if len(set(h.tolist())) <= 21 else 0.0
    for (name, pred), colour in zip(series.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        p = np.asarray(pred, dtype=float)
        ax.scatter(p, h + jitter, s=8, alpha=0.25, color=colour)
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
        idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
        xs = [p[idx == b].mean() for b in range(len(edges) - 1) if (idx == b).any()]
        ys = [h[idx == b].mean() for b in range(len(edges) - 1) if (idx == b).any()]
        ax.plot(xs, ys, marker="o", color=colour, label=f"{name} (binned mean)")
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.set_xlabel("predicted score (human scale)")
    ax.set_ylabel("human score")
    ax.set_title(title or "calibration")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


# ------------------------------------------------------------------ evaluate
def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def evaluate_labelled(
    grader_or_builder: GraderLike,
    csv_path: str | os.PathLike[str],
    *,
    rubrics: Sequence[Rubric] = (),
    optional_rubrics: Sequence[Rubric] = (),
    calibration: Calibration | None = None,
    plot_path: str | os.PathLike[str] | None = None,
    bins: int = 5,
    title: str = "",
    limit: int | None = None,
    **columns: str | None,
) -> str:
    """Agreement of the grader with the human scores of a labelled CSV, as a Markdown report.

    ``grader_or_builder``, ``rubrics``, ``optional_rubrics``: see :func:`grader_for_rows`
    and :func:`rubrics_for_rows`. ``columns``: the
    ``*_column`` options of :func:`read_labelled`. With ``calibration`` the
    calibrated figures are shown beside the grader's own; with ``plot_path`` a
    calibration plot (predicted vs human) is written there as PNG.
    """
    rows = read_labelled(csv_path, limit=limit, **columns)  # type: ignore[arg-type]
    if not rows:
        raise LabelledInputError(f"{csv_path}: no rows")
    grader, ids = grader_for_rows(grader_or_builder, rows, rubrics, optional=optional_rubrics)
    results = grader.grade_many([(qid, r.answer) for qid, r in zip(ids, rows)])
    human = [r.human for r in rows]
    report = labelled_report(results, human, calibration=calibration, plot_path=plot_path, bins=bins, title=title or Path(csv_path).name, signature=grader.signature)
    if calibration is not None:
        report += "".join(f"\nwarning: {w}" for w in calibration.check(grader))
    return report


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
    """The Markdown report of :func:`evaluate_labelled` for already graded answers."""
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
