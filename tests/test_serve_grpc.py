"""`serve` over OTLP/gRPC with the generated TraceService client: a bad request is INVALID_ARGUMENT
with the reason and stores nothing; a wrong token is UNAUTHENTICATED."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from support.serve import running_service

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
