"""Batch grading of CSV exports (``grader batch``) and of pandas/Dask frames; see ``docs/batch.md``.

``run`` (:func:`grade_csv`: streaming, complete, resumable), ``rows`` (what each row grades to, its
result columns), ``sink`` (the output file and its checkpoints), ``summary``, ``errors``, and
``frames`` (:func:`grade_dataframe`, :func:`grade_partition`). The input is read by
:mod:`grader.csv_in`. Nothing heavy is imported until grading starts.
"""

from grader.batch.errors import BatchError, BatchInputError, BatchInterrupted, ResumeError
from grader.batch.frames import cached_grader, grade_dataframe, grade_partition, partition_meta, write_frames_csv
from grader.batch.rows import FORMULA_PREFIXES, RESULT_COLUMNS, neutralise, output_columns
from grader.batch.run import grade_csv
from grader.batch.summary import BatchSummary
from grader.csv_in import CsvFormat, detect_format

__all__ = [
    "FORMULA_PREFIXES",
    "RESULT_COLUMNS",
    "BatchError",
    "BatchInputError",
    "BatchInterrupted",
    "BatchSummary",
    "CsvFormat",
    "ResumeError",
    "cached_grader",
    "detect_format",
    "grade_csv",
    "grade_dataframe",
    "grade_partition",
    "neutralise",
    "output_columns",
    "partition_meta",
    "write_frames_csv",
]
