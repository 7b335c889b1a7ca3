"""Graded sample answers (``fixtures/*.csv``) and their fit/test split."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

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
    """Read fixture CSVs (files or folders of ``*.csv``); a bad row raises ValueError naming file and line."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.csv")) if p.is_dir() else [p])
    out: list[Fixture] = []
    for f in files:
        with f.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in FIXTURE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{f}: missing column(s) {', '.join(missing)} (expected {', '.join(FIXTURE_COLUMNS)})")
            for row in reader:
                try:
                    score = float(row["human_score"])
                except ValueError:
                    raise ValueError(f"{f}:{reader.line_num}: human_score '{row['human_score']}' is not a number") from None
                if not 0 <= score <= 1:
                    raise ValueError(f"{f}:{reader.line_num}: human_score {score} is outside [0, 1]")
                out.append(
                    Fixture(
                        answer_id=row["answer_id"].strip(),
                        question_id=row["question_id"].strip(),
                        kind=row["kind"].strip(),
                        form=row["form"].strip(),
                        human_score=score,
                        covers=frozenset((row["covers"] or "").split()),
                        misconceptions=frozenset((row["misconceptions"] or "").split()),
                        twin_of=(row["twin_of"] or "").strip(),
                        answer=row["answer"] or "",
                    )
                )
    return out
