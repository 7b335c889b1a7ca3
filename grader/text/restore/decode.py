"""Choosing each word's reading: a beam Viterbi search over each sentence with the trigram model.

English words, code, numbers and punctuation are classes of the model (``<en>``, ``<num>``,
``<p>``), so a Vietnamese run inside mixed text is restored in its context and the rest stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.text.restore.model import BOS, EN, EOS, NUM, PUNCT, RestoreModel
from grader.text.restore.readings import Context, Reading, case_like, variable_letters, word_readings
from grader.text.restore.shorthand import Shorthand
from grader.text.restore.spans import RestoreMode
from grader.text.restore.tokens import MATH, Token, is_marked, tokenize

# Paths kept per word. On the dev split, 8 comes within 0.05 points of 12, at half the time.
BEAM = 8


@dataclass
class _Slot:
    """One word of a sentence: its readings as (output or None to keep, model ids, log weight)."""

    token: Token
    readings: list[Reading]


def decode(model: RestoreModel, slots: list[_Slot | int]) -> list[int]:
    """Beam Viterbi over one sentence; ``slots`` mixes words and fixed ids (<en>, <num>, <p>).

    Returns the index of the chosen reading of each word slot. The model lookups are
    written out in the loop: this is where restoring spends its time."""
    V = len(model.vocab)
    tri, bi, bow2, bow1, uni = model.tri, model.bi, model.bow2, model.bow1, model.uni
    # state: (u, v, score, chosen readings so far)
    beam: list[tuple[int, int, int, tuple[int, ...]]] = [(BOS, BOS, 0, ())]
    for slot in slots:
        best: dict[tuple[int, int], tuple[int, int, int, tuple[int, ...]]] = {}
        if isinstance(slot, int):
            readings: list[Reading] = [(None, (slot,), 0)]
        else:
            readings = slot.readings
        word = not isinstance(slot, int)
        for u, v, score, back in beam:
            uv = u * V + v
            base = uv * V
            backoff2 = bow2.get(uv, 0)
            vbase = v * V
            backoff1 = bow1[v]
            for r, (_out, ids, weight) in enumerate(readings):
                w = ids[0]
                x = tri.get(base + w)
                if x is None:
                    y = bi.get(vbase + w)
                    x = backoff2 + (y if y is not None else backoff1 + uni[w])
                s = score + weight + x
                a, b = v, w
                for w in ids[1:]:  # a multi-word shorthand expansion
                    s += model.logp(a, b, w)
                    a, b = b, w
                old = best.get((a, b))
                if old is None or s > old[2]:
                    best[(a, b)] = (a, b, s, back + (r,) if word else back)
        beam = list(best.values())
        if len(beam) > BEAM:
            beam.sort(key=lambda st: -st[2])
            del beam[BEAM:]
    final = max(beam, key=lambda st: st[2] + model.logp(st[0], st[1], EOS))
    return list(final[3])


def restore_ops(
    text: str, model: RestoreModel, shorthand: dict[str, Shorthand], mode: RestoreMode
) -> list[tuple[int, int, str]]:
    """The replacements ``(start, end, new)`` that restore the NFC ``text`` in ``mode``, in order."""
    ctx = Context(model, shorthand, mode, text)
    tokens = tokenize(text)
    ops: list[tuple[int, int, str]] = []
    # One sentence: word tokens with their neighbours, or fixed model ids (<en>, <num>, <p>).
    sentence: list[tuple[Token, Token | None, Token | None] | int] = []
    terms: list[Token] = []  # the sentence's words and other chunks, for the letters its terms are named by

    def flush() -> None:
        words = [item for item in sentence if not isinstance(item, int)]
        # A sentence typed without marks inside a marked answer is restored like an unmarked answer.
        ctx.mode = mode
        if mode == "marked" and len(words) >= 3 and not any(is_marked(tok.text) for tok, _, _ in words):
            ctx.mode = "full"
        ctx.sentence_vietnamese = sum(ctx.vietnamese(tok) for tok, _, _ in words) >= 2
        ctx.sentence_variables = variable_letters(terms)
        slots: list[_Slot | int] = [
            item if isinstance(item, int) else _Slot(item[0], word_readings(ctx, *item)) for item in sentence
        ]
        word_slots = [s for s in slots if isinstance(s, _Slot)]
        if any(len(s.readings) > 1 for s in word_slots):
            choice = decode(model, slots)
        else:
            choice = [0] * len(word_slots)
        for slot, r in zip(word_slots, choice):
            out = slot.readings[r][0]
            if out is None:
                continue
            new = case_like(slot.token.text, out)
            if new != slot.token.text:
                ops.append((slot.token.start, slot.token.end, new))
        sentence.clear()
        terms.clear()

    # Neighbours for the shorthand rules skip plain punctuation; the model sees it as <p>.
    near = [i for i, t in enumerate(tokens) if t.kind != "punct" or t.text in MATH]
    rank = {i: k for k, i in enumerate(near)}
    for i, tok in enumerate(tokens):
        if tok.kind == "break":
            flush()
        elif tok.kind == "word":
            k = rank[i]
            prev = tokens[near[k - 1]] if k else None
            nxt = tokens[near[k + 1]] if k + 1 < len(near) else None
            sentence.append((tok, prev, nxt))
            terms.append(tok)
        elif tok.kind == "other":
            sentence.append(NUM if any(c.isdigit() for c in tok.text) else EN)
            terms.append(tok)
        else:
            sentence.append(PUNCT)
    flush()
    return ops

