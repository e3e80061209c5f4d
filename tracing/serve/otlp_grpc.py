"""The OTLP/gRPC side of `agentoscope serve`: opentelemetry-proto's TraceService, answered once
the spans are committed. A bad token is UNAUTHENTICATED, a payload that does not map is
INVALID_ARGUMENT (nothing from it is stored), a store that cannot take the spans is UNAVAILABLE
(exporters retry that)."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..otel.decode import OTLPDecodeError

logger = logging.getLogger("agentoscope.serve")


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
        return ExportTraceServiceResponse()
