"""OTLPProcessor against endpoints that are down, come back, or are configured by the standard
OpenTelemetry variables."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from agentoscope import tracing
from agentoscope.tracing.processors.otlp import OTLPProcessor
from support.serve import free_port, running_service, wait_until


def _run_trace(name: str, spans: int = 5) -> str:
    with tracing.trace(name) as current:
        for index in range(spans):
            with tracing.function_span(f"tool_{index}", input="{}", output="ok"):
                pass
    return current.trace_id


class _ThreadNotingExporter(OTLPSpanExporter):
    """The real OTLP/HTTP exporter, noting which threads it exports on."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint=endpoint, timeout=3)
        self.threads: set[str] = set()

    def export(self, spans: Any) -> SpanExportResult:
        self.threads.add(threading.current_thread().name)
        return super().export(spans)


def test_dead_endpoint_costs_the_agent_nothing_and_export_resumes(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    span_exporter = _ThreadNotingExporter(f"http://127.0.0.1:{port}/v1/traces")
    exporter = OTLPProcessor(
        exporter=span_exporter,
        max_queue_size=50,
        max_batch_size=20,
        schedule_delay=0.05,
        flush_timeout=0.5,
    )
    tracing.set_trace_processors([exporter])

    for index in range(20):
        _run_trace(f"while down {index}", spans=10)  # 220 records into a queue of 50
    # The agent never waits on the exporter (which spends up to 3 s per batch retrying): what
    # did not fit in the queue was dropped and counted, and no export ran on this thread.
    assert exporter.stats()["dropped"] > 0
    wait_until(lambda: exporter.stats()["failed_batches"] >= 1, 20, "a failed batch to be counted")
    # The sender counts the batch as it fails; its records count as failed once the worker
    # settles it, on its next round, and until then they are still counted as queued.
    wait_until(lambda: exporter.stats()["failed_records"] >= 1, 5, "its records to be counted")
    assert threading.current_thread().name not in span_exporter.threads
    # Batches still wait behind the retrying one: a bounded flush gives up and says so.
    assert exporter.force_flush(timeout=0.2) is False

    with running_service(tmp_path / "store.duckdb", http_port=port, grpc_port=None) as service:
        trace_id = _run_trace("after recovery")
        wait_until(
            lambda: len(service.query("SELECT 1 FROM spans WHERE trace_id = ?", [trace_id])) == 5,
            30,
            "spans exported after the endpoint came back",
        )
        assert len(service.query("SELECT 1 FROM traces WHERE trace_id = ?", [trace_id])) == 1
    stats = exporter.stats()
    assert stats["exported"] >= 6
    exporter.shutdown(timeout=5)


def test_standard_variables_configure_the_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_service(
        tmp_path / "store.duckdb", http_port=0, grpc_port=0, token="s3cret"
    ) as service:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{service.grpc_port}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer s3cret")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout-agent")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "1000")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        exporter = OTLPProcessor()
        assert (exporter._max_queue_size, exporter._schedule_delay) == (1000, 0.05)
        assert exporter.protocol == "grpc"
        assert exporter.resource.attributes["service.name"] == "checkout-agent"
        assert exporter.resource.attributes["deployment.environment"] == "test"
        tracing.set_trace_processors([exporter])
        trace_id = _run_trace("configured by env", spans=2)
        tracing.flush_traces()
        assert exporter.stats()["failed_batches"] == 0
        assert len(service.query("SELECT 1 FROM spans WHERE trace_id = ?", [trace_id])) == 2

        # The signal-specific variables win, as OpenTelemetry specifies.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{service.http_url}/v1/traces")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization=Bearer s3cret")
        http_exporter = OTLPProcessor(schedule_delay=0.05)
        assert http_exporter.protocol == "http/protobuf"
        tracing.set_trace_processors([http_exporter])
        trace_id = _run_trace("traces variables", spans=3)
        tracing.flush_traces()
        assert http_exporter.stats()["failed_batches"] == 0
        assert len(service.query("SELECT 1 FROM spans WHERE trace_id = ?", [trace_id])) == 3


def test_unsupported_protocol_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match=r"http/json.*grpc, http/protobuf"):
        OTLPProcessor()


def test_configure_registers_the_processor(tmp_path: Path) -> None:
    with running_service(tmp_path / "store.duckdb", grpc_port=None) as service:
        processors = tracing.configure(otlp=service.http_url)
        exporter = next(p for p in processors if isinstance(p, OTLPProcessor))
        trace_id = _run_trace("via configure", spans=1)
        tracing.flush_traces()
        assert exporter.stats()["failed_batches"] == 0
        assert len(service.query("SELECT 1 FROM spans WHERE trace_id = ?", [trace_id])) == 1
        tracing.configure(otlp=False)
