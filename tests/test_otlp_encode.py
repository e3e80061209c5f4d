"""The OTLP sender process encodes requests straight from our OTel spans (`otel.encode`): what
reaches the collector must be the request the OpenTelemetry SDK's own encoder builds from the
same spans, for every span type, with content captured or not, and both exporters (HTTP and
gRPC) must send those requests as they send the SDK's."""

from __future__ import annotations

import pickle
import sys
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource

from agentoscope.tracing.otel.encode import RequestEncoder, any_value, span_message
from agentoscope.tracing.otel.mapping import OtelSpan, otel_spans_from_records
from agentoscope.tracing.otel.run_io import RunIO
from agentoscope.tracing.processors.otlp import SCOPE, build_exporter, readable_span
from agentoscope.tracing.processors.otlp_process import (
    EncodedBatch,
    ExporterSettings,
    _Mapper,
    _take_encoded_batches,
)
from support.serve import every_span_type_records

RESOURCE = Resource(
    {"service.name": "checkout", "deployment.replicas": 3, "region.zones": ("a", "b")},
    "https://opentelemetry.io/schemas/1.26.0",
)


def _odd_spans() -> list[OtelSpan]:
    """What our mapping seldom makes but the encoder must carry as the SDK does: every kind of
    attribute value, events, missing times, each status, each span kind."""
    values: dict[str, Any] = {
        "text": "x",
        "count": 7,
        "big": 2**62,
        "negative": -3,
        "ratio": 0.25,
        "flag": True,
        "off": False,
        "words": ["a", "b"],
        "numbers": (1, 2, 3),
        "empty": (),
        "raw": b"\x00\xff",
    }
    spans = [
        OtelSpan(
            trace_id=2**127 + 5,
            span_id=2**63 + 1,
            parent_span_id=None,
            name="root",
            kind="server",
            start_ns=1,
            end_ns=2**63,
            attributes=values,
            status="ok",
            events=[("exception", 5, {"exception.type": "ValueError"}), ("mark", 6, {})],
        ),
        OtelSpan(
            trace_id=1,
            span_id=2,
            parent_span_id=3,
            name="no times",
            kind="producer",
            start_ns=None,
            end_ns=None,
            attributes={},
            status="error",
            status_message="tool exploded",
        ),
        OtelSpan(1, 4, 2, "consumer", "consumer", 10, 20, {"k": "v"}, "error", None),
        OtelSpan(1, 5, 2, "client", "client", 10, 20, {"k": "v"}),
        # A span decoded from a sender that gave no kind: the SDK has none, it goes as internal.
        OtelSpan(1, 6, 2, "unspecified", "unspecified", 10, 20, {}),
    ]
    return spans


def _sdk_request(spans: list[OtelSpan]) -> ExportTraceServiceRequest:
    return encode_spans([readable_span(span, RESOURCE) for span in spans])


def _our_request(spans: list[OtelSpan]) -> ExportTraceServiceRequest:
    encoder = RequestEncoder(RESOURCE.attributes, RESOURCE.schema_url, SCOPE.name, SCOPE.version)
    return encoder.request([span_message(span) for span in spans])


@pytest.mark.parametrize("capture_content", [False, True])
def test_every_span_type_encodes_to_the_sdk_encoders_request(capture_content: bool) -> None:
    spans = otel_spans_from_records(every_span_type_records(), capture_content, RunIO())
    assert len(spans) >= 12 and any(span.events for span in spans)
    ours, sdk = _our_request(spans), _sdk_request(spans)
    assert ours == sdk
    # Byte for byte: a collector cannot tell the two apart.
    assert ours.SerializeToString(deterministic=True) == sdk.SerializeToString(deterministic=True)


def test_every_value_kind_event_status_and_span_kind_encodes_as_the_sdk_does() -> None:
    spans = _odd_spans()
    ours = _our_request(spans)
    assert ours == _sdk_request(spans)
    sent = ours.resource_spans[0].scope_spans[0].spans
    # server, producer, consumer, client, internal
    assert [span.kind for span in sent] == [2, 4, 5, 3, 1]
    assert sent[1].status.message == "tool exploded" and sent[1].start_time_unix_nano == 0
    resource = {kv.key for kv in ours.resource_spans[0].resource.attributes}
    assert resource == {"service.name", "deployment.replicas", "region.zones"}


def test_a_value_otlp_cannot_carry_is_refused_with_its_type() -> None:
    assert any_value(None) == any_value(None).__class__()  # the empty value, as the SDK sends
    assert any_value({"a": 1}).kvlist_value.values[0].value.int_value == 1
    with pytest.raises(TypeError, match="attribute value of type object cannot be sent"):
        any_value(object())


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_both_exporters_send_the_encoded_request_and_still_encode_sdk_spans(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = build_exporter("http://127.0.0.1:4318", protocol, None, None, None, True)
    module = sys.modules[type(exporter).__module__]
    original = module.encode_spans
    monkeypatch.setattr(module, "encode_spans", original)  # put back after the test
    try:
        assert _take_encoded_batches(exporter)
        spans = _odd_spans()
        request = _our_request(spans)
        batch = EncodedBatch(request, len(spans))
        assert len(batch) == len(spans) == 5
        assert module.encode_spans(batch) is request
        # Anything else is the SDK's, as before.
        readable = [readable_span(span, RESOURCE) for span in spans]
        assert module.encode_spans(readable) == original(readable)
    finally:
        exporter.shutdown()


def _items() -> list[bytes]:
    return [pickle.dumps(record) for record in every_span_type_records()]


def test_the_sender_maps_a_batch_to_one_request_or_without_the_seam_to_sdk_spans() -> None:
    settings = ExporterSettings(
        endpoint=None,
        protocol="http/protobuf",
        headers=None,
        timeout=None,
        compression=None,
        insecure=None,
        resource_attributes=dict(RESOURCE.attributes),
        resource_schema_url=RESOURCE.schema_url,
    )
    items = _items()
    encoded, unmapped = _Mapper(settings, encoded=True).map(items)
    assert unmapped is None and isinstance(encoded, EncodedBatch)
    plain, unmapped = _Mapper(settings, encoded=False).map(items)
    assert unmapped is None and len(plain) == len(encoded) == len(items)
    assert encoded.request == encode_spans(plain)

    class Exporter:  # an exporter whose module has no `encode_spans`
        pass

    assert not _take_encoded_batches(Exporter())


def test_a_record_that_cannot_be_mapped_is_left_out_and_named_and_the_rest_encoded() -> None:
    settings = ExporterSettings(None, "http/protobuf", None, None, None, None)
    items = _items()
    bad = {**pickle.loads(items[0]), "started_at": "not a time"}
    batch, unmapped = _Mapper(settings, encoded=True).map([items[1], pickle.dumps(bad), items[2]])
    assert unmapped is not None and unmapped[0] == 1
    assert "record 1 of the batch: ValueError" in unmapped[1]
    assert isinstance(batch, EncodedBatch) and len(batch) == 2
    assert len(batch.request.resource_spans[0].scope_spans[0].spans) == 2
