"""JSON Lines: `JSONLProcessor` writes one record per line (`schema.read_jsonl` reads them back).

The files double as the store's spool: `agentoscope serve --spool DIR` and `agentoscope ingest`
read them. Every batch is written with one `write` and flushed, so a `kill -9` can only tear the
last line, which readers skip.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .batching import BatchingProcessor, Exporter

logger = logging.getLogger("agentoscope.tracing")

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
_WRITE_BUFFER = 4 * 1024 * 1024


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class JSONLExporter(Exporter):
    """Appends records to a JSONL file, one batch per `write`, flushed (fsynced on request), and
    rotates the file at `max_bytes`. `path` as for `JSONLProcessor`."""

    encodes = True
    shares_worker = True  # one buffered write and flush per batch

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = False,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        text = os.fspath(path)
        target = Path(text)
        if text.endswith(("/", os.sep)) or target.is_dir():
            self._directory: Path | None = target
            self.path = self._spool_file_name()
        else:
            self._directory = None
            self.path = target
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._file: IO[bytes] | None = None
        self._size = 0
        self._rotations = 0

    def _spool_file_name(self) -> Path:
        assert self._directory is not None
        host = socket.gethostname().replace(os.sep, "_")
        return self._directory / f"agentoscope-{host}-{os.getpid()}-{_stamp()}.jsonl"

    def _open(self) -> IO[bytes]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab")
        self._size = handle.tell()
        return handle

    def encode(self, record: dict[str, Any]) -> bytes:
        """One line, newline included."""
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)

    def export(self, records: list[dict[str, Any]] | list[bytes]) -> None:
        """Append a batch: lines from `encode` (the processor's worker encodes as it converts),
        or records."""
        if self._file is None:
            self._file = self._open()
        lines = [line if isinstance(line, bytes) else self.encode(line) for line in records]
        written = self._file.write(b"".join(lines))  # one write, one flush, per batch
        self._file.flush()  # a kill -9 can tear only the last line, which readers skip
        if self.fsync:
            os.fsync(self._file.fileno())
        self._size += written
        if self._size >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        self._rotations += 1
        rotated = self.path.with_name(f"{self.path.stem}.{_stamp()}{self.path.suffix or '.jsonl'}")
        os.replace(self.path, rotated)
        if self._directory is not None:
            self.path = self._spool_file_name()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class JSONLProcessor(BatchingProcessor):
    """Writes finished spans and traces as JSON lines.

    `path` is a file, or a directory (existing, or given with a trailing slash), in which case
    each process writes its own `agentoscope-<host>-<pid>-<time>.jsonl`: many agent processes can
    share one spool directory. When the file reaches `max_bytes` it is renamed to
    `<stem>.<UTC time>.jsonl` beside it and a new file is started.
    """

    exporter: JSONLExporter

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = False,
        max_queue_size: int = 262_144,
        max_batch_size: int = 2_048,
        schedule_delay: float = 0.2,
    ) -> None:
        super().__init__(
            JSONLExporter(path, max_bytes=max_bytes, fsync=fsync),
            max_queue_size=max_queue_size,
            max_batch_size=max_batch_size,
            schedule_delay=schedule_delay,
        )

    @property
    def path(self) -> Path:
        """The file being written now (it changes when a spool directory's file rotates)."""
        return self.exporter.path
