"""The OTLP/gRPC side of `agentoscope serve`: opentelemetry-proto's TraceService, answered once
the spans are committed. A bad token is UNAUTHENTICATED, a payload that does not map is
INVALID_ARGUMENT (nothing from it is stored), a store that cannot take the spans is UNAVAILABLE
(exporters retry that). A request that would take the bytes in flight past serve's bound is
RESOURCE_EXHAUSTED with a `RetryInfo` (1 s): the OTLP specification's signal to wait and retry,
given both in the status details (`grpc-status-details-bin`, read by the Collector's and Go's
exporters) and as `google.rpc.retryinfo-bin` metadata (read by OpenTelemetry Python's)."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..otel.decode import OTLPDecodeError
from .otlp_http import BUSY_MESSAGE, RETRY_AFTER_SECONDS

logger = logging.getLogger("agentoscope.serve")


def retry_metadata(
    message: str, seconds: int = RETRY_AFTER_SECONDS
) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata for RESOURCE_EXHAUSTED that tells the exporter when to send again."""
    retry_info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))
    detail = any_pb2.Any()
    detail.Pack(retry_info)
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[detail])
    return (
        ("grpc-status-details-bin", status.SerializeToString()),
        ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),
    )


class TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, service: Any) -> None:
        self.service = service

    def Export(
        self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> ExportTraceServiceResponse:
        service = self.service
        service.count("otlp_requests")
        if service.token is not None:
            metadata = dict(context.invocation_metadata())
            if not service.authorized(metadata.get("authorization")):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        size = request.ByteSize()
        if not service.reserve(size):
            context.set_trailing_metadata(retry_metadata(BUSY_MESSAGE))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, BUSY_MESSAGE)
        try:
            self._ingest(request, context)
        finally:
            service.release(size)
        return ExportTraceServiceResponse()

    def _ingest(self, request: ExportTraceServiceRequest, context: grpc.ServicerContext) -> None:
        service = self.service
        counted: list[int] = []  # how many records the request decoded to, for the log
        try:
            # Decoding workers take bytes (serializing again costs far less than decoding);
            # decoding here starts from the request gRPC has already parsed.
            service.ingest_otlp(request.SerializeToString, None, counted, parsed=request)
        except OTLPDecodeError as error:
            service.count("otlp_rejected")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except (ValueError, TypeError, KeyError) as error:  # the data itself: retrying won't help
            service.count("otlp_rejected")
            logger.error("OTLP/gRPC: the store refused %d records: %s", sum(counted), error)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the store refused the spans: {error}")
        except Exception as error:  # the store, not the data: the exporter retries
            logger.error("OTLP/gRPC: could not store %d records: %s", sum(counted), error)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"could not store the spans: {error}")
