"""The notes that explain what a guard did to the score, in the feedback's language (Vietnamese or English).

One bilingual table, so that a Vietnamese answer is told "câu trả lời trống" rather than "the answer is empty".
"""

from __future__ import annotations

from typing import Any

#: note key -> language -> text (``str.format`` fields filled from the guard's values).
NOTES: dict[str, dict[str, str]] = {
    "truncated": {
        "en": "the answer was cut to its first {chars} characters",
        "vi": "câu trả lời bị cắt: chỉ {chars} ký tự đầu được chấm",
    },
    "empty": {"en": "the answer is empty", "vi": "câu trả lời trống"},
    "copies_question": {
        "en": "the answer restates the question without answering it",
        "vi": "câu trả lời chỉ chép lại câu hỏi, chưa trả lời",
    },
    "keyword_list": {
        "en": "a list of terms without explanation earns at most {cap:.2f}",
        "vi": "chỉ liệt kê thuật ngữ mà không giải thích: tối đa {cap:.2f} điểm",
    },
    "word_salad": {
        "en": "the words do not form sentences (shuffled or run together): at most {cap:.2f}",
        "vi": "các từ không thành câu (xáo trộn hoặc ghép rời rạc): tối đa {cap:.2f} điểm",
    },
    "off_topic": {
        "en": "the answer addresses another question ({other}), not {question}",
        "vi": "câu trả lời nói về câu hỏi khác ({other}), không phải {question}",
    },
    "calibrated": {
        "en": "calibrated score {score:.2f} (raw engine score {raw:.2f})",
        "vi": "điểm đã hiệu chỉnh {score:.2f} (điểm gốc của máy chấm {raw:.2f})",
    },
    "calibrated_judged": {
        "en": "calibrated score {score:.2f} (raw engine score {raw:.2f}; judged {verdict} at threshold {threshold:.2f})",
        "vi": "điểm đã hiệu chỉnh {score:.2f} (điểm gốc của máy chấm {raw:.2f}; {verdict} theo ngưỡng {threshold:.2f})",
    },
    "correct": {"en": "correct", "vi": "đạt"},
    "not_correct": {"en": "not correct", "vi": "chưa đạt"},
    "negated": {
        "en": "{share:.0%} of the on-topic clauses are negated",
        "vi": "{share:.0%} số mệnh đề đúng chủ đề bị phủ định",
    },
}


def note(key: str, lang: str, **values: Any) -> str:
    """The note ``key`` in ``lang`` ('vi' or 'en'), its fields filled with ``values``."""
    return NOTES[key][lang].format(**values)


def result_language(language: str) -> str:
    """The feedback language of an answer detected as ``language`` (vi, vi_nodiac, en, mixed, unknown): English
    for English answers, Vietnamese for the rest (the bundled rubrics' candidates are Vietnamese)."""
    return "en" if language == "en" else "vi"
