"""Accuracy, speed and size of the diacritic restorer (grader/text/restore/).

    python benchmarks/restore_accuracy.py                # the shipped model
    python benchmarks/restore_accuracy.py --vicorrect DIR  # also vicorrect (PyPI), trained on the same text

Held-out sentences (one in ten by a hash, never seen by the model; see
``grader.train.corpus.split_of``) of the rubrics and of VLSP2013 are stripped
of their diacritics (đ → d) and restored; the graded answers of ``fixtures/`` (never
used to build the model) are a third set: their Vietnamese and mixed answers stripped,
and their real unmarked twins (typed without marks, with shorthand) against the marked
answer they copy. Accuracy is the share of words restored exactly:

* ``all``: every word (English terms count too: they must stay as they are),
* ``decision``: words whose unmarked form has two or more possible readings,
* ``sentences``: sentences with every word right.

The unigram baseline writes each word's most frequent marked form. The marked-text
check says why, in a text typed with marks, only the words that cannot be right as typed
(and sentences typed wholly without marks) are restored.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from grader.text.normalize import fold, strip_diacritics
from grader.text.restore import (
    MODEL_PATH,
    RestoreModel,
    is_marked,
    load_model,
    restore,
    tokenize,
)
from grader.train.corpus import held_out, rubric_sentences, vlsp_tagged

ROOT = Path(__file__).resolve().parent.parent
Restorer = Callable[[str], str]


@dataclass
class Score:
    """Counts of one restorer on one set."""

    words: int = 0
    right: int = 0
    decision: int = 0
    decision_right: int = 0
    sentences: int = 0
    sentences_right: int = 0
    errors_by_tag: Counter[str] = field(default_factory=Counter)
    words_by_tag: Counter[str] = field(default_factory=Counter)
    error_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)

    def row(self) -> str:
        return (
            f"{100 * self.right / max(self.words, 1):6.2f}  {100 * self.decision_right / max(self.decision, 1):8.2f}"
            f"  {100 * self.sentences_right / max(self.sentences, 1):9.2f}"
        )


def needs_decision(model: RestoreModel, word: str) -> bool:
    """Whether the unmarked ``word`` has two or more readings (marked forms, or kept as English)."""
    low = strip_diacritics(word).lower()
    readings = {model.vocab[i] for i in model.candidates.get(low, ())}
    if low in model.english or not readings:
        readings.add(low)
    return len(readings) > 1


def score(
    model: RestoreModel, restorer: Restorer, sentences: Sequence[str], tags: Sequence[Sequence[str]] | None = None
) -> Score:
    """Strip each sentence, restore it, compare word by word (a word read as a typo of a syllable of another
    length shifts the rest: the words are then paired in order)."""
    sc = Score()
    for k, ref in enumerate(sentences):
        out = restorer(strip_diacritics(ref))
        words = [t for t in tokenize(ref) if t.kind == "word"]
        if len(out) == len(ref):
            got_words = [out[t.start : t.end] for t in words]
        else:
            got_words = [t.text for t in tokenize(out) if t.kind == "word"]
            if len(got_words) != len(words):
                raise AssertionError(f"restoration changed the words: {ref!r} -> {out!r}")
        ok = True
        for j, t in enumerate(words):
            got, want = got_words[j], ref[t.start : t.end]
            hit = got.lower() == want.lower()
            sc.words += 1
            sc.right += hit
            if needs_decision(model, want):
                sc.decision += 1
                sc.decision_right += hit
            if tags is not None and j < len(tags[k]):
                sc.words_by_tag[tags[k][j]] += 1
                sc.errors_by_tag[tags[k][j]] += not hit
            if not hit:
                sc.error_pairs[(want.lower(), got.lower())] += 1
                ok = False
        sc.sentences += 1
        sc.sentences_right += ok
    return sc


def unigram_restorer(model: RestoreModel) -> Restorer:
    """The baseline: every word that is a syllable becomes its most frequent marked form."""

    def run(text: str) -> str:
        chars = list(text)
        for t in tokenize(text):
            cands = model.candidates.get(t.text.lower()) if t.kind == "word" else None
            if cands:
                best = model.vocab[cands[0]]
                for i, (a, b) in enumerate(zip(t.text, best)):
                    chars[t.start + i] = b.upper() if a.isupper() else b
        return "".join(chars)

    return run


def lm_restorer(model: RestoreModel) -> Restorer:
    """The shipped restorer, forced to restore (the detection is measured apart)."""
    return lambda text: restore(text, mode="full", model=model, shorthand={}).text


def vicorrect_restorer(source: Path, training: Sequence[str]) -> Restorer:
    """vicorrect 0.0.8 (PyPI, an n-gram corrector without a shipped model) trained on ``training``.

    Its nltk tokenizers need punkt data from the network: whitespace splitting stands in."""
    import types

    nltk = types.ModuleType("nltk")
    tok = types.ModuleType("nltk.tokenize")
    tok.word_tokenize = lambda s: s.split()  # type: ignore[attr-defined]
    tok.sent_tokenize = lambda s: [s]  # type: ignore[attr-defined]
    nltk.tokenize = tok  # type: ignore[attr-defined]
    sys.modules.setdefault("nltk", nltk)
    sys.modules.setdefault("nltk.tokenize", tok)
    sys.path.insert(0, str(source))
    from vicorrect.model import CorrectVietnameseSentence  # type: ignore[import-not-found]

    corrector = CorrectVietnameseSentence(verbose=False)
    lines = [" ".join(t.text.lower() for t in tokenize(s) if t.kind == "word") for s in training]
    corrector.fit([line for line in lines if line])  # it fails on an empty line

    def run(text: str) -> str:
        words = [t for t in tokenize(text) if t.kind == "word"]
        if not words:
            return text
        guess = corrector.predict([" ".join(t.text.lower() for t in words)], [5], 1)[0][0].split()
        chars = list(text)
        for t, g in zip(words, guess):
            if len(g) == len(t.text) and fold(g) == fold(t.text):
                for i, (a, b) in enumerate(zip(t.text, g)):
                    chars[t.start + i] = b.upper() if a.isupper() else b
        return "".join(chars)

    return run


def fixture_answers() -> tuple[list[str], list[tuple[str, str]]]:
    """Marked Vietnamese/mixed answers of the fixtures, and (unmarked twin, its marked answer) pairs."""
    rows = []
    for path in sorted((ROOT / "fixtures").rglob("*.csv")):
        with path.open(encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    by_id = {r["answer_id"]: r for r in rows}
    marked = [r["answer"] for r in rows if r.get("form") in ("vi", "mixed") and r["answer"].strip()]
    twins = [
        (r["answer"], by_id[r["twin_of"]]["answer"])
        for r in rows
        if r.get("form") == "vi_nodiac" and r.get("twin_of") in by_id and is_marked(by_id[r["twin_of"]]["answer"])
    ]
    return marked, twins


def fixture_forms() -> list[tuple[str, str]]:
    """(language form, answer) of every fixture answer."""
    rows = []
    for path in sorted((ROOT / "fixtures").rglob("*.csv")):
        with path.open(encoding="utf-8") as f:
            rows += [(r.get("form", ""), r["answer"]) for r in csv.DictReader(f)]
    return rows


def twin_accuracy(pairs: Sequence[tuple[str, str]], restorer: Restorer) -> tuple[float, float, int]:
    """Restore each real unmarked answer and compare with its marked twin, on the words that align
    (same letters once folded); returns (accuracy, share of words aligned, words)."""
    right = aligned = total = 0
    for typed, twin in pairs:
        got = [t.text.lower() for t in tokenize(restorer(typed)) if t.kind == "word"]
        want = [t.text.lower() for t in tokenize(twin) if t.kind == "word"]
        total += len(want)
        sm = difflib.SequenceMatcher(a=[fold(w) for w in got], b=[fold(w) for w in want], autojunk=False)
        for block in sm.get_matching_blocks():
            for i in range(block.size):
                aligned += 1
                right += got[block.a + i] == want[block.b + i]
    return right / max(aligned, 1), aligned / max(total, 1), total


def typo_check(model: RestoreModel, sentences: Sequence[str], share: float = 0.125, seed: int = 7) -> tuple[float, float, int]:
    """Stripped sentences with one syllable in eight (three letters or more) given a one-edit typo (a letter
    dropped, swapped with the next, replaced or added, seeded): (share of the typo'd syllables restored to the
    original, share of the other words right, number of typos)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def typo(w: str) -> str:
        i, op = rng.randrange(len(w)), rng.randrange(4)
        if op == 0:
            return w[:i] + w[i + 1 :]
        if op == 1 and i < len(w) - 1:
            return w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        if op == 2:
            return w[:i] + rng.choice(letters) + w[i + 1 :]
        return w[:i] + rng.choice(letters) + w[i:]

    hit = typos = right = others = 0
    for sentence in sentences:
        words = sentence.split()
        typed = [strip_diacritics(w) for w in words]
        changed = set()
        for k, w in enumerate(typed):
            if w.isalpha() and w.islower() and len(w) >= 3 and w != words[k].lower() and rng.random() < share:
                t = typo(w)
                if t != w:
                    typed[k] = t
                    changed.add(k)
        out = restore(" ".join(typed), model=model).text.split()
        if len(out) != len(words):
            continue
        for k, (o, w) in enumerate(zip(out, words)):
            if k in changed:
                typos, hit = typos + 1, hit + (o == w)
            else:
                others, right = others + 1, right + (o == w)
    return hit / max(typos, 1), right / max(others, 1), typos


def marked_text_check(model: RestoreModel, sentences: Sequence[str]) -> dict[str, float]:
    """On marked text with one syllable in ten stripped (the rest typed right): accuracy of leaving
    it alone, of restoring only its bare words that cannot be right as typed, and of restoring all bare words."""
    results = {}
    stripped_texts, refs = [], []
    for s in sentences:
        words = [t for t in tokenize(s) if t.kind == "word"]
        chars = list(s)
        for t in words:
            if is_marked(t.text) and int(hashlib.sha1(f"{s}|{t.start}".encode()).hexdigest()[:4], 16) % 10 == 0:
                chars[t.start : t.end] = strip_diacritics(t.text)
        stripped_texts.append("".join(chars))
        refs.append(s)
    for name, fn in (
        ("left alone", lambda x: x),
        ("marked mode", lambda x: restore(x, mode="marked", model=model, shorthand={}).text),
        ("full mode", lambda x: restore(x, mode="full", model=model, shorthand={}).text),
    ):
        right = total = 0
        for typed, ref in zip(stripped_texts, refs):
            out = fn(typed)
            for t in tokenize(ref):
                if t.kind == "word":
                    total += 1
                    right += out[t.start : t.end].lower() == t.text.lower()
        results[name] = right / total
    untouched = sum(restore(s, mode="marked", model=model, shorthand={}).text == s for s in sentences)
    results["fully marked sentences left unchanged by marked mode"] = untouched / len(sentences)
    return results


def right_words_changed(model: RestoreModel, texts: Sequence[str], mode: str) -> tuple[int, int]:
    """Words of marked texts (taken as right) that restoring in ``mode`` changes, and all words."""
    changed = total = 0
    for text in texts:
        out = restore(text, mode=mode, model=model, shorthand={}).text  # type: ignore[arg-type]
        for t in tokenize(text):
            if t.kind == "word":
                total += 1
                changed += out[t.start : t.end] != t.text
    return changed, total


def speed(model: RestoreModel, answers: Sequence[str]) -> tuple[float, float]:
    """Median and 90th-percentile milliseconds to restore one answer, scaled to 60 words."""
    per60 = []
    for text in answers:
        n = sum(1 for t in tokenize(text) if t.kind == "word")
        best = min(_timed(partial(restore, text, model=model)) for _ in range(3))
        per60.append(best * 60 / max(n, 1))
    per60.sort()
    return statistics.median(per60) * 1000, per60[int(0.9 * (len(per60) - 1))] * 1000


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def load_cost() -> tuple[float, float]:
    """Seconds to import the module (the ``grader`` package already imported) and to load the
    model and the shorthand table, in a fresh interpreter."""
    code = (
        "import time, grader; t0 = time.perf_counter(); import grader.text.restore as r; t1 = time.perf_counter(); "
        "r.load_model(); r.load_shorthand(); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
    )
    runs = [
        tuple(
            map(
                float,
                subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(),
            )
        )
        for _ in range(3)
    ]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vicorrect", type=Path, help="folder holding vicorrect's source (pip download vicorrect)")
    parser.add_argument("--errors", type=int, default=12, help="how many frequent errors to list per set")
    args = parser.parse_args(argv)

    model = load_model()
    tagged = vlsp_tagged()
    test = set(held_out([s for s, _ in tagged]))
    vlsp_test = [(s, tags) for s, tags in tagged if s in test]
    sets: dict[str, tuple[list[str], list[list[str]] | None]] = {
        "rubrics (held out)": (held_out(rubric_sentences()), None),
        "VLSP2013 (held out)": ([s for s, _ in vlsp_test], [t for _, t in vlsp_test]),
    }
    marked_answers, twins = fixture_answers()
    sets["fixture answers, marks stripped"] = (marked_answers, None)

    restorers: dict[str, Restorer] = {
        "unigram baseline": unigram_restorer(model),
        "trigram LM (shipped)": lm_restorer(model),
    }
    if args.vicorrect:
        from grader.train.corpus import training, vlsp_sentences

        train = training(vlsp_sentences()) + training(rubric_sentences())
        restorers["vicorrect 0.0.8"] = vicorrect_restorer(args.vicorrect, train)

    print("Syllable accuracy (%): all words | words needing a decision | whole sentences")
    print(f"{'set':34} {'restorer':22} {'words':>6} {'all':>6}  {'decision':>8}  {'sentences':>9}  ms/sentence")
    results: dict[tuple[str, str], Score] = {}
    for set_name, (sentences, tags) in sets.items():
        for r_name, fn in restorers.items():
            t = time.perf_counter()
            sc = score(model, fn, sentences, tags)
            ms = (time.perf_counter() - t) * 1000 / max(len(sentences), 1)
            results[(set_name, r_name)] = sc
            print(f"{set_name:34} {r_name:22} {sc.words:6d} {sc.row()}  {ms:8.2f}")

    acc, share, n = twin_accuracy(twins, lambda x: restore(x, model=model).text)
    base_acc, _, _ = twin_accuracy(twins, lambda x: x)
    print(
        f"\nReal unmarked fixture twins ({len(twins)} answers, {n} words, {100 * share:.1f}% aligned with the marked twin):"
        f" restored (auto mode, shorthand on) {100 * acc:.2f}% of aligned words right; left as typed {100 * base_acc:.2f}%"
    )

    forms: Counter[tuple[str, str]] = Counter()
    for form, text in fixture_forms():
        forms[(form, restore(text, model=model).mode)] += 1
    print(
        "Detection on the fixture answers (form -> mode: answers): "
        + ", ".join(f"{f} -> {m}: {n}" for (f, m), n in sorted(forms.items()))
    )

    print("\nVLSP errors by part of speech (trigram LM): tag words errors%")
    sc = results[("VLSP2013 (held out)", "trigram LM (shipped)")]
    for tag, n_words in sc.words_by_tag.most_common(10):
        print(f"  {tag:5} {n_words:6d} {100 * sc.errors_by_tag[tag] / n_words:6.2f}")
    for set_name in sets:
        pairs = results[(set_name, "trigram LM (shipped)")].error_pairs.most_common(args.errors)
        print(
            f"\nMost frequent errors, {set_name} (wanted -> got):", ", ".join(f"{w}->{g} x{c}" for (w, g), c in pairs)
        )

    typo_set = held_out(rubric_sentences()) + [s for s, _ in vlsp_test][:1500]
    fixed, right, n_typos = typo_check(model, typo_set)
    print(
        f"\nTypos (held-out rubric and VLSP sentences stripped, one syllable in eight given a one-edit typo): "
        f"{100 * fixed:.1f}% of {n_typos} typo'd syllables restored to the original, {100 * right:.2f}% of the other words right"
    )

    print("\nMarked text (held-out rubric sentences, one marked syllable in ten stripped): word accuracy")
    for name, value in marked_text_check(model, held_out(rubric_sentences())).items():
        print(f"  {name:55} {100 * value:6.2f}%")

    for mode in ("marked", "full"):
        changed, total = right_words_changed(model, marked_answers, mode)
        print(f"  right words of the marked fixture answers changed by {mode} mode: {changed}/{total}")

    unmarked = [a for a, _ in twins] + [strip_diacritics(a) for a in marked_answers]
    med, p90 = speed(model, unmarked)
    imp, load = load_cost()
    print(
        f"\nSpeed: {med:.2f} ms median, {p90:.2f} ms p90 per 60-word answer ({len(unmarked)} fixture answers, auto mode)"
    )
    print(
        f"Model: {MODEL_PATH.stat().st_size / 1e6:.2f} MB on disk; module import {1000 * imp:.0f} ms, load {1000 * load:.0f} ms"
    )
    print(f"Model counts: {model.meta.get('counts')}")


if __name__ == "__main__":
    main()
