"""Every word list of the engine, in one place.

Each consumer combines the same core lists with the few words its job needs:

* language detection counts Vietnamese function words (accent-folded, so that text
  typed without diacritics is recognised) and English ones;
* the keyword-list guard looks for function words that an explanation has and a bare
  list of terms lacks;
* drafting a rubric drops stop words when it picks keywords;
* negation cues (:mod:`grader.text.negation`) are regular-expression alternations, longest first;
* the diacritic restorer (:mod:`grader.text.restore`) reads a lone letter beside some words as a
  variable rather than shorthand, and its model build counts the English stop words as English.

The lists are data: changing one changes grades, so each addition is measured on the fixtures.
"""

from __future__ import annotations

from grader.text.normalize import fold


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Frequent Vietnamese function words, with diacritics; none folds onto an English function word.
VI_FUNCTION_WORDS = _words(
    "là của và được không các những một trong cho khi thì để với này nên vì sẽ đã đang có hay nếu làm giúp "
    "về như từ đến ra bị cũng rất nhiều quá hơn"
)
# Connectives and pronouns of spoken answers ("mình", "em", "nó"); their folded forms are also
# English or Vietnamese content words ("do", "the", "ma"), so language detection leaves them out.
VI_SPOKEN_WORDS = _words("giữa sau trước lại mà do nó em mình ta thế vậy nào")
# Content words so frequent in answers about models that they mark Vietnamese typed without diacritics.
VI_FREQUENT_FOLDED = _words("mo hinh du lieu gia tri ham thuoc chi tang giam")

EN_FUNCTION_WORDS = _words(
    "the is are of and to a in that it for with as on be by this an or from which can was we when not its "
    "has have if into more does do so than each also"
)
# Words of explaining ("it makes", "because", "then you") that a list of terms does not have.
EN_EXPLAINING_WORDS = _words("makes make helps help because then you i")

# --- language detection (grader.text.language)
LANGUAGE_VI_FOLDED = frozenset(fold(w) for w in VI_FUNCTION_WORDS) | frozenset(VI_FREQUENT_FOLDED)
LANGUAGE_EN = frozenset(EN_FUNCTION_WORDS)

# --- the keyword-list guard (grader.match.answer). Matched with diacritics where the answer has
# them: folded, "bằng" (by) would also match "cân bằng" (balance) and "mà" (but) "ma trận" (matrix).
LIST_VI_FUNCTION = frozenset(VI_FUNCTION_WORDS) | frozenset(VI_SPOKEN_WORDS)
LIST_VI_FUNCTION_FOLDED = frozenset(fold(w) for w in LIST_VI_FUNCTION) - {"ma", "so", "ra", "do", "the", "to", "an"}
LIST_EN_FUNCTION = frozenset(EN_FUNCTION_WORDS) | frozenset(EN_EXPLAINING_WORDS)

# --- stop words of drafting (grader.drafting): function words and the words of questions and instructions
STOP_VI_FOLDED = frozenset(fold(w) for w in LIST_VI_FUNCTION) | frozenset(
    _words(
        "thuc hien khac bang cai con gi nhat moi anh chi ho chung toi ban vao len xuong tai theo boi hoac tuc cach viec "
        "su tung nho dung phai can ca gom it"
    )
)
STOP_EN = frozenset(EN_FUNCTION_WORDS) | frozenset(
    _words(
        """about above after again against all almost along already although always am among another any anything around
        at away became because become becomes been before being below between both but cannot could did doing done
        down during either else enough etc even ever every few further get gets getting given gives go goes going got
        had having he her here hers him his how however i itself just least less like likely made make makes many may
        me might most much must my near need needs neither never no nor now off often once one only onto other others
        otherwise our out over own per perhaps put rather really same see seen should since some something still such
        their them then there these they thing things those though through thus too toward towards under until up upon
        us use used uses using very way well were what whatever where whether while who whom whose why will within
        without would yes yet you your answer explain explained describe question student students therefore e.g i.e
        able possible possibly instead following example examples namely certain various usually basically actually
        simply kind"""
    )
)

# --- negation (grader.text.negation): regular-expression alternations, longest alternatives first
VI_NEGATION_CUES = r"không hề|chẳng hề|chưa hề|đâu có|không|chưa|chẳng|chả|ko|hok|khong|chua|chang he|khong he"
EN_NEGATION_CUES = (
    r"not|never|cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|shouldn't|wouldn't|neither|nor|no|none|without|\w+n't"
)
# Phrases that contain a cue but deny nothing.
NOT_NEGATIONS = (
    r"không (?:chỉ|những)|khong (?:chi|nhung)|not only|no matter|not just|without doubt|no doubt|"
    r"chưa kể|chua ke|nothing but|chẳng hạn|chang han|không những|no longer needed|"
    # hedges and comparisons that assert rather than deny: "không phải lúc nào cũng đủ", "chẳng khác gì đoán bừa"
    r"không phải lúc nào|khong phai luc nao|not always|chẳng khác gì|không khác gì|chang khac gi|khong khac gi|"
    r"no different from|no better than|"
    # compounds that merely contain "không": space, air, aviation
    r"không gian|khong gian|không khí|khong khi|hàng không|hang khong"
)
# Words that introduce a cause, a consequence or a purpose: where a negation's reach ends.
CAUSE_WORDS = r"nên|vì|bởi vì|do đó|để|nen|vi|de|so|because|since|therefore|hence|thus"
# Words that, like a negation, keep something away: "tránh bão hòa" says what "không bị bão hòa" says.
PREVENTIVE_WORDS = (
    r"tránh|ngăn|ngăn chặn|ngăn ngừa|hạn chế|giảm|bớt|khỏi|chống|loại bỏ|đỡ|tranh|ngan|han che|giam|bot|khoi|chong|"
    r"avoid\w*|prevent\w*|reduc\w*|stop\w*|less|fewer|without|mitigat\w*|limit\w*|away|out of|instead of|rather than"
)
# Verbs of benefit: "không giúp tiết kiệm RAM" denies the benefit.
BENEFIT_WORDS = r"giúp|cho phép|tiết kiệm|giup|cho phep|tiet kiem|help\w*|allow\w*|sav(?:e|es|ing)|enabl\w*|let\w*"

# --- the diacritic restorer (grader.text.restore): words around a letter that make it a variable, not
# shorthand ("top k", "chọn k cụm", "k láng giềng", "k lần"), folded. Only words that never sit next to
# "không" in these answers ("không phân biệt", "bằng không" do).
RESTORE_VARIABLE_BEFORE = frozenset(_words("top chon"))
RESTORE_VARIABLE_AFTER = frozenset(
    _words("cum lang lan nhom diem mau lop chieu buoc fold folds")
    + _words("neighbor neighbors neighbour neighbours nearest cluster clusters means")
)
# English words the restorer's model knows as English besides those of the rubrics' English text
# (grader.train.restorer): the function and stop words above.
RESTORE_ENGLISH_STOP = frozenset(STOP_EN | LIST_EN_FUNCTION)
