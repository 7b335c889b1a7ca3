"""The restorer's entry points: which mode a text needs, restoring it, expanding shorthand only."""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache

from grader.text.language import LanguageForm, detect_language
from grader.text.restore.decode import restore_ops
from grader.text.restore.model import MODEL_PATH, RestoreModel, load_model
from grader.text.restore.readings import RULES_VERSION
from grader.text.restore.shorthand import SHORTHAND_PATH, Shorthand, load_shorthand
from grader.text.restore.spans import RestoredText, RestoreMode, assemble, compose_nfc, nfc_ops
from grader.text.restore.tokens import WORD_RE, is_marked


def restoration_mode(text: str, form: LanguageForm | None = None, model: RestoreModel | None = None) -> RestoreMode:
    """How much of ``text`` to restore: ``full`` (Vietnamese typed without marks),
    ``marked`` (typed with marks: its shorthand, the bare words that cannot be right as
    typed, and any sentence typed without marks), or ``none`` (English, empty).

    Why not restore every bare word of a marked answer: on the marked fixture answers that
    changes 0.45% of right words (``anh`` → ``ảnh``, ``gom`` → ``gồm``) and fixes none, while
    the marked mode changes none; see ``benchmarks/restore_accuracy.py``.

    Uses :func:`grader.text.language.detect_language`; a text it reads as English or
    unknown is still restored in full when most of its words are Vietnamese-only syllables
    (a short unmarked answer with few function words: "dung relu thay sigmoid")."""
    form = form or detect_language(text)
    if form == "vi_nodiac":
        return "full"
    if form in ("vi", "mixed"):
        return "marked"
    words = [w for w in WORD_RE.findall(text) if not is_marked(w)]
    if len(words) < 2:
        return "none"
    model = model or load_model()
    vi_only = sum(1 for w in words if w.lower() in model.candidates and w.lower() not in model.english)
    return "full" if vi_only >= 2 and vi_only >= 0.3 * len(words) else "none"


def restore(
    text: str,
    *,
    mode: RestoreMode | None = None,
    form: LanguageForm | None = None,
    model: RestoreModel | None = None,
    shorthand: dict[str, Shorthand] | None = None,
) -> RestoredText:
    """Restore the diacritics of ``text`` and expand its chat shorthand.

    ``mode`` overrides the detection of :func:`restoration_mode` (``form`` is the
    language form if the caller already has it). The result is NFC; its
    :meth:`RestoredText.to_original` maps spans back onto ``text`` as given."""
    if not text:
        return RestoredText(original=text, text=text)
    model = model or load_model()
    shorthand = load_shorthand() if shorthand is None else shorthand
    nfc_text = unicodedata.normalize("NFC", text)
    mode = mode or restoration_mode(nfc_text, form, model)
    composing = nfc_ops(text) if nfc_text != text else []
    if mode == "none":
        return assemble(text, composing, mode) if composing else RestoredText(original=text, text=text)
    ops = restore_ops(nfc_text, model, shorthand, mode)
    if composing:
        ops = compose_nfc(text, composing, ops)
    return assemble(text, ops, mode)


def expand_shorthand(text: str, *, model: RestoreModel | None = None) -> RestoredText:
    """Expand the chat shorthand only (``mình ko biết`` → ``mình không biết``), restoring no marks."""
    return restore(text, mode="shorthand", model=model)


@lru_cache(maxsize=1)
def data_digest() -> str:
    """Eight hex digits naming the bundled model file, the shorthand table and the version of the reading rules
    (:data:`~grader.text.restore.readings.RULES_VERSION`): a grade's signature carries them."""
    h = hashlib.sha256(f"rules-{RULES_VERSION}".encode())
    for path in (MODEL_PATH, SHORTHAND_PATH):
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:8]
