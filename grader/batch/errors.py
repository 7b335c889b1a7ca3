"""The errors of a batch run."""

from __future__ import annotations

from grader.csv_in import CsvInputError


class BatchError(Exception):
    """A batch cannot run (bad input, options, or resume state)."""


class BatchInputError(BatchError, CsvInputError):
    """The input cannot be graded as asked: unreadable file, missing column, bad option."""


class ResumeError(BatchError):
    """``resume=True`` but the saved progress does not belong to this input, options or grader."""


class BatchInterrupted(KeyboardInterrupt):
    """Grading was interrupted; the output so far is saved and ``resume=True`` continues it."""

    def __init__(self, rows_done: int, partial: str | None, progress: str | None):
        super().__init__(rows_done, partial, progress)
        self.rows_done = rows_done
        self.partial = partial
        self.progress = progress

    def __str__(self) -> str:
        where = f" (saved in {self.partial})" if self.partial else ""
        return f"interrupted after {self.rows_done} row(s){where}"
