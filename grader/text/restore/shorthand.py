"""Chat shorthand (``ko`` → ``không``, ``dc`` → ``được``): the table in ``grader/data/shorthand.tsv`` and its reader."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHORTHAND_PATH = Path(__file__).resolve().parents[2] / "data" / "shorthand.tsv"


@dataclass(frozen=True)
class Shorthand:
    """One shorthand form: its expansions and whether it needs a Vietnamese context."""

    form: str
    expansions: tuple[str, ...]
    context: bool


def parse_shorthand(text: str) -> dict[str, Shorthand]:
    """Parse the shorthand table (``short<TAB>exp1|exp2<TAB>always|context``; ``#`` comments)."""
    table: dict[str, Shorthand] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 3 or cols[2] not in ("always", "context"):
            raise ValueError(f"shorthand table line {n}: expected 'form<TAB>expansions<TAB>always|context'")
        form = unicodedata.normalize("NFC", cols[0].strip().lower())
        exps = tuple(unicodedata.normalize("NFC", e.strip()) for e in cols[1].split("|") if e.strip())
        table[form] = Shorthand(form, exps, cols[2] == "context")
    return table


@lru_cache(maxsize=1)
def load_shorthand(path: Path = SHORTHAND_PATH) -> dict[str, Shorthand]:
    """The bundled shorthand table, read once."""
    return parse_shorthand(path.read_text(encoding="utf-8"))

