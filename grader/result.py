"""Grade results: pydantic models and their human-readable renderings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["covered", "partial", "missing"]
Flag = Literal["empty", "negated", "keyword_list", "word_salad", "off_topic", "copies_question", "misconception", "truncated"]
#: The guards whose verdict is final: the answer earns 0 whatever else it has (a calibration keeps it at 0,
#: the batch feedback gives only their notes).
HARD_FLAGS: frozenset[Flag] = frozenset({"empty", "copies_question", "off_topic"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evidence(_Model):
    """A quoted span of the answer: ``answer[start:end] == text``."""

    text: str
    start: int
    end: int


class PointResult(_Model):
    """How one rubric point was judged."""

    id: str
    statement: str
    weight: float
    status: Status
    coverage: float = Field(description="estimated probability that the answer states this point, in [0, 1]")
    credit: float = Field(description="share of the point's weight earned, in [0, 1]")
    evidence: Evidence | None = Field(description="the answer's span that best expresses the point")
    similarity: float = Field(description="standardised similarity of the evidence to the point (z-score)")
    keywords: list[str] = Field(description="the point's keywords found in the answer")
    negated: bool = False
    contradicted_by: str | None = None
    feedback: str


class MisconceptionResult(_Model):
    """A wrong claim detected in the answer."""

    id: str
    statement: str
    confidence: float
    evidence: Evidence | None
    matched_pattern: str | None = Field(
        default=None, description="The words that matched one of the misconception's patterns (then confidence is 1)."
    )
    contradicts: list[str]
    penalty: float
    feedback: str


class GradeResult(_Model):
    """The grade of one answer, with its reasons and a reproducibility signature."""

    question_id: str
    answer: str = Field(
        description="the answer as given (NFC); evidence offsets index this text (an answer typed without diacritics "
        "or in shorthand is graded on its restoration, and quoted as typed)"
    )
    score: float = Field(description="share of the rubric's weight earned, in [0, 1]")
    mark: float = Field(description="score x the rubric's total")
    total: float
    language: str
    points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    flags: list[Flag]
    notes: list[str] = Field(default_factory=list, description="why guards changed the score")
    raw_score: float | None = Field(default=None, description="the engine's score before a calibration, if one was applied")
    signature: str

    def point(self, point_id: str) -> PointResult:
        """The result of the point with this id (KeyError if the rubric has none)."""
        for p in self.points:
            if p.id == point_id:
                return p
        raise KeyError(point_id)

    def summary(self) -> str:
        """One line: question, mark, covered points, flags."""
        covered = sum(p.status == "covered" for p in self.points)
        flags = f" [{', '.join(self.flags)}]" if self.flags else ""
        return (
            f"{self.question_id}: {self.mark:.1f}/{self.total:g} (score {self.score:.2f}), "
            f"{covered}/{len(self.points)} points covered{flags}"
        )

    def to_text(self) -> str:
        """Readable feedback for a terminal."""
        marks = {"covered": "[x]", "partial": "[~]", "missing": "[ ]"}
        lines = [self.summary(), ""]
        for p in self.points:
            lines.append(f"{marks[p.status]} {p.id} ({p.status}, coverage {p.coverage:.2f}): {p.feedback}")
            if p.evidence is not None and p.status != "missing":
                lines.append(f'      evidence: "{p.evidence.text}"')
            if p.negated:
                lines.append("      the evidence is negated")
            if p.contradicted_by:
                lines.append(f"      contradicted by misconception {p.contradicted_by}")
        for m in self.misconceptions:
            lines.append(f"[!] {m.id} (confidence {m.confidence:.2f}): {m.feedback}")
            if m.evidence is not None:
                lines.append(f'      evidence: "{m.evidence.text}"')
            if m.matched_pattern:
                lines.append(f'      stated outright: "{m.matched_pattern}"')
        for n in self.notes:
            lines.append(f"note: {n}")
        lines.append(f"signature: {self.signature}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Readable feedback as Markdown."""
        icons = {"covered": "✅", "partial": "🟡", "missing": "❌"}
        lines = [f"**{self.question_id}: {self.mark:.1f}/{self.total:g}** (score {self.score:.2f})", ""]
        if self.flags:
            lines += [f"Flags: {', '.join(f'`{f}`' for f in self.flags)}", ""]
        lines += ["| | point | feedback | evidence |", "|---|---|---|---|"]
        for p in self.points:
            ev = f"“{p.evidence.text}”" if p.evidence is not None and p.status != "missing" else ""
            lines.append(f"| {icons[p.status]} | `{p.id}` | {p.feedback} | {ev} |")
        for m in self.misconceptions:
            ev = f" — “{m.evidence.text}”" if m.evidence else ""
            lines.append(f"\n⚠️ **{m.id}**: {m.feedback}{ev}")
        for n in self.notes:
            lines.append(f"\n_{n}_")
        lines.append(f"\n<sub>{self.signature}</sub>")
        return "\n".join(lines)
