"""`serve` over OTLP/gRPC with the generated TraceService client: a bad request is INVALID_ARGUMENT
with the reason and stores nothing; a wrong token is UNAUTHENTICATED. Past the bound on bytes in
flight, RESOURCE_EXHAUSTED with a RetryInfo, which the real OpenTelemetry gRPC exporter honours:
it waits, sends again, and nothing is lost."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from support.serve import running_service, wait_until

START = 1_763_683_200_000_000_000


def _request(*span_ids: bytes) -> ExportTraceServiceRequest:
    spans = [
        Span(
            trace_id=b"\x07" * 16,
            span_id=span_id,
            name=f"step {index}",
            start_time_unix_nano=START,
            end_time_unix_nano=START + 1000,
        )
        for index, span_id in enumerate(span_ids)
    ]
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    )


def test_bad_request_and_token_over_grpc(tmp_path: Path) -> None:
    with running_service(
        tmp_path / "store.duckdb", http_port=None, token="s3cret", decode_workers=1
    ) as service:
        with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = TraceServiceStub(channel)
            auth = (("authorization", "Bearer s3cret"),)

            with pytest.raises(grpc.RpcError) as refused:
                stub.Export(_request(b"\x00" * 7 + b"\x01"), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

            with pytest.raises(grpc.RpcError) as invalid:
                stub.Export(_request(b"\x00" * 7 + b"\x01", b"\x01\x02"), metadata=auth, timeout=10)
            assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "spans[1]: span_id must be 8 bytes" in (invalid.value.details() or "")
            assert service.query("SELECT count(*) AS n FROM spans")["n"][0] == 0

            stub.Export(
                _request(b"\x00" * 7 + b"\x01", b"\x00" * 7 + b"\x02"), metadata=auth, timeout=10
            )
            names = list(service.query("SELECT name FROM spans ORDER BY name")["name"])
    assert names == ["step 0", "step 1"]


def test_over_the_bound_on_bytes_in_flight_the_otel_grpc_exporter_waits_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    with running_service(
        tmp_path / "store.duckdb",
        http_port=None,
        max_body_bytes=1_000_000,
        max_bytes_in_flight=1_000_000,
    ) as service:
        assert service.reserve(1_000_000)  # something else holds the whole budget
        with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            with pytest.raises(grpc.RpcError) as busy:
                TraceServiceStub(channel).Export(_request(b"\x00" * 7 + b"\x09"), timeout=10)
        assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trailers = dict(busy.value.trailing_metadata())  # type: ignore[attr-defined]
        status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
        retry_info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry_info)
        assert retry_info.retry_delay.seconds == 1

        exporter = OTLPSpanExporter(
            endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True, timeout=30
        )
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("grpc-load-test")
        done = threading.Event()

        def emit() -> None:
            for index in range(3):
                with tracer.start_as_current_span(f"step {index}"):
                    pass
            done.set()

        sender = threading.Thread(target=emit)
        sender.start()
        wait_until(lambda: service.health()["requests"]["otlp_throttled"] >= 2, what="refusals")
        assert not done.is_set()
        service.release(1_000_000)
        sender.join(60)
        assert done.is_set()
        provider.shutdown()
        assert service.query("SELECT count(*) AS n FROM spans")["n"][0] == 3
        assert service.health()["bytes_in_flight"] == 0


def test_silent_and_idle_grpc_connections_are_closed(tmp_path: Path) -> None:
    with running_service(tmp_path / "store.duckdb", http_port=None, idle_timeout=0.5) as service:
        silent = socket.create_connection(("127.0.0.1", service.grpc_port))
        half = socket.create_connection(("127.0.0.1", service.grpc_port))
        half.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # the preface, then nothing
        for connection in (silent, half):
            connection.settimeout(30)
            while connection.recv(65536):  # b"": serve closed it
                pass
            connection.close()
        with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
            stub = TraceServiceStub(channel)
            stub.Export(_request(b"\x00" * 7 + b"\x01"), timeout=10)
            time.sleep(1.0)  # past the idle timeout: serve closes the connection, and the
            stub.Export(_request(b"\x00" * 7 + b"\x02"), timeout=10)  # channel reconnects
        assert service.query("SELECT count(*) AS n FROM spans")["n"][0] == 2
