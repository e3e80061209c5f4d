"""`serve` over HTTP: bad payloads refused whole with the reason, OTLP/JSON and gzip accepted, the
bearer token enforced, read-only SQL for readers, health."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from agentoscope import tracing
from agentoscope.tracing.processors.otlp import OTLPProcessor
from agentoscope.tracing.store.client import StoreClient, StoreClientError
from support.serve import running_service

PROTOBUF = {"Content-Type": "application/x-protobuf"}
START = 1_763_683_200_000_000_000  # 2025-11-21T00:00:00Z


def _span(span_id: bytes, name: str = "step", trace_id: bytes = b"\x01" * 16) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        start_time_unix_nano=START,
        end_time_unix_nano=START + 1_500_000,
        attributes=[KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat"))],
    )


def _request(*spans: Span) -> bytes:
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])]
    )
    return request.SerializeToString()


def _span_count(service: Any) -> int:
    return int(service.query("SELECT count(*) AS n FROM spans")["n"][0])


@pytest.fixture(params=[1, 0], ids=["decode-worker", "decode-in-process"])
def service(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """Requests decoded in a worker process (as `agentoscope serve` does) and in serve's own."""
    with running_service(
        tmp_path / "store.duckdb",
        grpc_port=None,
        max_body_bytes=200_000,
        decode_workers=request.param,
    ) as running:
        yield running


def test_malformed_protobuf_is_refused_with_the_reason(service: Any) -> None:
    response = httpx.post(
        f"{service.http_url}/v1/traces", content=b"\xff\xff\xff", headers=PROTOBUF
    )
    assert response.status_code == 400
    status = status_pb2.Status.FromString(response.content)
    assert "invalid OTLP protobuf" in status.message
    assert _span_count(service) == 0
    assert service.health()["requests"]["otlp_rejected"] == 1


def test_a_request_is_stored_once_and_counted(service: Any) -> None:
    body = _request(_span(b"\x00" * 7 + b"\x01"), _span(b"\x00" * 7 + b"\x02", name="other"))
    for _ in range(2):  # the second time: everything is a duplicate
        response = httpx.post(f"{service.http_url}/v1/traces", content=body, headers=PROTOBUF)
        assert response.status_code == 200
    assert (service.decode_pool is not None) == (service.decode_workers > 0)
    assert _span_count(service) == 2
    ingest = service.health()["ingest"]
    # Each request: 2 spans and a trace record per root span (one trace, so one repeated).
    assert {key: ingest[key] for key in ("records", "spans", "traces", "duplicates")} == {
        "records": 8,
        "spans": 2,
        "traces": 1,
        "duplicates": 1 + 4,
    }
    assert ingest["failed_jobs"] == 0


def test_one_bad_span_rejects_the_whole_request(service: Any) -> None:
    body = _request(_span(b"\x00" * 7 + b"\x01"), _span(b"\x02" * 4, name="bad id"))
    response = httpx.post(f"{service.http_url}/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 400
    message = status_pb2.Status.FromString(response.content).message
    assert "spans[1]" in message and "span_id must be 8 bytes" in message
    assert _span_count(service) == 0  # the good span of that request is not stored either


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "expected an object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}', "not hex"),
        (b'{"resourceSpans": "nope"}', "invalid OTLP JSON"),
    ],
)
def test_malformed_json_is_refused_with_the_reason(service: Any, body: bytes, reason: str) -> None:
    response = httpx.post(
        f"{service.http_url}/v1/traces", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert _span_count(service) == 0


def test_otlp_json_with_hex_ids_is_stored(service: Any) -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "curl"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "parentSpanId": "eee19b7ec3c1b173",
                                "name": "execute_tool search",
                                "kind": 1,
                                "startTimeUnixNano": str(START),
                                "endTimeUnixNano": str(START + 2_000_000),
                                "attributes": [
                                    {
                                        "key": "gen_ai.operation.name",
                                        "value": {"stringValue": "execute_tool"},
                                    },
                                    {"key": "gen_ai.tool.name", "value": {"stringValue": "search"}},
                                ],
                                "status": {"code": 2, "message": "timeout"},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    response = httpx.post(f"{service.http_url}/v1/traces", json=document)
    assert response.status_code == 200, response.text
    row = service.query("SELECT * FROM spans").iloc[0]
    assert row["trace_id"] == "trace_5b8efff798038103d269b633813fc60c"
    assert row["span_id"] == "span_00000000eee19b7ec3c1b174"
    assert row["parent_id"] == "span_00000000eee19b7ec3c1b173"
    assert (row["span_type"], row["tool_name"], row["status"]) == ("function", "search", "error")
    assert row["error_message"] == "timeout"
    assert row["duration_ms"] == 2.0


def test_gzip_bodies_are_accepted(service: Any) -> None:
    body = gzip.compress(_request(_span(b"\x00" * 7 + b"\x05")))
    response = httpx.post(
        f"{service.http_url}/v1/traces",
        content=body,
        headers={**PROTOBUF, "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert _span_count(service) == 1

    exporter = OTLPProcessor(endpoint=service.http_url, compression="gzip", schedule_delay=0.05)
    tracing.set_trace_processors([exporter])
    with tracing.trace("gzip"):
        with tracing.custom_span("compressed", {"n": 1}):
            pass
    tracing.flush_traces()
    assert exporter.stats()["failed_batches"] == 0
    assert _span_count(service) == 2

    corrupt = httpx.post(
        f"{service.http_url}/v1/traces",
        content=b"not gzip",
        headers={**PROTOBUF, "Content-Encoding": "gzip"},
    )
    assert corrupt.status_code == 400
    bomb = gzip.compress(b"\x00" * 1_000_000)  # unpacks beyond max_body_bytes
    too_big = httpx.post(
        f"{service.http_url}/v1/traces",
        content=bomb,
        headers={**PROTOBUF, "Content-Encoding": "gzip"},
    )
    assert too_big.status_code == 413
    assert _span_count(service) == 2


def test_oversized_body_and_unknown_routes(service: Any) -> None:
    response = httpx.post(
        f"{service.http_url}/v1/traces", content=b"\x00" * 300_000, headers=PROTOBUF
    )
    assert response.status_code == 413
    assert httpx.get(f"{service.http_url}/nope").status_code == 404
    assert httpx.post(f"{service.http_url}/v1/logs", content=b"").status_code == 404


def test_token_is_required_for_ingest_and_query(tmp_path: Path) -> None:
    with running_service(tmp_path / "store.duckdb", token="s3cret") as service:
        body = _request(_span(b"\x00" * 7 + b"\x09"))
        url = f"{service.http_url}/v1/traces"
        assert httpx.post(url, content=body, headers=PROTOBUF).status_code == 401
        wrong = {**PROTOBUF, "Authorization": "Bearer nope"}
        assert httpx.post(url, content=body, headers=wrong).status_code == 401
        query = f"{service.http_url}/v1/query"
        assert httpx.post(query, json={"sql": "SELECT 1"}).status_code == 401
        assert httpx.get(f"{service.http_url}/health").json()["status"] == "ok"
        assert _span_count(service) == 0

        right = {**PROTOBUF, "Authorization": "Bearer s3cret"}
        assert httpx.post(url, content=body, headers=right).status_code == 200
        with pytest.raises(StoreClientError, match="401"):
            StoreClient(service.http_url).query("SELECT 1")
        assert (
            StoreClient(service.http_url, token="s3cret").query("SELECT count(*) AS n FROM spans")[
                "n"
            ][0]
            == 1
        )

        # gRPC: the same token, as metadata.
        grpc_endpoint = f"http://127.0.0.1:{service.grpc_port}"
        refused = OTLPProcessor(
            endpoint=grpc_endpoint, protocol="grpc", timeout=2, schedule_delay=0.05
        )
        allowed = OTLPProcessor(
            endpoint=grpc_endpoint,
            protocol="grpc",
            headers={"authorization": "Bearer s3cret"},
            schedule_delay=0.05,
        )
        tracing.set_trace_processors([refused, allowed])
        with tracing.trace("grpc token") as current:
            with tracing.custom_span("one", {}):
                pass
        tracing.flush_traces()
        assert refused.stats()["failed_batches"] >= 1
        assert allowed.stats()["failed_batches"] == 0
        stored = service.query(
            "SELECT count(*) AS n FROM spans WHERE trace_id = ?", [current.trace_id]
        )
        assert stored["n"][0] == 1


def test_sql_is_read_only_and_typed_like_the_store(service: Any) -> None:
    exporter = OTLPProcessor(endpoint=service.http_url, schedule_delay=0.05)
    tracing.set_trace_processors([exporter])
    with tracing.trace("queries"):
        with tracing.generation_span(model="gpt-4o", usage={"input_tokens": 3, "output_tokens": 1}):
            pass
    tracing.flush_traces()

    sql = "SELECT span_id, model, started_at, input_tokens, data FROM spans WHERE model = ?"
    client = StoreClient(service.http_url)
    remote = client.query(sql, ["gpt-4o"])
    pd.testing.assert_frame_equal(remote, service.query(sql, ["gpt-4o"]))
    assert client.health()["ingest"]["spans"] == 1
    since = "SELECT count(*) AS n FROM spans WHERE started_at >= $since AND started_at < $until"
    window = {"since": datetime(2000, 1, 1, tzinfo=UTC), "until": datetime.now(UTC) + timedelta(1)}
    assert client.query(since, window)["n"][0] == 1  # datetimes mean what they mean locally
    pd.testing.assert_frame_equal(client.query(since, window), service.query(since, window))

    as_json = httpx.post(
        f"{service.http_url}/v1/query", json={"sql": sql, "params": ["gpt-4o"]}
    ).json()
    assert as_json["columns"] == ["span_id", "model", "started_at", "input_tokens", "data"]
    assert as_json["data"][0][1:2] == ["gpt-4o"]

    for statement in (
        "DELETE FROM spans",
        "DROP TABLE spans",
        "SELECT * FROM read_csv('/etc/passwd')",
    ):
        response = httpx.post(f"{service.http_url}/v1/query", json={"sql": statement})
        assert response.status_code == 400, statement
        assert response.json()["error"]
    malformed = httpx.post(
        f"{service.http_url}/v1/query",
        content=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert httpx.post(f"{service.http_url}/v1/query", json={"params": []}).status_code == 400
    assert len(service.query("SELECT * FROM spans")) == 1
