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
# A negated verb of belief denies the whole clause it opens, however long ("em không nghĩ là X", "I don't think X"):
# the negation moves up to the verb, the claim it denies follows (accented forms only: folded "thay" is "thay đổi").
NEGATED_BELIEF = (
    r"(?:không|chẳng|chả|chưa bao giờ|don't|do not|doesn't|does not|didn't|did not|never)\s+"
    r"(?:(?:hề|thật sự|thực sự|really|actually|necessarily)\s+)?"
    r"(?:nghĩ|cho rằng|cho là|tin|think|believe|feel|agree|suppose|reckon)\b"
)
# Degree adverbs: they grade a claim and never change it, so a term may be said with one inside it ("hội tụ rất
# chậm" says "hội tụ chậm", "converges really slowly" says "converges slowly"). Only words that are nothing else:
# not "quá" (quá trình, quá khớp), "cực" (cực tiểu), "siêu" (siêu tham số), "so", "too".
DEGREE_ADVERBS = frozenset(
    _words("rất khá hơi rat kha very really extremely quite fairly pretty incredibly")
    + ("cực kỳ", "cực kì", "vô cùng", "cuc ky", "cuc ki", "vo cung", "khá là", "kha la")
)
# A claim attributed to others ("people say X", "người ta hay nói X") and then contested in the same sentence ("…, but
# …", "…, nhưng …") is denied by the speaker, as a negated verb of belief denies its clause: reported speech, then
# an adversative. Impersonal or third-person sayers only ("I'd say" asserts); accented and folded forms.
REPORTED_SPEECH = (
    r"\b(?:people|they|some(?:\s+people)?|many(?:\s+people)?|others|books?|textbooks?|tutorials?)\s+"
    r"(?:often\s+|usually\s+|always\s+|will\s+|would\s+)?(?:say|says|said|claim|claims|think|believe|tell\s+you)\b"
    r"|\bit(?:'s|\s+is)\s+(?:often\s+|commonly\s+|usually\s+)?(?:said|claimed|believed)\b"
    r"|(?:người ta|nhiều người|có người|sách|giáo trình|nguoi ta|nhieu nguoi|co nguoi)\s+"
    r"(?:hay\s+|thường\s+|vẫn\s+|cứ\s+|thì\s+|thuong\s+|van\s+|thi\s+)?(?:nói|bảo|cho rằng|nghĩ|ghi|viết|noi|bao|cho rang|nghi)\b"
    r"|\b(?:nghe nói|nghe bảo|nghe noi)\b"
)
# Contrast words: they end a clause (a denied belief reaches no further) and, after reported speech, contest it.
ADVERSATIVES = r"but|however|though|nhưng|nhung"
# What contests the reported claim, and what after it concedes instead ("but also", "nhưng đúng là"). "song" is the
# formal "but" only as a conjunction after a comma ("…, song …"), never in "song song" (parallel).
CONTESTING = rf"\b(?:{ADVERSATIVES}|tuy nhiên|tuy nhien)\b|(?<=[,;] )song\b(?! song\b)"
CONCEDING = r"^\W*(?:\w+\W+)?(?:also|too|true|right|indeed|cũng|còn|đúng|cung|con|dung)\b"
# Verbs of benefit: "không giúp tiết kiệm RAM" denies the benefit.
BENEFIT_WORDS = r"giúp|cho phép|tiết kiệm|giup|cho phep|tiet kiem|help\w*|allow\w*|sav(?:e|es|ing)|enabl\w*|let\w*"

# --- generated training text (grader.compile.augment): how a claim is reversed, denied or hurried.
# Word pairs whose swap reverses a claim about training dynamics, data or evaluation; one swap per copy.
REVERSAL_PAIRS_EN = (
    ("larger", "smaller"), ("large", "small"), ("bigger", "smaller"), ("big", "small"), ("higher", "lower"),
    ("high", "low"), ("increases", "decreases"), ("increase", "decrease"), ("more", "fewer"), ("faster", "slower"),
    ("fast", "slow"), ("before", "after"), ("input", "output"), ("forward", "backward"), ("overfitting", "underfitting"),
    ("overfit", "underfit"), ("first", "last"), ("grows", "shrinks"), ("always", "never"), ("stable", "unstable"),
    ("minority", "majority"), ("positive", "negative"), ("training", "test"), ("explode", "vanish"),
    ("explodes", "vanishes"), ("same", "different"), ("learned", "hand-set"), ("precision", "recall"), ("easy", "hard"),
)
REVERSAL_PAIRS_VI = (
    ("lớn", "nhỏ"), ("to", "bé"), ("cao", "thấp"), ("tăng", "giảm"), ("nhiều", "ít"), ("nhanh", "chậm"),
    ("trước", "sau"), ("đầu vào", "đầu ra"), ("input", "output"), ("overfitting", "underfitting"), ("overfit", "underfit"),
    ("ổn định", "bất ổn"), ("dễ", "khó"), ("luôn", "không bao giờ"), ("thiểu số", "đa số"), ("nổ", "tiêu biến"),
    ("giống", "khác"), ("đầu tiên", "cuối cùng"), ("học được", "đặt tay"), ("precision", "recall"), ("dương", "âm"),
    ("train", "test"), ("xa", "gần"), ("giữ nguyên", "thay đổi"), ("không đổi", "thay đổi"),
)
# Frames that deny or hedge a claim, as candidates do ("{x}": the claim).
DENIAL_FRAMES_EN = (
    "I don't think that {x}", "It's not really true that {x}", "Actually no, it's a myth that {x}",
    "People say {x}, but that's not the case.", "Not sure, but I don't believe {x}", "That's just theory, {x} doesn't happen in practice",
)
DENIAL_FRAMES_VI = (
    "Em không nghĩ là {x}", "Thật ra không phải là {x}", "Nhiều người nói {x}, nhưng không đúng đâu.",
    "Chắc không phải {x} đâu ạ", "Em nghĩ không hẳn là {x}", "Cái đó chỉ là lý thuyết thôi, chứ không phải {x}",
)
# Where a negation goes in a clause: English auxiliaries and their negated forms, Vietnamese predicates and theirs.
EN_AUXILIARY_NEGATED = (
    ("is", "is not"), ("are", "are not"), ("was", "was not"), ("were", "were not"), ("can", "cannot"),
    ("will", "will not"), ("does", "does not"), ("do", "do not"), ("did", "did not"), ("has", "has not"),
    ("have", "have not"), ("should", "should not"), ("would", "would not"), ("could", "could not"),
)
EN_VERBS_TO_DENY = _words("makes make helps help keeps keep lets let gives give means mean needs need")
VI_PREDICATE_NEGATED = (
    ("là", "không phải là"), ("có thể", "không thể"), ("sẽ", "sẽ không"), ("được", "không được"),
)
VI_VERBS_TO_DENY = _words("giúp làm cho tăng giảm cần phải bị dùng tính chia nhân đi học giữ đưa tìm")
# Words a hurried, telegraphic answer drops.
TERSE_DROP_EN = frozenset(_words("the a an is are was were of to that this it its be been being very really just so then which who also there their they we you i"))
TERSE_DROP_VI = frozenset(_words("thì là của các những một cái được rằng mà nó này đó ấy rất cũng sẽ đã đang thôi nhé ạ à ơi luôn vậy"))
# Connectives a hurried answer writes as an arrow.
TERSE_ARROW_WORDS = r"so|therefore|because|which means|nên|vì vậy|do đó|dẫn đến|leads to|causes|makes"

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
# How an answer is said aloud (interview transcripts): openings and fillers that carry no claim.
SPOKEN_OPENINGS_EN = ("So, um,", "Okay so", "Well, basically,", "Uh, I think", "Right, so", "Hmm, so like,")
SPOKEN_OPENINGS_VI = ("Dạ,", "Ờ thì", "Dạ em nghĩ là", "À, kiểu như là", "Thì mình hiểu là", "Ừm, em nghĩ")
# Sounds a speaker makes while thinking: no word of the claim (a piece of them alone is no clause).
INTERJECTIONS = frozenset(_words("ờ ừ ừm ơ à ạ uh um uhm hmm er erm"))
SPOKEN_FILLERS_EN = ("um", "uh", "like", "you know", "basically", "kind of", "I mean")
SPOKEN_FILLERS_VI = ("ờ", "kiểu", "thì", "á", "ạ", "kiểu như", "nói chung là", "đó")
