"""JSON Lines: `JSONLProcessor` writes one record per line; `read_jsonl` reads them back.

The files double as the store's spool: `agentoscope serve --spool DIR` and `agentoscope ingest`
read them. Every batch is written with one `write` and flushed, so a `kill -9` can only tear the
last line, which readers skip.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .batching import BatchingProcessor
from .records import RECORD_VERSION

logger = logging.getLogger("agentoscope.tracing")

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
_WRITE_BUFFER = 4 * 1024 * 1024


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class JSONLProcessor(BatchingProcessor):
    """Writes finished spans and traces as JSON lines.

    `path` is a file, or a directory (existing, or given with a trailing slash), in which case
    each process writes its own `agentoscope-<host>-<pid>-<time>.jsonl`: many agent processes can
    share one spool directory. When the file reaches `max_bytes` it is renamed to
    `<stem>.<UTC time>.jsonl` beside it and a new file is started.
    """

    record_chunk = 64

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = False,
        max_queue_size: int = 65_536,
        max_batch_size: int = 2_048,
        schedule_delay: float = 0.2,
    ) -> None:
        super().__init__(
            max_queue_size=max_queue_size,
            max_batch_size=max_batch_size,
            schedule_delay=schedule_delay,
        )
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

    def export(self, records: list[dict[str, Any]]) -> None:
        if self._file is None:
            self._file = self._open()
        dumps = orjson.dumps
        newline = orjson.OPT_APPEND_NEWLINE
        write = self._file.write
        written = 0
        for record in records:
            written += write(dumps(record, option=newline))
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


@dataclass(frozen=True)
class MalformedLine:
    """A line that is not a record: where it is, why, and the start of its text."""

    path: str
    line: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def _log_malformed(problem: MalformedLine) -> None:
    logger.warning("skipping malformed JSONL line %s", problem)


def check_record(value: Any) -> str | None:
    """Why `value` is not a record we can store, or None if it is one."""
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    kind = value.get("kind")
    if kind not in ("span", "trace"):
        return f"unknown record kind {kind!r} (expected 'span' or 'trace')"
    version = value.get("v")
    if not isinstance(version, int) or version < 1:
        return f"missing or invalid record version 'v': {version!r}"
    if version > RECORD_VERSION:
        return f"record version {version} is newer than this reader ({RECORD_VERSION})"
    if not isinstance(value.get("trace_id"), str):
        return "missing 'trace_id'"
    if kind == "span" and not isinstance(value.get("span_id"), str):
        return "missing 'span_id'"
    return None


def read_jsonl(
    path: str | os.PathLike[str],
    on_error: Callable[[MalformedLine], None] | None = _log_malformed,
) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file in order. Lines that are not records go to `on_error`
    (by default a warning naming file and line) and are skipped; the good lines are all yielded.
    A torn last line (no newline at the end, not valid JSON) is what a crash mid-write leaves:
    it is skipped silently."""
    name = os.fspath(path)
    with open(name, "rb") as handle:
        previous: bytes | None = None
        number = 0
        for raw in handle:
            if previous is not None:
                yield from _parse_line(previous, name, number, on_error, last=False)
            previous = raw
            number += 1
        if previous is not None:
            yield from _parse_line(previous, name, number, on_error, last=True)


def _parse_line(
    raw: bytes,
    path: str,
    number: int,
    on_error: Callable[[MalformedLine], None] | None,
    last: bool,
) -> Iterator[dict[str, Any]]:
    complete = raw.endswith(b"\n")
    text = raw.strip()
    if not text:
        return
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if last and not complete:
            logger.debug("%s:%d: torn last line skipped", path, number)
            return
        reason = f"invalid JSON: {error}"
    else:
        problem = check_record(value)
        if problem is None:
            yield value
            return
        reason = problem
    if on_error is not None:
        on_error(MalformedLine(path, number, reason, text[:200].decode("utf-8", "replace")))
