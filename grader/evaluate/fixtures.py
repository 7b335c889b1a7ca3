"""Graded sample answers (``fixtures/*.csv``): reading them, and their fixed fit/test split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from grader.csv_in import CsvInputError, read_table

FIXTURE_COLUMNS = ["answer_id", "question_id", "kind", "form", "human_score", "covers", "misconceptions", "twin_of", "answer"]
WRONG_KINDS = frozenset({"misconception", "negated", "keyword_list", "off_topic"})


@dataclass(frozen=True)
class Fixture:
    """One graded answer."""

    answer_id: str
    question_id: str
    kind: str
    form: str
    human_score: float
    covers: frozenset[str]
    misconceptions: frozenset[str]
    twin_of: str
    answer: str

    @property
    def split(self) -> str:
        """'fit' or 'test': a fixed, seedless split by answer id (about 60/40)."""
        h = int(hashlib.sha256(f"split-v1:{self.answer_id}".encode()).hexdigest()[:8], 16)
        return "fit" if h % 100 < 60 else "test"


def load_fixtures(paths: list[str | Path]) -> list[Fixture]:
    """Read fixture CSVs (files or folders of ``*.csv``); a bad row raises CsvInputError naming file and line."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.csv")) if p.is_dir() else [p])
    out: list[Fixture] = []
    for f in files:
        table = read_table(f, required=FIXTURE_COLUMNS)
        col = table.require(
            FIXTURE_COLUMNS,
            f"expected {', '.join(FIXTURE_COLUMNS)}; for a CSV of marked answers use 'grader evaluate --labelled'",
        )
        for row in table.rows:
            raw = row.get(col["human_score"])
            try:
                score = float(raw)
            except ValueError:
                raise CsvInputError(f"{f}:{row.line}: human_score '{raw}' is not a number") from None
            if not 0 <= score <= 1:
                raise CsvInputError(f"{f}:{row.line}: human_score {score} is outside [0, 1]")
            out.append(
                Fixture(
                    answer_id=row.get(col["answer_id"]).strip(),
                    question_id=row.get(col["question_id"]).strip(),
                    kind=row.get(col["kind"]).strip(),
                    form=row.get(col["form"]).strip(),
                    human_score=score,
                    covers=frozenset(row.get(col["covers"]).split()),
                    misconceptions=frozenset(row.get(col["misconceptions"]).split()),
                    twin_of=row.get(col["twin_of"]).strip(),
                    answer=row.get(col["answer"]),
                )
            )
    return out
