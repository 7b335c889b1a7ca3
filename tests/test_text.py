"""Normalisation, language, segmentation, negation, keyword matching and structure guards (no model)."""

from __future__ import annotations

import unicodedata

import pytest

from grader.match.answer import keyword_list_score
from grader.text.keywords import FOLDED_CREDIT, CompiledKeyword, keyword_coverage, match_keyword, without_degree_adverbs
from grader.text.language import detect_language
from grader.text.negation import (
    claim_head,
    denies_belief,
    denies_benefit,
    contested_report,
    denies_prevention,
    in_condition,
    in_contested_report,
    is_counterfactual,
    is_negated,
    negation_cues,
    opens_with_break,
    scope_after,
    scope_before,
)
from grader.text.normalize import fold, normalize, normalize_tone_placement
from grader.text.segment import segment, split_sentences


def test_nfc_and_case():
    nfd = unicodedata.normalize("NFD", "Chuẩn Hóa")
    assert nfd != "Chuẩn Hóa"
    assert normalize(nfd) == "chuẩn hóa"


@pytest.mark.parametrize(
    ("old", "new"),
    [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Hoà bình", "Hòa bình"), ("hoàn", "hoàn"), ("quý", "quý"), ("quỳ", "quỳ")],
)
def test_tone_placement(old, new):
    assert normalize_tone_placement(old) == new


def test_fold_maps_d_and_strips_marks():
    assert fold("Đạo hàm ĐỒNG BỘ") == "dao ham dong bo"
    assert fold("chuẩn hoá") == fold("chuẩn hóa") == "chuan hoa"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Batch norm giúp mô hình hội tụ nhanh hơn.", "vi"),
        ("batch norm giup mo hinh hoi tu nhanh hon va on dinh hon", "vi_nodiac"),
        ("It normalises the activations of each layer so training is more stable.", "en"),
        ("BN normalizes the activations, it is a regularizer and it allows a higher learning rate, nó giúp hội tụ", "mixed"),
        ("", "unknown"),
    ],
)
def test_language(text, lang):
    assert detect_language(text) == lang


def test_segments_have_exact_offsets_and_clauses():
    text = "BN chuẩn hóa activation về zero mean. Nó giảm overfitting, v.v. nhưng không thay thế dropout!\n- cho phép dùng lr lớn hơn"
    segs = segment(text)
    for s in segs:
        assert text[s.start : s.end] == s.text
    sentences = [s.text for s in segs if s.kind == "sentence"]
    assert sentences == [
        "BN chuẩn hóa activation về zero mean.",
        "Nó giảm overfitting, v.v. nhưng không thay thế dropout!",
        "cho phép dùng lr lớn hơn",
    ]
    assert "nhưng không thay thế dropout!" in [s.text for s in segs if s.kind == "clause"]


def test_sentence_splitter_does_not_cut_tokens():
    text = "Mình lưu weight vào file .pth rồi gọi model.fit() trên np.array để train. Xong rồi."
    assert [s.text for s in segment(text) if s.kind == "sentence"] == [
        "Mình lưu weight vào file .pth rồi gọi model.fit() trên np.array để train.",
        "Xong rồi.",
    ]


def test_long_unpunctuated_text_is_windowed():
    text = " ".join(["gradient"] * 400)
    segs = segment(text)
    assert len(segs) > 1 and all(len(s.text) <= 600 for s in segs)


@pytest.mark.parametrize(
    ("text", "english", "negated"),
    [
        ("BN không giúp giảm overfitting", False, True),
        ("bn khong giup giam overfitting", False, True),
        ("BN chưa bao giờ là regularizer", False, True),
        ("Batch norm doesn't reduce overfitting", True, True),
        ("it is not a regularizer", True, True),
        ("BN không chỉ chuẩn hóa mà còn regularize", False, False),
        ("BN giup giam overfitting, no la regularizer", False, False),  # "no" is "nó" here
        ("no matter the batch size it works", True, False),
        ("BN giúp giảm overfitting", False, False),
        # "không" that is not a negation: the numeral, the question particle, "barely", compounds
        ("chuẩn hóa về trung bình bằng không và phương sai bằng một", False, False),
        ("gradient tiến về không", False, False),
        ("bằng không phải cách hay", False, True),
        ("BN có giúp giảm overfitting không?", False, False),
        ("output gần như không nhúc nhích", False, False),
        ("almost no gradient reaches the first layers", True, False),
        ("phân cụm không gian bằng k-means", False, False),
        ("không phải lúc nào accuracy cũng đủ", False, False),
    ],
)
def test_negation(text, english, negated):
    assert is_negated(text, english) is negated


@pytest.mark.parametrize(
    ("sentence", "counterfactual"),
    [
        ("Nếu không có hàm kích hoạt thì mạng chỉ là một hàm tuyến tính", True),
        ("Neu khong co ham kich hoat thi mang chi la tuyen tinh", True),
        ("Without activations, stacked layers collapse into one linear map", True),
        ("If you don't normalise, training is slow", True),
        ("Nếu dùng BN thì không giảm được overfitting", False),  # the negation denies the consequence
        ("If you use BN it does not reduce overfitting", False),
        ("BN không giúp giảm overfitting", False),
    ],
)
def test_counterfactual(sentence, counterfactual):
    assert is_counterfactual(sentence) is counterfactual


def test_negation_scope_stops_at_causes_and_consequences():
    # the negation describes the consequence, the cause is asserted
    assert claim_head("Gradient mất dần nên weight không cập nhật được") == "gradient mất dần "
    assert scope_before("không khả thi vì phải duyệt tuần tự") == " phải duyệt tuần tự"
    # ... unless the negation is aimed at the cause: "không phải vì", "not because"
    assert scope_before("không phải vì dữ liệu nhiều") == "không phải vì dữ liệu nhiều"
    assert scope_after(" cũng không giúp được gì, ensemble thì có") == "cũng không giúp được gì"
    assert scope_after(" a b c d e f g h") == "a b c d e f"  # at most NEGATION_AFTER_WORDS (6) words
    assert scope_after(" thì nó không bắt được quy luật") == ""
    # "thì" ends the scope after a condition only; otherwise it introduces the term's own comment
    assert in_condition("khi mô hình quá đơn giản") and not in_condition("recall")
    assert scope_after(" thì cũng không cho biết thêm gì", after_condition=False) == "thì cũng không cho biết thêm"
    assert denies_benefit("it won't help when the data is larger than", english=True)
    assert denies_benefit("dùng nó cũng chẳng tiết kiệm được", english=False)
    assert not denies_benefit("nó giúp không bị tràn RAM", english=False)

    # punctuation ends a negation's reach even right after the negated word (only a cause word can be aimed at)
    assert scope_before("mô hình hầu như không học, loss cứ đứng") == " loss cứ đứng"
    assert scope_before("it does not converge; then the") == " then the"
    # an ellipsis is punctuation too, before and after a term
    assert scope_after(" ... và mô hình không tự đổi chúng") == "" and scope_before("không có… rồi") == " rồi"


@pytest.mark.parametrize(
    ("before", "denied"),
    [
        ("dùng dropout không giúp giảm", True),  # the prevention is what is denied
        ("this does not prevent", True),
        ("you can raise it a lot without", False),  # "without" is itself the prevention: "without X" = "no X"
        ("tăng lr mà không bị", False),  # a bare negation, no prevention after it
        ("nó giúp tránh", False),  # a prevention, not negated
    ],
)
def test_a_denied_prevention_needs_a_preventive_word_after_the_cue(before, denied):
    assert denies_prevention(before) is denied


@pytest.mark.parametrize(
    ("before", "denied"),
    [
        # a negated verb of belief denies its whole complement, through the complement's own purpose and cause words
        ("em không nghĩ batch norm là để giảm", True),
        ("I don't really think it is because of the", True),
        ("tôi chẳng tin là dùng", True),
        ("mình không cho rằng", True),
        # ... but not past punctuation or a contrast, and only a verb of belief
        ("em không nghĩ vậy, nhưng thực ra nó giúp giảm", False),
        ("I don't think so. It reduces the", False),
        ("số tham số không thay đổi vì", False),  # "thay" (change) is no verb of belief
        ("em nghĩ là không cần", False),  # the belief is not negated: the negation is inside the claim
        ("không thêm thông tin gì cho", False),  # "tin" of "thông tin" is no verb
    ],
)
def test_negated_belief_reaches_the_whole_clause(before, denied):
    assert denies_belief(before) is denied


def test_clause_opening_with_a_cause_is_out_of_a_negation_reach():
    assert opens_with_break("because each filter is a small k x k kernel")
    assert opens_with_break(" nên số tham số không đổi") and opens_with_break("and so it stays")
    assert not opens_with_break("the filters are small") and not opens_with_break("không vì thế mà")
    # "mà" starts a second predicate: "lr cao hơn mà không sợ loss nổ" does not deny "lr cao hơn"
    assert scope_after(" cao hơn mà không sợ loss nổ") == "cao hơn"
    # "mãi"/"hoài": the oscillation goes on, what follows is its consequence, not a denial of it
    assert scope_after(" mãi không xuống được") == "" and scope_after(" mai khong xuong duoc") == ""


def test_negation_cues_listed():
    assert negation_cues("it does not and never will") == ["not", "never"]


def kw(term: str, *aliases: str, required: bool = False) -> CompiledKeyword:
    return CompiledKeyword.build(term, aliases, required)


def forms(text: str) -> tuple[str, str]:
    n = normalize(text)
    return n, fold(n)


def test_keyword_accented_folded_and_typo():
    k = kw("phương sai", "variance")
    assert match_keyword(k, *forms("chuẩn hóa về phương sai 1")).credit == 1.0
    hit = match_keyword(k, *forms("chuan hoa ve phuong sai 1"))
    assert hit is not None and hit.credit == FOLDED_CREDIT
    assert match_keyword(kw("regularization"), *forms("nó như một dạng regularizaton"))  # typo
    assert match_keyword(kw("learning rate", "lr"), *forms("already learned")) is None  # no match inside a word


def test_fuzzy_keyword_keeps_whole_words_codes_and_numbers():
    # a typo changes letters; a missing word or another code is another claim
    assert match_keyword(kw("zero extra parameters"), *forms("the conv layers don't get any extra parameters")) is None
    assert match_keyword(kw("recall = TP/(TP+FP)"), *forms("recall = TP/(TP+FN), tức bắt được bao nhiêu")) is None
    assert match_keyword(kw("tăng 4 lần"), *forms("số tham số tăng 2 lần")) is None
    assert match_keyword(kw("recall = TP/(TP+FP)"), *forms("em nghĩ recal = TP/(TP+FP)")) is not None  # the typo still passes


def test_keyword_short_terms_need_whole_words():
    k = kw("lr")
    assert match_keyword(k, *forms("dùng lr lớn hơn")) is not None
    assert match_keyword(k, *forms("dùng lr, lớn hơn")) is not None
    assert match_keyword(k, *forms("already")) is None


def test_folded_match_ranks_below_accented():
    # "bán" (sell) is not "bàn" (table): typed with diacritics, a short folded look-alike is no match;
    # typed without them it may be either word, so it matches, for less.
    k = kw("bàn")
    assert match_keyword(k, *forms("cái bàn")).credit == 1.0
    assert match_keyword(k, *forms("đem bán")) is None
    assert match_keyword(k, *forms("cai ban")).credit == FOLDED_CREDIT
    assert match_keyword(kw("GAP"), *forms("ảnh to gấp đôi")) is None  # not global average pooling
    # longer terms keep matching through a slip in the diacritics ("hồi tụ" for "hội tụ")
    assert match_keyword(kw("hội tụ"), *forms("loss hồi tụ chậm")).credit == FOLDED_CREDIT


def test_keyword_coverage_saturates_and_required():
    ks = (kw("zero mean", "mean 0"), kw("unit variance", "phương sai 1"), kw("mini-batch", required=True), kw("gamma"))
    share, hits, required_ok = keyword_coverage(ks, *forms("về mean 0 và phương sai 1"))
    assert [h.term for h in hits] == ["zero mean", "unit variance"]
    assert share == pytest.approx(2 / 3) and required_ok is False


@pytest.mark.parametrize(
    ("text", "is_list"),
    [
        ("zero mean, unit variance, regularization, learning rate, saturation", True),
        ("zero mean; unit variance; regularization; gradient", True),
        ("- mean 0\n- variance 1\n- regularize\n- lr cao", True),
        ("BN chuẩn hóa activation về zero mean, giúp gradient ổn định, và cho phép dùng learning rate lớn hơn.", False),
        ("It normalises activations, which stabilises gradients, so we can use a larger learning rate.", False),
        ("BN giúp train nhanh hơn.", False),
    ],
)
def test_keyword_list_structure(text, is_list):
    assert (keyword_list_score(text) >= 0.6) is is_list


def test_a_formula_minus_is_no_bullet():
    text = "update w = w - lr * grad, lap lai\n- focal loss\n- undersample"
    assert [text[s:e] for s, e in split_sentences(text)] == ["update w = w - lr * grad, lap lai", "focal loss", "undersample"]
    # a dash between clauses without a formula still separates them
    assert len(split_sentences("Backprop stops there - the optimizer updates the weights")) == 2


def test_a_degree_adverb_inside_a_term_still_matches():
    k = kw("hội tụ chậm", "converge slowly")
    for text in ("lr nhỏ thì hội tụ rất chậm", "lr nho thi hoi tu rat cham", "it will converge really slowly"):
        hit = match_keyword(k, *forms(text))
        assert hit is not None and forms(text)[0][hit.start : hit.end].split()[-1] in ("chậm", "cham", "slowly"), text
    bare, where = without_degree_adverbs("hội tụ rất chậm")
    assert bare == "hội tụ chậm" and where[bare.index("chậm")] == "hội tụ rất chậm".index("chậm")
    # only degree adverbs: "quá" (quá trình, quá khớp) and "siêu" (siêu tham số) are kept
    assert without_degree_adverbs("siêu tham số của quá trình")[0] == "siêu tham số của quá trình"
    assert match_keyword(kw("tham số"), *forms("siêu tham số")) is not None  # found as typed, as before


@pytest.mark.parametrize(
    ("sentence", "reported"),
    [
        # a claim reported as others' and contested in the same sentence is the speaker's denial
        ("Sách thì ghi là lr nhỏ giúp hội tụ ổn định, nhưng em thử thì thấy chả khác gì", "là lr nhỏ giúp hội tụ ổn định"),
        ("They say dropout fixes overfitting, but in my runs it never did", "dropout fixes overfitting"),
        ("nguoi ta hay noi BN giup train nhanh, nhung em khong tin", "bn giup train nhanh"),
        ("Nhiều người nói BN giúp train nhanh, song em thấy không khác gì", "bn giúp train nhanh"),
        # ... not when what follows concedes, not without a contest, not when the speaker says it
        ("People say it smooths the loss surface, but also it lets you raise the learning rate", None),
        ("Nhiều người nói BN giúp train nhanh hơn, nhưng đúng là vậy thật", None),
        ("People say it smooths the loss surface and I agree", None),
        # "song song" is "parallel", not the formal "but"
        ("Người ta hay nói generator đọc dữ liệu song song với lúc GPU train nên không phải chờ", None),
        ("I would say it smooths the loss surface, but it also adds noise", None),
    ],
)
def test_a_contested_report_is_denied(sentence, reported):
    found = contested_report(sentence)
    claim = None if found is None else normalize(sentence)[found[1] : found[2]].strip(" ,")
    assert claim == reported


def test_contested_report_covers_the_claim_not_the_contest():
    s = "They say dropout fixes overfitting, but in my runs it never did"
    assert in_contested_report("They say dropout fixes overfitting", s)
    assert not in_contested_report("but in my runs it never did", s)
    assert in_contested_report(s, s, at=normalize(s).index("overfitting")) and not in_contested_report(s, s, at=normalize(s).index("runs"))


def test_a_topic_ending_in_thi_joins_its_comment():
    text = "Còn learning rate thì, ờ, là bước nhảy của mỗi lần cập nhật, lớn quá thì loss nổ."
    clauses = [s.text for s in segment(text) if s.kind == "clause"]
    assert clauses == ["Còn learning rate thì, ờ, là bước nhảy của mỗi lần cập nhật", "lớn quá thì loss nổ."]
    # a piece of interjections alone is no clause, and a topic does not swallow an arrow chain
    assert [s.text for s in segment("lr lớn thì -> loss nổ, lr nhỏ thì hội tụ chậm") if s.kind == "clause"] == [
        "lr lớn thì -> loss nổ",
        "lr nhỏ thì hội tụ chậm",
    ]
