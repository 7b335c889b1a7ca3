"""How a question id typed by a person names a rubric: the one rule every entry point uses.

Rubric ids are lower case (``^[a-z][a-z0-9_]*$``, see :mod:`grader.rubric.schema`), so a given id
is matched ignoring case and surrounding whitespace: ``"Q1"``, ``" q1 "`` and ``"q1"`` all name
``q1``. Spreadsheets and hiring tools write ``Q1``; nothing else is loosened (``q 1`` and ``q01``
name no rubric). The Python API, ``grader grade``/``explain``, ``grader batch``, the pandas
functions and the evaluation commands all resolve ids through :func:`resolve_question_id`.
"""

from __future__ import annotations

from collections.abc import Iterable

#: How many known ids an "unknown question id" message lists.
_SHOWN = 30


class UnknownQuestionError(KeyError):
    """The question id is not in the rubric set (the message lists the known ids)."""

    def __str__(self) -> str:
        return str(self.args[0])


def question_key(question_id: str) -> str:
    """The form in which ids are compared: surrounding whitespace removed, case folded."""
    return question_id.strip().casefold()


def resolve_question_id(question_id: str, known: Iterable[str]) -> str | None:
    """The id among ``known`` that ``question_id`` names (see the module's rule), or None."""
    key = question_key(question_id)
    return next((k for k in known if question_key(k) == key), None)


def unknown_question_message(question_id: str, known: Iterable[str]) -> str:
    """``unknown question id 'x' (use one of: q1, q2, ...)``: the message every entry point gives."""
    ids = list(known)
    listed = ", ".join(ids[:_SHOWN]) + (", ..." if len(ids) > _SHOWN else "")
    shown = question_id if len(question_id) <= 60 else question_id[:57] + "..."
    return f"unknown question id {shown!r} (use one of: {listed})"


def check_question_id(question_id: object, known: Iterable[str]) -> str:
    """The rubric id ``question_id`` names; TypeError if it is not a str, UnknownQuestionError if it names none."""
    if not isinstance(question_id, str):
        raise TypeError(f"question_id must be a str such as 'q1', not {type(question_id).__name__}")
    ids = list(known)
    found = resolve_question_id(question_id, ids)
    if found is None:
        raise UnknownQuestionError(unknown_question_message(question_id, ids))
    return found
