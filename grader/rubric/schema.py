"""The rubric format: pydantic models for one question's grading scheme.

A rubric file is YAML that validates against :class:`Rubric`. Field names are
meant to read naturally to a rubric author; every model forbids unknown keys so
that a typo such as ``weigth`` is an error rather than a silently ignored field.
The JSON Schema published in ``schema/rubric.schema.json`` is generated from
these models (``grader schema``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SCHEMA_VERSION = 1

Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
    Field(description="Lower-case id: letters, digits and underscores, starting with a letter."),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Bilingual(_Strict):
    """The same text in Vietnamese (with diacritics) and in English."""

    vi: Text
    en: Text


class OptionalBilingual(_Strict):
    """Text in Vietnamese and/or English; at least one must be given."""

    vi: Text | None = None
    en: Text | None = None

    @model_validator(mode="after")
    def _one_language(self) -> OptionalBilingual:
        if self.vi is None and self.en is None:
            raise ValueError("give the text in at least one language: 'vi' or 'en'")
        return self


class Phrasings(_Strict):
    """Ways a candidate might express an idea, in each language.

    Write them as candidates talk: short, varied, with the English terms that
    Vietnamese engineers mix in ("BN giúp normalize activation về zero mean").
    """

    vi: list[Text] = Field(default_factory=list)
    en: list[Text] = Field(default_factory=list)

    def all(self) -> list[str]:
        """Every phrasing, Vietnamese first."""
        return [*self.vi, *self.en]


class Keyword(_Strict):
    """A term whose presence supports (or, if ``required``, is needed for) an idea.

    A plain string in YAML is shorthand for ``{term: "..."}``.
    """

    term: Text
    aliases: list[Text] = Field(
        default_factory=list, description="Synonyms, spellings and translations that count as the term."
    )
    required: bool = Field(
        default=False,
        description="If true, the idea is never marked fully covered unless this term (or an alias) appears.",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"term": data}
        return data

    def forms(self) -> list[str]:
        """The term followed by its aliases."""
        return [self.term, *self.aliases]


class PointFeedback(_Strict):
    """What the candidate is told about one required point."""

    covered: Bilingual
    partial: Bilingual
    missing: Bilingual


class Point(_Strict):
    """One atomic idea that a complete answer states."""

    id: Identifier
    weight: float = Field(gt=0, le=100, description="Relative weight; a rubric's weights need not sum to 1.")
    statement: Bilingual = Field(description="The idea in one line, as the interviewer would state it.")
    phrasings: Phrasings = Field(description="Reference phrasings that express this idea.")
    keywords: list[Keyword] = Field(default_factory=list)
    feedback: PointFeedback
    note: str | None = Field(default=None, description="Author's note (sources, why it is phrased this way).")


class Pattern(_Strict):
    """Words that, together and in order, state a claim outright: a rule, not a similarity.

    Each group of ``terms`` lists alternatives ("bias cao", "high bias"); every group
    must match, in the given order, inside one clause of the answer, with at most
    ``window`` words between consecutive groups, none of the ``unless`` words between
    them, and no negation (or "thay vì"/"instead of") before or between them. One
    group alone is a phrase that states the claim whatever surrounds it. Terms match like keywords (case,
    diacritics optional, a typo in long words) and a term's last word also matches
    as a prefix ("overfit" matches "overfitting"). A plain list of groups in YAML
    is shorthand for ``{terms: [...]}``.
    """

    terms: list[Annotated[list[Text], Field(min_length=1)]] = Field(
        min_length=1, description="Groups of alternative terms; all groups must match, in this order."
    )
    window: int = Field(4, ge=0, le=30, description="Most words allowed between two consecutive groups.")
    unless: list[Text] = Field(
        default_factory=list, description="Words that, between the groups, mean the claim is not made (e.g. a rival term)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"terms": data}
        return data


class Misconception(_Strict):
    """A wrong claim candidates make, and how it is recognised and answered."""

    id: Identifier
    statement: Bilingual = Field(description="The wrong claim in one line.")
    phrasings: Phrasings
    keywords: list[Keyword] = Field(default_factory=list)
    contradicts: list[Identifier] = Field(
        default_factory=list, description="Ids of the points that this claim contradicts; they earn nothing when it is detected."
    )
    penalty: float = Field(
        default=0.1, ge=0, le=1, description="Share of the total subtracted when the claim is detected."
    )
    patterns: list[Pattern] = Field(
        default_factory=list,
        description="Word patterns that state the claim outright; a match detects it whatever the embeddings say. "
        "Use them for claims that embeddings cannot tell from the correct one (swapped roles, reversed direction).",
    )
    feedback: Bilingual = Field(description="The correction shown to the candidate.")


class ScoreBand(_Strict):
    """An inclusive range of scores in [0, 1]."""

    min: float = Field(ge=0, le=1)
    max: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ScoreBand:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def __contains__(self, score: object) -> bool:
        return isinstance(score, (int, float)) and self.min <= score <= self.max


ExampleKind = Literal[
    "complete", "partial", "minimal", "misconception", "negated", "keyword_list", "off_topic", "garbage", "other"
]


class Example(_Strict):
    """A sample answer with the grade it must receive: the rubric's own test."""

    answer: Text
    expected_score: ScoreBand
    kind: ExampleKind = "other"
    covers: list[Identifier] = Field(default_factory=list, description="Points this answer must cover.")
    not_covers: list[Identifier] = Field(default_factory=list, description="Points this answer must not cover.")
    misconceptions: list[Identifier] = Field(
        default_factory=list, description="Misconceptions this answer must trigger."
    )
    note: str | None = None


class Rubric(_Strict):
    """The grading scheme of one question."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: Identifier
    title: Bilingual
    question: Bilingual
    tags: list[Text] = Field(default_factory=list)
    total: float = Field(default=10, gt=0, description="The mark the question is graded on (score x total).")
    points: list[Point] = Field(min_length=1)
    misconceptions: list[Misconception] = Field(default_factory=list)
    model_answer: OptionalBilingual | None = None
    examples: list[Example] = Field(default_factory=list)

    def point(self, point_id: str) -> Point:
        """The point with this id (KeyError if none)."""
        for p in self.points:
            if p.id == point_id:
                return p
        raise KeyError(point_id)

    @property
    def total_weight(self) -> float:
        """Sum of the points' weights."""
        return sum(p.weight for p in self.points)
