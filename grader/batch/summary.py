"""What a batch run did: rows, errors, mean score per question, speed."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.batch.rows import Row


@dataclass
class QuestionStats:
    """Graded rows of one question and their mean score."""

    rows: int = 0
    score_sum: float = 0.0

    @property
    def mean_score(self) -> float:
        """The mean score of the graded rows (NaN for none)."""
        return self.score_sum / self.rows if self.rows else float("nan")


@dataclass
class BatchSummary:
    """What a batch run did. ``exit_code`` is 0 when every row was graded, else 1."""

    input: str
    output: str
    format: str
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    ok: int = 0
    errors: int = 0
    blank_skipped: int = 0
    resumed_rows: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    per_question: dict[str, QuestionStats] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    graded_this_run: int = 0
    signature: str = ""

    MAX_LISTED_ERRORS = 10

    @property
    def rows_per_second(self) -> float:
        """Rows graded per second in this run."""
        return self.graded_this_run / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 when every row was graded, else 1."""
        return 1 if self.errors else 0

    def add(self, row: Row) -> None:
        """Count a written row."""
        self.rows += 1
        if row.error:
            self.errors += 1
            self.error_kinds[row.error_kind] = self.error_kinds.get(row.error_kind, 0) + 1
            if len(self.first_errors) < self.MAX_LISTED_ERRORS:
                rid = f", id {row.row_id}" if row.row_id else ""
                self.first_errors.append(f"row {row.index} (line {row.line}{rid}): {row.error}")
        else:
            self.ok += 1
            assert row.result is not None
            st = self.per_question.setdefault(row.result.question_id, QuestionStats())
            st.rows += 1
            st.score_sum += row.result.score

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (for the progress file)."""
        d = asdict(self)
        d["per_question"] = {q: {"rows": s.rows, "score_sum": s.score_sum} for q, s in self.per_question.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BatchSummary:
        """The summary saved by :meth:`to_dict`."""
        d = dict(d)
        d["per_question"] = {q: QuestionStats(**s) for q, s in d.get("per_question", {}).items()}
        return cls(**d)

    def to_text(self) -> str:
        """The summary printed on stderr by ``grader batch``."""
        resumed = f" ({self.resumed_rows} from an earlier run)" if self.resumed_rows else ""
        blank = f", {self.blank_skipped} blank skipped" if self.blank_skipped else ""
        lines = [
            f"{self.rows} row(s){resumed}: {self.ok} ok, {self.errors} error(s){blank}; "
            f"{self.graded_this_run} graded in {self.seconds:.1f} s ({self.rows_per_second:.1f} rows/s)"
        ]
        if self.error_kinds:
            kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.error_kinds.items(), key=lambda x: -x[1]))
            lines.append(f"errors: {kinds}")
            lines += [f"  {e}" for e in self.first_errors]
            if self.errors > len(self.first_errors):
                lines.append(f"  ... and {self.errors - len(self.first_errors)} more (status=error in the output)")
        if self.per_question:
            means = ", ".join(
                f"{q} {s.mean_score:.2f} (n={s.rows})" for q, s in sorted(self.per_question.items(), key=lambda x: _qkey(x[0]))
            )
            lines.append(f"mean score per question: {means}")
        lines.append(f"output: {self.output} ({self.format})")
        return "\n".join(lines)


def _qkey(qid: str) -> tuple[str, int, str]:
    m = re.match(r"(\D*)(\d+)(.*)", qid)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (qid, 0, "")
