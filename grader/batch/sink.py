"""Where a batch writes: ``OUTPUT.partial`` with checkpoints (resumable), or a stream such as standard output."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from grader.atomic import fsync_dir, write_all, write_atomic
from grader.batch.errors import ResumeError
from grader.csv_in import SAMPLE_BYTES

PROGRESS_VERSION = 1


def input_identity(path: Path) -> dict[str, Any]:
    """What identifies the input file for a resume: path, size, mtime and a hash of its first MiB."""
    st = path.stat()
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    return {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "head_sha256": hashlib.sha256(head).hexdigest(),
    }


class FileSink:
    """``OUTPUT.partial`` + ``OUTPUT.progress.json``; renamed to ``OUTPUT`` when complete."""

    def __init__(self, output: Path):
        self.output = output
        self.partial = output.with_name(output.name + ".partial")
        self.progress = output.with_name(output.name + ".progress.json")
        self.fd = -1
        self.size = 0

    def load_progress(self) -> dict[str, Any] | None:
        """The saved progress (None if there is none); ResumeError if it cannot be used."""
        try:
            state = json.loads(self.progress.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ResumeError(f"cannot resume: {self.progress} is unreadable ({exc}); rerun without --resume") from None
        if not isinstance(state, dict) or state.get("version") != PROGRESS_VERSION:
            raise ResumeError(f"cannot resume: {self.progress} was written by another version; rerun without --resume")
        return state

    def start(self, head: bytes) -> None:
        """Start a new ``OUTPUT.partial`` with ``head``."""
        self.progress.unlink(missing_ok=True)
        self.fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.size = 0
        self.append(head)

    def reopen(self, size: int) -> None:
        """Continue ``OUTPUT.partial`` after its last checkpoint (``size`` bytes; a torn tail is cut)."""
        try:
            actual = self.partial.stat().st_size
        except FileNotFoundError:
            raise ResumeError(f"cannot resume: {self.partial} is missing; rerun without --resume") from None
        if actual < size:
            raise ResumeError(
                f"cannot resume: {self.partial} has {actual} bytes but {size} were recorded as written; rerun without --resume"
            )
        self.fd = os.open(self.partial, os.O_WRONLY)
        os.ftruncate(self.fd, size)  # drop rows written after the last checkpoint (a half-written chunk)
        os.lseek(self.fd, size, os.SEEK_SET)
        os.fsync(self.fd)
        self.size = size

    def append(self, data: bytes) -> None:
        if data:
            write_all(self.fd, data)
            os.fsync(self.fd)
            self.size += len(data)

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Record the progress (atomically)."""
        write_atomic(self.progress, json.dumps(state, ensure_ascii=False, indent=1) + "\n")

    def finish(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        os.replace(self.partial, self.output)
        fsync_dir(self.output.parent)
        self.progress.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file (what was written stays for a resume)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class StreamSink:
    """Standard output (or any binary stream): no checkpoints, flushed after every chunk."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.size = 0

    def append(self, data: bytes) -> None:
        if data:
            self.stream.write(data)
            self.stream.flush()
            self.size += len(data)

    def finish(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        pass
