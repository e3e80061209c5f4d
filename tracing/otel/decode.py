"""Decoding OTLP trace export requests (protobuf or JSON) into records, for `agentoscope serve`.

The wire formats are opentelemetry-proto's generated messages and protobuf's own parsers: nothing
here reads bytes by hand. The one OTLP/JSON rule protobuf does not know, ids written as hex
instead of base64, is applied before parsing. A request is decoded and checked completely before
anything is stored, so a malformed one can be refused as a whole with the reason.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..clock import iso_from_ns
from ..sensitive import clean, get_data_policy
from .mapping import A_DATA, A_RECORD, SPAN_KIND_NAMES, STATUS_NAMES, OtelSpan
from .reverse import ours_from_blob, records_from_otel

_ID_FIELDS = {
    "traceId": 16,
    "trace_id": 16,
    "spanId": 8,
    "span_id": 8,
    "parentSpanId": 8,
    "parent_span_id": 8,
}


_ZERO_TRACE = bytes(16)
_UNREAD: Any = object()


class OTLPDecodeError(ValueError):
    """A payload that is not a valid OTLP trace export request; the message says where."""


# -- bytes -> ExportTraceServiceRequest ------------------------------------------------------


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    try:
        return ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise OTLPDecodeError(f"invalid OTLP protobuf: {error}") from None


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise OTLPDecodeError(f"invalid JSON: {error}") from None
    if not isinstance(document, dict):
        raise OTLPDecodeError("invalid OTLP JSON: expected an object with 'resourceSpans'")
    _hex_ids_to_base64(document)
    try:
        return json_format.ParseDict(
            document, ExportTraceServiceRequest(), ignore_unknown_fields=True
        )
    except json_format.ParseError as error:
        raise OTLPDecodeError(f"invalid OTLP JSON: {error}") from None


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON parser expects base64."""
    for r, resource_spans in enumerate(_items(document, "resourceSpans", "resource_spans")):
        for s, scope_spans in enumerate(_items(resource_spans, "scopeSpans", "scope_spans")):
            for n, span in enumerate(_items(scope_spans, "spans")):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                _convert_ids(span, where)
                for k, link in enumerate(_items(span, "links")):
                    _convert_ids(link, f"{where}.links[{k}]")


def _items(container: Any, *keys: str) -> list[Any]:
    if not isinstance(container, dict):
        return []
    for key in keys:
        value = container.get(key)
        if isinstance(value, list):
            return value
    return []


def _convert_ids(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        return
    for key, size in _ID_FIELDS.items():
        value = obj.get(key)
        if not isinstance(value, str) or value == "":
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise OTLPDecodeError(f"{where}.{key}: {value!r} is not hex") from None
        if len(raw) != size:
            raise OTLPDecodeError(f"{where}.{key}: expected {size * 2} hex digits, got {value!r}")
        obj[key] = base64.b64encode(raw).decode()


def decode_request(body: bytes, content_type: str | None) -> ExportTraceServiceRequest:
    """By content type: `application/json` or (default) `application/x-protobuf`."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return decode_json(body)
    if media in ("", "application/x-protobuf", "application/protobuf", "application/octet-stream"):
        return decode_protobuf(body)
    raise OTLPDecodeError(
        f"unsupported content type {content_type!r}: use application/x-protobuf or application/json"
    )


# -- ExportTraceServiceRequest -> OtelSpan -> records -----------------------------------------


def any_value(value: Any) -> Any:
    """A Python value from an OTLP `AnyValue`."""
    which = value.WhichOneof("value")
    # Scalars first, read directly: most attributes are strings and numbers.
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which is None:
        return None
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which)


def _attributes(key_values: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in key_values}


def _check_id(raw: bytes, size: int, what: str, where: str, required: bool = True) -> int:
    if not raw:
        if required:
            raise OTLPDecodeError(f"{where}: missing {what}")
        return 0
    if len(raw) != size:
        raise OTLPDecodeError(f"{where}: {what} must be {size} bytes, got {len(raw)}")
    value = int.from_bytes(raw, "big")
    if value == 0 and required:
        raise OTLPDecodeError(f"{where}: {what} is all zeros")
    return value


def _otel_span(span: Any, where: str, resource: Any, scope: str | None) -> OtelSpan:
    kind = span.kind
    status = span.status
    return OtelSpan(
        trace_id=_check_id(span.trace_id, 16, "trace_id", where),
        span_id=_check_id(span.span_id, 8, "span_id", where),
        parent_span_id=_check_id(span.parent_span_id, 8, "parent_span_id", where, False) or None,
        name=span.name,
        kind=SPAN_KIND_NAMES[kind] if 0 <= kind < len(SPAN_KIND_NAMES) else "unspecified",
        start_ns=span.start_time_unix_nano or None,
        end_ns=span.end_time_unix_nano or None,
        attributes=_attributes(span.attributes),
        status=STATUS_NAMES[status.code] if 0 <= status.code < len(STATUS_NAMES) else "unset",
        status_message=status.message or None,
        events=[
            (event.name, event.time_unix_nano or None, _attributes(event.attributes))
            for event in span.events
        ],
        resource=resource,
        scope=scope,
    )


def _spans(request: ExportTraceServiceRequest) -> Iterator[tuple[str, Any, Any, Any]]:
    for r, resource_spans in enumerate(request.resource_spans):
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for n, span in enumerate(scope_spans.spans):
                yield (
                    f"resource_spans[{r}].scope_spans[{s}].spans[{n}]",
                    span,
                    resource_spans,
                    scope_spans,
                )


def _resource(resource_spans: Any) -> dict[str, Any] | None:
    """The resource's attributes, cleaned (secrets masked) once for all its spans."""
    attributes = _attributes(resource_spans.resource.attributes)
    return clean(attributes, get_data_policy().max_field_chars) if attributes else None


def spans_from_request(request: ExportTraceServiceRequest) -> list[OtelSpan]:
    """Every span of the request with all its attributes, checked: a bad id anywhere raises
    `OTLPDecodeError`."""
    return [
        _otel_span(span, where, _resource(rs), ss.scope.name or None)
        for where, span, rs, ss in _spans(request)
    ]


def records_from_request(
    request: ExportTraceServiceRequest, *, times: Callable[[int | None], Any] = iso_from_ns
) -> list[dict[str, Any]]:
    """The store records of a request (span and trace records), or `OTLPDecodeError` naming the
    first bad span. Every record is well formed (kind, version, string ids), so the store need
    not check them again. `times` spells the times of our OTLPProcessor's spans (default: ISO
    8601 UTC, as in every record; serve's decoding workers keep the nanoseconds, which the store
    turns into its column without a detour through text)."""
    records: list[dict[str, Any]] = []
    append = records.append
    last_raw: bytes | None = None  # never equal to a span's trace id
    last_trace = ""
    for r, resource_spans in enumerate(request.resource_spans):
        resource: Any = _UNREAD
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for n, span in enumerate(scope_spans.spans):
                # Our OTLPProcessor's spans carry what serve needs in their first two
                # attributes: read those and skip the rest (the GenAI keys for other backends).
                # Each field read from a protobuf message costs a few hundred ns: read each once.
                attributes = span.attributes
                first = attributes[0] if attributes else None
                if first is not None and first.key == A_RECORD:
                    trace_raw = span.trace_id
                    if trace_raw != last_raw and len(trace_raw) == 16 and trace_raw != _ZERO_TRACE:
                        last_raw, last_trace = trace_raw, "trace_" + trace_raw.hex()
                    if trace_raw == last_raw and len(span.span_id) == 8:
                        data = None
                        if len(attributes) > 1:
                            second = attributes[1]
                            if second.key == A_DATA:
                                data = second.value.string_value
                        try:
                            append(
                                ours_from_blob(
                                    last_trace,
                                    span.start_time_unix_nano or None,
                                    span.end_time_unix_nano or None,
                                    first.value.string_value,
                                    data,
                                    times,
                                )
                            )
                        except ValueError as error:
                            where = f"resource_spans[{r}].scope_spans[{s}].spans[{n}]"
                            raise OTLPDecodeError(f"{where}: {error}") from None
                        continue
                # Anything else, and bad ids (which this raises for), take the general path.
                where = f"resource_spans[{r}].scope_spans[{s}].spans[{n}]"
                if resource is _UNREAD:
                    resource = _resource(resource_spans)
                otel_span = _otel_span(span, where, resource, scope_spans.scope.name or None)
                try:
                    records.extend(records_from_otel(otel_span))
                except (KeyError, TypeError, ValueError) as error:
                    raise OTLPDecodeError(f"{where}: cannot map to a record: {error}") from None
    return records


def records_from_payload(
    body: bytes, content_type: str | None, *, times: Callable[[int | None], Any] = iso_from_ns
) -> list[dict[str, Any]]:
    """Decode an OTLP/HTTP request body (already decompressed) into records."""
    return records_from_request(decode_request(body, content_type), times=times)


__all__ = [
    "OTLPDecodeError",
    "decode_json",
    "decode_protobuf",
    "decode_request",
    "records_from_payload",
    "records_from_request",
    "spans_from_request",
]
