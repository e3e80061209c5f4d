"""Spool ingestion for `agentoscope serve --spool DIR`: the JSONL files that agent processes'
`JSONLProcessor`s write into a shared directory go into the store, each record once.

Files are followed by identity (device and inode), not by name, because `JSONLProcessor`
rotates by renaming: a renamed file keeps its progress. A growing file is read from where the
last pass stopped up to its last complete line (a line still being written waits for the next
pass). Progress is saved in a small JSON file after the records are committed, so a restart
does not read anything twice; the store's duplicate protection covers the moment between commit
and save.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..schema import MalformedLine, check_record

logger = logging.getLogger("agentoscope.serve")

STATE_VERSION = 1
MAX_READ_BYTES = 16 * 1024 * 1024  # per file and pass: bounds memory on a huge backlog


@dataclass
class _Progress:
    name: str
    offset: int = 0
    line: int = 0


def _same_file(progress: _Progress, name: str, size: int) -> bool:
    """Whether a known inode still holds the file we followed: not shrunk, and either the same
    name or a rotation of it (`<stem>.<stamp>.jsonl`). Otherwise the inode was reused."""
    if size < progress.offset:
        return False
    if name == progress.name:
        return True
    return name.startswith(progress.name.removesuffix(".jsonl") + ".")


class SpoolIngester:
    """Reads new complete lines of `*.jsonl` in `directory` and hands their records to
    `ingest(records)`, which must return once they are committed (or raise)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        ingest: Callable[[list[dict[str, Any]]], Any],
        state_path: str | os.PathLike[str],
        interval: float = 0.5,
    ) -> None:
        self.directory = Path(directory)
        self.ingest = ingest
        self.state_path = Path(state_path)
        self.interval = interval
        self.counts = {"files": 0, "records": 0, "malformed_lines": 0, "errors": 0}
        self.last_malformed: list[str] = []
        self._files: dict[str, _Progress] = self._load_state()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()

    # -- progress ------------------------------------------------------------------------------

    def _load_state(self) -> dict[str, _Progress]:
        try:
            state = orjson.loads(self.state_path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as error:
            logger.warning(
                "spool progress %s unreadable (%s): starting over; the store skips duplicates",
                self.state_path,
                error,
            )
            return {}
        files = state.get("files") if isinstance(state, dict) else None
        if not isinstance(files, dict):
            return {}
        return {
            key: _Progress(str(value.get("name", "")), int(value["offset"]), int(value["line"]))
            for key, value in files.items()
            if isinstance(value, dict) and "offset" in value and "line" in value
        }

    def _save_state(self) -> None:
        state = {
            "version": STATE_VERSION,
            "directory": str(self.directory),
            "files": {
                key: {"name": p.name, "offset": p.offset, "line": p.line}
                for key, p in self._files.items()
            },
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_bytes(orjson.dumps(state))
        os.replace(temporary, self.state_path)

    # -- one pass ------------------------------------------------------------------------------

    def scan_once(self) -> int:
        """Ingest what is new in every spool file; returns the number of records ingested."""
        with self._pass_lock:
            return self._scan()

    def _scan(self) -> int:
        try:
            entries = [
                (entry.stat(), entry)
                for entry in os.scandir(self.directory)
                if entry.name.endswith(".jsonl") and entry.is_file()
            ]
        except FileNotFoundError:
            return 0
        # Oldest first, so rotated files go in before the file that replaced them.
        entries.sort(key=lambda item: (item[0].st_mtime_ns, item[1].name))
        seen: set[str] = set()
        total = 0
        changed = False
        for stat, entry in entries:
            key = f"{stat.st_dev}:{stat.st_ino}"
            seen.add(key)
            progress = self._files.get(key)
            if progress is None or not _same_file(progress, entry.name, stat.st_size):
                progress = _Progress(entry.name)
                self._files[key] = progress
                changed = True
            elif progress.name != entry.name:
                progress.name = entry.name  # rotated: same file, new name
                changed = True
            if stat.st_size > progress.offset:
                try:
                    total += self._read_new_lines(Path(entry.path), progress)
                except Exception as error:
                    self.counts["errors"] += 1
                    logger.error("spool file %s: %s; will retry", entry.path, error)
                    continue
                changed = True
        for key in list(self._files):
            if key not in seen:  # deleted: forget it
                del self._files[key]
                changed = True
        self.counts["files"] = len(seen)
        if changed:
            self._save_state()
        return total

    def _read_new_lines(self, path: Path, progress: _Progress) -> int:
        with open(path, "rb") as handle:
            handle.seek(progress.offset)
            chunk = handle.read(MAX_READ_BYTES)
        end = chunk.rfind(b"\n")
        if end < 0:
            if len(chunk) == MAX_READ_BYTES:
                self._skip_long_line(path, progress)
            return 0  # only part of a line so far
        complete = chunk[: end + 1]
        records: list[dict[str, Any]] = []
        line_number = progress.line
        for raw in complete.split(b"\n")[:-1]:
            line_number += 1
            text = raw.strip()
            if not text:
                continue
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError as error:
                self._malformed(path, line_number, f"invalid JSON: {error}", text)
                continue
            reason = check_record(value)
            if reason is not None:
                self._malformed(path, line_number, reason, text)
                continue
            records.append(value)
        if records:
            self.ingest(records)  # raises if not committed: progress stays, retried next pass
        progress.offset += len(complete)
        progress.line = line_number
        self.counts["records"] += len(records)
        return len(records)

    def _skip_long_line(self, path: Path, progress: _Progress) -> None:
        with open(path, "rb") as handle:
            handle.seek(progress.offset + MAX_READ_BYTES)
            skipped = MAX_READ_BYTES
            while block := handle.read(1024 * 1024):
                newline = block.find(b"\n")
                if newline >= 0:
                    skipped += newline + 1
                    break
                skipped += len(block)
            else:
                return  # the line is still being written
        progress.offset += skipped
        progress.line += 1
        self._malformed(path, progress.line, f"line longer than {MAX_READ_BYTES} bytes", b"")

    def _malformed(self, path: Path, line: int, reason: str, text: bytes) -> None:
        problem = MalformedLine(str(path), line, reason, text[:200].decode("utf-8", "replace"))
        self.counts["malformed_lines"] += 1
        self.last_malformed = [*self.last_malformed[-9:], str(problem)]
        logger.warning("spool: skipping malformed line %s", problem)

    # -- background thread ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="agentoscope-spool", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan_once()
            except Exception as error:  # keep following the spool whatever happens
                self.counts["errors"] += 1
                logger.error("spool pass failed: %s", error)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop the thread after one last pass, so lines written before the stop are stored."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.scan_once()
        except Exception as error:
            logger.error("final spool pass failed: %s", error)
