"""Stores across processes: a second process gets a clear lock message, readers share the file,
and `kill -9` in the middle of ingesting loses only the batch in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentoscope.tracing.store import SpanStore, StoreLockedError
from support.store_spans import span, store_rows

# Each test starts and stops whole processes.
pytestmark = pytest.mark.slow

# Records of batch n: BATCH spans of one trace, starting one second after batch n-1.
CHILD_PRELUDE = """
import sys
from datetime import datetime, timedelta

BATCH = 1000
START = datetime(2026, 1, 1)

def batch(n):
    base = START + timedelta(seconds=n)
    records = []
    for k in range(BATCH):
        at = (base + timedelta(microseconds=k)).isoformat() + "+00:00"
        records.append({"v": 1, "kind": "span", "trace_id": f"trace_{n}",
                        "span_id": f"span_{n}_{k}", "parent_id": None, "span_type": "custom",
                        "name": "step", "started_at": at, "ended_at": at, "duration_ms": 0.0,
                        "status": "ok", "data": {"type": "custom", "n": n, "pad": "x" * 200}})
    return records
"""


def _child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """Another process that owns a store through a DuckDBProcessor until its stdin closes."""
    path = tmp_path / "owned.duckdb"
    process = _child(
        f"""
        from agentoscope.tracing.processors.duckdb import DuckDBProcessor
        processor = DuckDBProcessor({str(path)!r})
        processor.export(batch(0))
        print("ready", flush=True)
        sys.stdin.read()
        processor.shutdown()
        """
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    yield path, process
    if process.poll() is None:
        process.communicate("", timeout=30)


def test_second_process_gets_a_clear_lock_message(
    owner: tuple[Path, subprocess.Popen[str]],
) -> None:
    path, process = owner
    for read_only in (False, True):
        with pytest.raises(StoreLockedError) as caught:
            SpanStore(path, read_only=read_only)
        message = str(caught.value)
        assert str(path) in message and f"PID {process.pid}" in message
        assert "agentoscope serve" in message and "wait for" in message
        assert caught.value.pid == process.pid
    process.communicate("", timeout=30)  # the owner exits...
    with SpanStore(path, read_only=True) as reader:  # ...and the file opens
        assert reader.query("SELECT count(*) AS n FROM spans")["n"].tolist() == [1000]


def test_a_processor_whose_store_is_owned_elsewhere_counts_failures_and_recovers(
    owner: tuple[Path, subprocess.Popen[str]], caplog: pytest.LogCaptureFixture
) -> None:
    from agentoscope import tracing
    from agentoscope.tracing.processors.duckdb import DuckDBProcessor

    path, process = owner
    processor = DuckDBProcessor(path)
    assert processor.store is None and "agentoscope serve" in caplog.text
    tracing.set_trace_processors([processor])
    with tracing.trace("while owned"), tracing.custom_span("lost", {}):
        pass
    processor.force_flush()  # the batch fails: counted and logged, the agent carries on
    assert processor.stats()["errors"] == 1 and processor.stats()["failed_records"] == 2
    process.communicate("", timeout=30)
    with tracing.trace("after the owner left"), tracing.custom_span("kept", {}):
        pass
    tracing.shutdown_tracing()
    assert processor.stats()["exported"] == 2
    rows = store_rows(path, "SELECT workflow_name FROM traces WHERE NOT inferred")
    assert [r["workflow_name"] for r in rows] == ["after the owner left"]


def test_readers_in_several_processes_share_the_file_and_block_writers(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    with SpanStore(path) as store:
        store.ingest([span("t1", "s1")])
    with SpanStore(path, read_only=True) as reader:
        other = _child(
            f"""
            from agentoscope.tracing.store import SpanStore
            with SpanStore({str(path)!r}, read_only=True) as store:
                print(store.query("SELECT count(*) AS n FROM spans")["n"].tolist()[0], flush=True)
            """
        )
        out, err = other.communicate(timeout=60)
        assert other.returncode == 0, err
        assert out.strip() == "1"
        writer = _child(
            f"""
            from agentoscope.tracing.store import SpanStore, StoreLockedError
            try:
                SpanStore({str(path)!r})
            except StoreLockedError as error:
                print(error.pid, error, flush=True)
            """
        )
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        assert out.startswith(f"{os.getpid()} ") and "read-write" in out
        assert reader.query("SELECT count(*) AS n FROM spans")["n"].tolist() == [1]


@pytest.mark.slow
def test_kill_9_while_ingesting_loses_only_the_batch_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    process = _child(
        f"""
        from agentoscope.tracing.store import SpanStore
        store = SpanStore({str(path)!r})
        n = 0
        while True:
            store.ingest(batch(n))  # one transaction; acknowledged only once it returns
            print(n, flush=True)
            n += 1
        """
    )
    assert process.stdout is not None
    acknowledged = -1
    while acknowledged < 5:  # let a few batches commit, then kill in the middle of the next
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "child died"
        acknowledged = int(line)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    for line in process.stdout.read().split():  # acknowledgements written before the kill
        acknowledged = int(line)

    with SpanStore(path) as store:  # reopens read-write: the WAL is replayed
        batches = store.query(
            "SELECT trace_id, count(*) AS n, count(DISTINCT span_id) AS ids, "
            "count(data->>'pad') AS payloads FROM spans GROUP BY 1"
        )
        inferred = store.query("SELECT count(*) AS n FROM traces")["n"].tolist()[0]
    assert set(batches["n"]) == {1000} and set(batches["ids"]) == {1000}
    assert set(batches["payloads"]) == {1000}
    stored = sorted(int(trace_id.split("_")[1]) for trace_id in batches["trace_id"])
    # Every acknowledged batch is there; at most the one batch committed but not yet
    # acknowledged when the kill came is there too; nothing partial.
    assert stored[: acknowledged + 1] == list(range(acknowledged + 1))
    assert len(stored) - (acknowledged + 1) in (0, 1)
    assert inferred == len(stored)


def test_a_clean_exit_stores_every_span_without_an_explicit_shutdown(tmp_path: Path) -> None:
    """The exit flush runs after Python has stopped its thread pools: the processor's last
    batches are written in the flushing thread instead, and nothing is lost."""
    path = tmp_path / "exit.duckdb"
    code = f"""
        from agentoscope import tracing
        tracing.set_trace_processors([tracing.DuckDBProcessor({str(path)!r})])
        with tracing.trace("exit"):
            for i in range(25_000):  # more than two batches are still queued at exit
                with tracing.custom_span(f"s{{i}}"):
                    pass
        """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "failed" not in done.stderr, done.stderr
    rows = store_rows(
        path, "SELECT (SELECT count(*) FROM spans) AS spans, count(*) AS traces FROM traces"
    )
    assert (rows[0]["spans"], rows[0]["traces"]) == (25_000, 1)
