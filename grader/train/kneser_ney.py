"""Interpolated modified Kneser-Ney trigram estimation (Chen & Goodman), stored in backoff form.

Pure Python over integer ids; :mod:`grader.train.restorer` builds the restorer's model with it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from grader.text.restore.model import BOS, EOS

UNIFORM_MASS = 0.002  # unigram mass spread over the whole inventory (syllables seen only in Viet74K)


def _discounts(counts: Iterable[int]) -> tuple[float, float, float]:
    # Modified Kneser-Ney discounts for counts 1, 2 and 3+ (Chen & Goodman).
    n = Counter(min(c, 4) for c in counts)
    n1, n2, n3, n4 = (max(n[i], 1) for i in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2)
    return (
        min(max(1 - 2 * y * n2 / n1, 0.05), 0.95),
        min(max(2 - 3 * y * n3 / n2, 0.05), 1.95),
        min(max(3 - 4 * y * n4 / n3, 0.05), 2.95),
    )


def _d(c: int, ds: tuple[float, float, float]) -> float:
    return ds[0] if c == 1 else ds[1] if c == 2 else ds[2]


@dataclass
class KneserNey:
    """A trigram model in backoff form, natural logs: ``tri[(u*V+v)*V+w]`` = log P(w | u, v) for seen
    trigrams, else ``bow2[u*V+v]`` + (``bi[v*V+w]`` = log P(w | v) if seen, else ``bow1[v]`` + ``uni[w]``)."""

    uni: list[float]
    bow1: list[float]
    bi: dict[int, float]
    bow2: dict[int, float]
    tri: dict[int, float]
    tokens: int

    def counts(self) -> dict[str, int]:
        """Sizes of the tables, for the file's header."""
        return {"trigrams": len(self.tri), "bigrams": len(self.bi), "contexts": len(self.bow2), "tokens": self.tokens}


def kneser_ney(
    sequences: Iterable[list[int]],
    vocab_size: int,
    dictionary_unigrams: Counter[int],
    prune: float = 0.0,
) -> KneserNey:
    """Interpolated modified Kneser-Ney trigram model, stored in backoff form (natural logs).

    The unigram mass freed by discounting goes to the syllables by their frequency in
    ``dictionary_unigrams`` (Viet74K), and a little uniformly, so a syllable the text never
    shows is still a candidate. A trigram seen once whose probability is within ``prune``
    nats of its backoff estimate is left out (smaller, faster to load)."""
    c3: Counter[tuple[int, int, int]] = Counter()
    for seq in sequences:
        padded = [BOS, BOS, *seq, EOS]
        for i in range(2, len(padded)):
            c3[(padded[i - 2], padded[i - 1], padded[i])] += 1

    # Continuation counts: distinct left neighbours.
    cc2: Counter[tuple[int, int]] = Counter()
    for u, v, w in c3:
        cc2[(v, w)] += 1
    cc1: Counter[int] = Counter()
    for v, w in cc2:
        cc1[w] += 1

    d3, d2, d1 = _discounts(c3.values()), _discounts(cc2.values()), _discounts(cc1.values())

    # Unigrams: discounted continuation counts, the freed mass spread by the dictionary and uniformly.
    total1 = sum(cc1.values())
    freed = sum(_d(c, d1) for c in cc1.values()) / total1
    dict_total = sum(dictionary_unigrams.values()) or 1
    uni = []
    for w in range(vocab_size):
        p = max(cc1.get(w, 0) - _d(cc1.get(w, 0), d1), 0.0) / total1 if cc1.get(w) else 0.0
        p += (freed - UNIFORM_MASS) * dictionary_unigrams.get(w, 0) / dict_total + UNIFORM_MASS / (vocab_size - 1)
        uni.append(math.log(p) if w != BOS else -99.0)

    # Bigrams over continuation counts.
    ctx2_total: defaultdict[int, int] = defaultdict(int)
    ctx2_freed: defaultdict[int, float] = defaultdict(float)
    for (v, w), c in cc2.items():
        ctx2_total[v] += c
        ctx2_freed[v] += _d(c, d2)
    bi: dict[int, float] = {}
    for (v, w), c in cc2.items():
        gamma = ctx2_freed[v] / ctx2_total[v]
        bi[v * vocab_size + w] = math.log((c - _d(c, d2)) / ctx2_total[v] + gamma * math.exp(uni[w]))
    bow1 = [0.0] * vocab_size
    for v, t in ctx2_total.items():
        bow1[v] = math.log(ctx2_freed[v] / t)

    # Trigrams over raw counts.
    ctx3_total: defaultdict[tuple[int, int], int] = defaultdict(int)
    ctx3_freed: defaultdict[tuple[int, int], float] = defaultdict(float)
    for (u, v, w), c in c3.items():
        ctx3_total[(u, v)] += c
        ctx3_freed[(u, v)] += _d(c, d3)
    tri: dict[int, float] = {}
    for (u, v, w), c in c3.items():
        gamma = ctx3_freed[(u, v)] / ctx3_total[(u, v)]
        lower = bi.get(v * vocab_size + w)
        p2 = math.exp(lower) if lower is not None else math.exp(bow1[v] + uni[w])
        p3 = math.log((c - _d(c, d3)) / ctx3_total[(u, v)] + gamma * p2)
        if c == 1 and abs(p3 - math.log(gamma * p2)) < prune:
            continue
        tri[(u * vocab_size + v) * vocab_size + w] = p3
    bow2 = {u * vocab_size + v: math.log(ctx3_freed[(u, v)] / t) for (u, v), t in ctx3_total.items()}
    return KneserNey(uni, bow1, bi, bow2, tri, tokens=sum(c3.values()))

