"""A rubric's probe: a linear classifier over sentence embeddings, learned from the rubric's own text.

Nearest-reference similarity treats every reference alike and every other text as equally far;
the probe instead learns, for one rubric, which directions of the embedding space tell its
points apart from each other, from their misconceptions, from denied or reversed copies of
their phrasings, and from everything else (the other questions' phrasings, generic sentences,
shuffled words, the question itself). Its classes:

* ``p:<id>``  the segment states point ``id``;
* ``c:<id>``  the segment contradicts point ``id`` (a denied or reversed copy of one of its phrasings);
* ``m:<id>``  the segment states misconception ``id``;
* ``list``    a bare list of terms (lists of the rubric's own keywords);
* ``salad``   words without sentence structure (shuffled copies of its phrasings);
* ``none``    anything else.

It is trained when the rubric is compiled (a regularised least-squares fit: one linear solve,
milliseconds, deterministic), so any rubric set gets one, the bundled 12 and a user's alike.
What costs time is embedding its few thousand training texts once; the probes of the bundled
rubrics ship fitted (``grader/data/probes.npz``, built by ``python -m grader.train.probes``), each
under the digest of its training texts and model, so a bundled rubric set compiles without them
and any change to a rubric (or to the generators) trains that rubric's probe afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import numpy as np

from grader.compile.augment import denied, hurried, is_vietnamese, reversed_claim, rng_for, shuffled, spoken, term_list, unmarked
from grader.rubric.schema import Rubric

NONE = "none"
LIST = "list"
SALAD = "salad"
LISTS_PER_RUBRIC = 60
# At most this many of the other questions' phrasings are used as this rubric's "none" examples.
MAX_OTHER_EXAMPLES = 400
RIDGE = 100.0  # the fit's L2 penalty, on standardised embedding dimensions
TEMPERATURE = 3.0  # scales the least-squares scores before the softmax
PROBE_VERSION = 2


def point_class(point_id: str) -> str:
    return f"p:{point_id}"


def contra_class(point_id: str) -> str:
    return f"c:{point_id}"


def misconception_class(misconception_id: str) -> str:
    return f"m:{misconception_id}"


def _statement_and_phrasings(item) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.statement.vi, item.statement.en, *item.phrasings.all()]


def copies_of(text: str) -> dict[str, str]:
    """The copies generated from one phrasing, by kind, each different from ``text``: ``unmarked`` (Vietnamese
    only), ``hurried`` and ``spoken`` still state it; ``denied`` and ``reversed`` contradict it; ``shuffled`` is
    word salad. The one list :func:`training_texts` and :func:`generated_from` read."""
    made = {
        "unmarked": unmarked(text) if is_vietnamese(text) else None,
        "hurried": hurried(text),
        "spoken": spoken(text),
        "denied": denied(text),
        "reversed": reversed_claim(text),
        "shuffled": shuffled(text),
    }
    return {kind: copy for kind, copy in made.items() if copy and copy != text}


def generated_from(text: str) -> set[str]:
    """``text`` and every copy :func:`training_texts` may generate from it (what leaving a phrasing out removes)."""
    return {text, *copies_of(text).values()}


def training_texts(rubric: Rubric, others: Sequence[str], background: Sequence[str]) -> list[tuple[str, str]]:
    """(text, class) examples for ``rubric``'s probe; ``others``: the other questions' point phrasings."""
    out: list[tuple[str, str]] = []
    for point in rubric.points:
        for text in _statement_and_phrasings(point):
            copies = copies_of(text)
            states, contradicts = point_class(point.id), contra_class(point.id)
            out.append((text, states))
            out.extend((copies[k], states) for k in ("unmarked", "hurried", "spoken") if k in copies)
            out.extend((copies[k], contradicts) for k in ("denied", "reversed") if k in copies)
            if "shuffled" in copies:
                out.append((copies["shuffled"], SALAD))
    for m in rubric.misconceptions:
        for text in _statement_and_phrasings(m):
            copies = copies_of(text)
            out.append((text, misconception_class(m.id)))
            out.extend((copies[k], misconception_class(m.id)) for k in ("spoken", "unmarked") if k in copies)
    terms = sorted({form for p in rubric.points for k in p.keywords for form in (k.term, *k.aliases)})
    if len(terms) >= 3:
        out.extend((term_list(terms, f"{rubric.id}:{i}"), LIST) for i in range(LISTS_PER_RUBRIC))
    pool = sorted(set(others))
    rng_for(rubric.id, "others").shuffle(pool)
    out.extend((t, NONE) for t in pool[:MAX_OTHER_EXAMPLES])
    out.extend((t, NONE) for t in background)
    out.extend((t, NONE) for t in (rubric.question.vi, rubric.question.en))
    return list(dict.fromkeys(out))  # a text generated twice with one label counts once


@dataclass(frozen=True)
class RubricProbe:
    """The fitted probe: ``proba(embeddings)`` gives each class's probability per row."""

    classes: tuple[str, ...]
    mean: np.ndarray  # (dim,) standardisation
    scale: np.ndarray  # (dim,)
    weights: np.ndarray  # (dim + 1, classes), the last row the intercept

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """Least-squares class scores (about +1 for the class, -1 for the others)."""
        x = (embeddings - self.mean) / self.scale
        return x @ self.weights[:-1] + self.weights[-1]

    def proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities, (rows, classes)."""
        s = TEMPERATURE * self.scores(embeddings)
        s = np.exp(s - s.max(axis=1, keepdims=True))
        return s / s.sum(axis=1, keepdims=True)

    def index(self, cls: str) -> int | None:
        """The column of ``cls``, or None if the rubric has no such class."""
        try:
            return self.classes.index(cls)
        except ValueError:
            return None


def fit_probe(examples: Sequence[tuple[str, str]], embed: Callable[[list[str]], np.ndarray]) -> RubricProbe:
    """Fit a probe on (text, class) ``examples``; ``embed`` maps texts to their embeddings."""
    texts = [t for t, _ in examples]
    labels = [c for _, c in examples]
    classes = tuple(sorted(set(labels)))
    x = np.asarray(embed(texts), dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    y = -np.ones((len(x), len(classes)))
    col = {c: i for i, c in enumerate(classes)}
    y[np.arange(len(x)), [col[c] for c in labels]] = 1.0
    penalty = RIDGE * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    weights = np.linalg.solve(z.T @ z + penalty, z.T @ y)
    return RubricProbe(classes, mean.astype(np.float32), scale.astype(np.float32), weights.astype(np.float32))


SHIPPED = "probes.npz"


def probe_digest(probes: Sequence[RubricProbe]) -> str:
    """A short hash of fitted probes (their classes and numbers), for result signatures."""
    h = hashlib.sha256()
    for p in probes:
        h.update("\x00".join(p.classes).encode())
        for a in (p.mean, p.scale, p.weights):
            h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()[:8]


def examples_digest(model_id: str, examples: Sequence[tuple[str, str]]) -> str:
    """What a probe was fitted from: the model, the probe's settings and its (text, class) examples."""
    body = json.dumps([model_id, PROBE_VERSION, RIDGE, TEMPERATURE, list(examples)], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def save_probes(path: Path | BinaryIO, probes: Mapping[str, RubricProbe]) -> None:
    """Write ``probes`` (digest -> probe) to one ``.npz`` file."""
    arrays: dict[str, np.ndarray] = {}
    for digest in sorted(probes):
        p = probes[digest]
        arrays[f"{digest}/classes"] = np.array(p.classes)
        arrays[f"{digest}/mean"], arrays[f"{digest}/scale"], arrays[f"{digest}/weights"] = p.mean, p.scale, p.weights
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_probes(source: Path | BinaryIO) -> dict[str, RubricProbe]:
    """The probes of a file written by :func:`save_probes`, by digest."""
    with np.load(source, allow_pickle=False) as data:
        digests = sorted({k.split("/")[0] for k in data.files})
        return {
            d: RubricProbe(
                tuple(str(c) for c in data[f"{d}/classes"]), data[f"{d}/mean"], data[f"{d}/scale"], data[f"{d}/weights"]
            )
            for d in digests
        }


@cache
def shipped_probes() -> dict[str, RubricProbe]:
    """The fitted probes of the bundled rubrics (empty if the file is absent)."""
    ref = resources.files("grader.data").joinpath(SHIPPED)
    if not ref.is_file():
        return {}
    with ref.open("rb") as f:
        return load_probes(f)
