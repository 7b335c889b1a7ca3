"""Restore the diacritics of Vietnamese typed without marks, and expand chat shorthand.

``restore(text)`` returns a :class:`RestoredText`: the restored text, the text the
candidate wrote, and a map between the two, so that everything downstream can read
the restored text while evidence offsets still point into the original.

How it works. The text is cut into tokens (:mod:`.tokens`: words, "other" chunks such as
code, numbers, hyphenated or dotted terms, and punctuation). Each bare word gets its
readings (:mod:`.readings`): the marked syllables that fold to it (from a syllable
inventory built from underthesea's VLSP2013 text and Viet74K word list and the rubrics),
the word kept as written when it is also an English word (``to``, ``can``, ``the``) or a
variable (``k``), and the expansions of a shorthand (:mod:`.shorthand`: ``ko`` →
``không``). A syllable trigram language model with interpolated modified Kneser-Ney
smoothing (:mod:`.model`, ``grader/data/restore_model.bin.gz``, built by ``python -m
grader.train.restorer``) chooses the sequence with a beam Viterbi search over each sentence
(:mod:`.decode`). :mod:`.spans` maps spans between the restored text and the original;
:mod:`.api` holds the entry points.

Pure Python (standard library only); the model is read once, lazily, in about 0.1 s, and a
60-word answer is restored in about 3 ms.
"""

from grader.text.restore.api import data_digest, expand_shorthand, restoration_mode, restore
from grader.text.restore.model import MODEL_PATH, RestoreModel, load_model, model_from_parts, read_model_parts, write_model
from grader.text.restore.shorthand import SHORTHAND_PATH, Shorthand, load_shorthand, parse_shorthand
from grader.text.restore.spans import RestoredText, RestoreMode
from grader.text.restore.tokens import Token, is_marked, syllable_key, tokenize

__all__ = [
    "MODEL_PATH",
    "SHORTHAND_PATH",
    "RestoreMode",
    "RestoreModel",
    "RestoredText",
    "Shorthand",
    "Token",
    "data_digest",
    "expand_shorthand",
    "is_marked",
    "load_model",
    "load_shorthand",
    "model_from_parts",
    "parse_shorthand",
    "read_model_parts",
    "restoration_mode",
    "restore",
    "syllable_key",
    "tokenize",
    "write_model",
]
