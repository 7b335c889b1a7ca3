"""Grade a CSV export on a Dask cluster; the output is the same file ``grader batch`` writes.

    pip install pandas "dask[distributed]"
    python examples/dask_batch.py answers.csv -o graded.csv --workers 2

A LocalCluster of ``--workers`` processes (one thread each) grades the partitions with
``map_partitions(grade_partition)``. Each worker process builds its own Grader once
(:func:`grader.batch.cached_grader`, called by ``grade_partition`` when no grader is
passed) and reuses it for every partition it gets. The client writes the graded
partitions in order with :func:`grader.batch.write_frames_csv`, which formats cells
exactly as ``grader batch`` does (scores, neutralised formulas, UTF-8 BOM).

Differences from ``grader batch``: the input is read with pandas into the client's
memory (``grader batch`` streams it), there is no ``--resume``, and malformed rows
(too few cells) get pandas' reading rather than a per-row error. Point a Client at a
real cluster (``Client("tcp://scheduler:8786")``) to grade on several machines; each
worker needs grader installed with the model extra.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata


def _one_torch_thread() -> None:
    """Run on each worker: one worker process per core, so one torch thread each."""
    import torch

    torch.set_num_threads(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="the CSV export")
    parser.add_argument("-o", "--output", required=True, help="the graded CSV")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    parser.add_argument("--partitions", type=int, help="partitions (default: one per 256 rows, at least one per worker)")
    parser.add_argument("--question-column", default="question_id")
    parser.add_argument("--answer-column", default="answer")
    parser.add_argument("--rubrics", action="append", help="rubric file or folder (repeatable; default: the bundled 12)")
    parser.add_argument("--model", default="bundled")
    args = parser.parse_args(argv)

    import dask.dataframe as dd
    import pandas as pd
    from dask.distributed import Client, LocalCluster

    from grader.batch import detect_format, grade_partition, partition_meta, write_frames_csv

    start = time.perf_counter()
    fmt = detect_format(args.input, required=[args.question_column, args.answer_column])
    df = pd.read_csv(
        args.input,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding=fmt.encoding,
        sep=fmt.delimiter,
        skip_blank_lines=True,
    )
    if fmt.nfc:  # Windows-1258 spells tones as combining marks
        df = df.map(lambda s: unicodedata.normalize("NFC", s) if isinstance(s, str) else s)
    nparts = args.partitions or max(args.workers, -(-len(df) // 256))
    kwargs = {
        "question_column": args.question_column,
        "answer_column": args.answer_column,
        "rubrics": tuple(args.rubrics) if args.rubrics else None,
        "model": args.model,
    }

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        client.run(_one_torch_thread)
        ddf = dd.from_pandas(df, npartitions=max(1, min(nparts, len(df))), sort=False)
        graded = ddf.map_partitions(grade_partition, meta=partition_meta(df), **kwargs)
        futures = client.compute(graded.to_delayed())  # every partition, in parallel on the workers
        rows = write_frames_csv((f.result() for f in futures), args.output)  # written in input order
    print(f"{rows} row(s) graded into {args.output} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
