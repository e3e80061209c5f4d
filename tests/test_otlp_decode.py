"""What `serve` decodes from OTLP: our spans come back as the very records that were sent (every
key, same values), foreign spans as records with every key, and a record that is not well formed
refuses the whole request."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource

from agentoscope.tracing.otel.decode import records_from_payload
from agentoscope.tracing.otel.mapping import A_RECORD, otel_spans_from_records
from agentoscope.tracing.processors.otlp import readable_span
from agentoscope.tracing.schema import SPAN_RECORD_FIELDS, TRACE_RECORD_FIELDS
from agentoscope.tracing.serve.workers import decode_and_prepare
from agentoscope.tracing.store.ingest import prepare_batch, split_records
from support.serve import every_span_type_records, running_service

START = 1_763_683_200_000_000_000  # 2025-11-21T00:00:00Z


def _body(records: list[dict[str, Any]]) -> bytes:
    """The OTLP/HTTP body OTLPProcessor sends for `records` (content captured)."""
    spans = otel_spans_from_records(records, capture_content=True)
    resource = Resource.create({})
    return encode_spans([readable_span(span, resource) for span in spans]).SerializeToString()


def test_our_spans_decode_to_the_records_sent() -> None:
    sent = every_span_type_records()
    decoded = records_from_payload(_body(sent), "application/x-protobuf")
    by_id = {(r["kind"], r.get("span_id") or r["trace_id"]): r for r in decoded}
    assert len(by_id) == len(sent) == len(decoded)
    for record in sent:
        back = by_id[(record["kind"], record.get("span_id") or record["trace_id"])]
        assert back == record
        fields = SPAN_RECORD_FIELDS if record["kind"] == "span" else TRACE_RECORD_FIELDS
        assert tuple(back) == fields  # every key, in record order


def test_serve_workers_prepare_the_same_rows_as_the_records(tmp_path: Path) -> None:
    """Serve's decoding workers keep our spans' times as nanoseconds instead of ISO text; the
    prepared Arrow tables are the ones the records make, times to the microsecond included, also
    in a request that mixes our spans with a foreign one (whose times are text)."""
    sent = every_span_type_records()
    foreign = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        name="step",
        start_time_unix_nano=START + 1_234_567,
        end_time_unix_nano=START + 9_876_543,
    )
    ours = ExportTraceServiceRequest.FromString(_body(sent))
    mixed = ExportTraceServiceRequest.FromString(_body(sent))
    mixed.resource_spans[0].scope_spans[0].spans.append(foreign)
    for body in (ours.SerializeToString(), mixed.SerializeToString()):
        prepared = decode_and_prepare(body, "application/x-protobuf")
        expected = prepare_batch(
            split_records(records_from_payload(body, "application/x-protobuf"), validate=False)
        )
        assert prepared is not None and prepared.spans is not None
        assert prepared.spans.equals(expected.spans)
        assert prepared.traces is not None and prepared.traces.equals(expected.traces)
        assert prepared.starts == expected.starts
    started = prepared.spans.column("started_at").to_pylist()
    assert started[-1] == datetime(2025, 11, 21, 0, 0, 0, 1234)  # the foreign span, floored to µs


def _foreign_request(*spans: Span) -> bytes:
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])]
    )
    return request.SerializeToString()


def test_foreign_spans_decode_to_records_with_every_key() -> None:
    root = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        name="chat gpt-4o",
        start_time_unix_nano=START,
        end_time_unix_nano=START + 2_000_000,
        attributes=[
            KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat")),
            KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=12)),
            KeyValue(key="gen_ai.request.temperature", value=AnyValue(double_value=0.5)),
            KeyValue(key="stream", value=AnyValue(bool_value=True)),
        ],
    )
    span, trace = records_from_payload(_foreign_request(root), None)
    assert tuple(span) == SPAN_RECORD_FIELDS
    assert tuple(trace) == TRACE_RECORD_FIELDS
    assert span["span_type"] == "generation" and span["input_tokens"] == 12
    assert span["started_at"] == "2025-11-21T00:00:00.000000+00:00"
    assert span["ended_at"] == "2025-11-21T00:00:00.002000+00:00"
    assert span["data"]["otel"]["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.request.temperature": 0.5,
        "stream": True,
    }


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        ('{"span_id": "span_1", "trace_id": 7}', "trace_id that is not a string"),
        ('{"kind": "trace", "trace_id": ["x"]}', "trace_id that is not a string"),
        ('{"span_id": 5}', "no span_id"),
        ("[1]", "not a JSON object"),
    ],
)
def test_a_record_that_is_not_well_formed_refuses_the_request(
    tmp_path: Path, blob: str, reason: str
) -> None:
    good = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x03" * 8,
        start_time_unix_nano=START,
        end_time_unix_nano=START + 1_000,
        attributes=[KeyValue(key=A_RECORD, value=AnyValue(string_value='{"span_id": "s_ok"}'))],
    )
    bad = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x04" * 8,
        start_time_unix_nano=START,
        end_time_unix_nano=START + 1_000,
        attributes=[KeyValue(key=A_RECORD, value=AnyValue(string_value=blob))],
    )
    with running_service(tmp_path / "store.duckdb", grpc_port=None) as service:
        response = httpx.post(
            f"{service.http_url}/v1/traces",
            content=_foreign_request(good, bad),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 400
        message = status_pb2.Status.FromString(response.content).message
        assert "spans[1]" in message and reason in message
        assert int(service.query("SELECT count(*) AS n FROM spans")["n"][0]) == 0
        assert int(service.query("SELECT count(*) AS n FROM traces")["n"][0]) == 0
