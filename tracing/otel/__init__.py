"""OpenTelemetry both ways: records to OTel spans with the GenAI and OpenInference conventions
(`mapping`), OTel spans back to records (`reverse`), OTLP request decoding (`decode`) and
encoding (`encode`)."""

from __future__ import annotations

from ..lazy import lazy_getattr

__getattr__ = lazy_getattr(
    __name__,
    {
        "OtelSpan": ".mapping",
        "otel_spans_from_records": ".mapping",
        "records_from_otel": ".reverse",
        "OTLPDecodeError": ".decode",
        "RequestEncoder": ".encode",
        "span_message": ".encode",
        "decode_request": ".decode",
        "records_from_payload": ".decode",
        "records_from_request": ".decode",
    },
)

__all__ = [
    "OTLPDecodeError",
    "OtelSpan",
    "RequestEncoder",
    "decode_request",
    "otel_spans_from_records",
    "records_from_otel",
    "records_from_payload",
    "records_from_request",
    "span_message",
]
