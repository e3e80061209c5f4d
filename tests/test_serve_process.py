"""`agentoscope serve` as a process: it owns the store, SIGTERM commits everything it took (OTLP and
the spool) and exits 0, and a second owner is turned away with a clear message."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from agentoscope import tracing
from agentoscope.tracing.processors.jsonl import JSONLProcessor
from agentoscope.tracing.processors.otlp import OTLPProcessor
from agentoscope.tracing.store import SpanStore
from support.serve import free_port, serve_subprocess, wait_healthy

# Each test starts and stops whole processes.
pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_sigterm_flushes_and_exits_cleanly(tmp_path: Path) -> None:
    store, spool = tmp_path / "traces.duckdb", tmp_path / "spool"
    http_port, grpc_port = free_port(), free_port()
    args = ["--store", str(store), "--http-port", str(http_port), "--grpc-port", str(grpc_port)]
    with serve_subprocess(*args, "--spool", str(spool)) as process:
        url = f"http://127.0.0.1:{http_port}"
        wait_healthy(url, process)

        exporter = OTLPProcessor(endpoint=url, schedule_delay=0.05)
        jsonl = JSONLProcessor(f"{spool}/", schedule_delay=0.05)
        tracing.set_trace_processors([exporter])
        with tracing.trace("over otlp") as over_otlp:
            with tracing.agent_span("Exporter"):
                pass
        tracing.flush_traces()
        assert exporter.stats()["failed_batches"] == 0
        tracing.set_trace_processors([jsonl])
        with tracing.trace("through the spool") as spooled:
            with tracing.agent_span("Spooler"):
                pass
        tracing.flush_traces()  # on disk now; serve has not necessarily read it yet

        with serve_subprocess(
            "--store", str(store), "--http-port", "0", "--grpc-port", "-1"
        ) as second:
            assert second.wait(30) == 1
            assert second.stderr is not None
            message = second.stderr.read()
        assert "another process" in message and f"PID {process.pid}" in message

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert process.stderr is not None
        assert "stopped" in process.stderr.read()

    with SpanStore(store, read_only=True) as reader:
        names = reader.query("SELECT trace_id, name FROM spans ORDER BY name")
        traces = set(reader.query("SELECT trace_id FROM traces")["trace_id"])
    assert list(names["name"]) == ["Exporter", "Spooler"]
    assert {over_otlp.trace_id, spooled.trace_id} <= traces
