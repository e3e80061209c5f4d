"""`serve` under load: a burst of concurrent clients all answered and every span stored; slow or
idle connections closed after the idle timeout; past the bound on bytes in flight, 503 with
Retry-After, which the real OpenTelemetry OTLP exporter honours (nothing lost)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentoscope.tracing.serve.access import ServeConfigError
from agentoscope.tracing.serve.service import StoreService
from support.serve import running_service, wait_until

START = 1_763_683_200_000_000_000


def _request(client: int, spans: int) -> bytes:
    message = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            Span(
                                trace_id=(client + 1).to_bytes(16, "big"),
                                span_id=(index + 1).to_bytes(8, "big"),
                                name="step",
                                start_time_unix_nano=START + index,
                                end_time_unix_nano=START + index + 1000,
                            )
                            for index in range(spans)
                        ]
                    )
                ]
            )
        ]
    )
    return message.SerializeToString()


def _span_count(service: Any) -> int:
    return int(service.query("SELECT count(*) AS n FROM spans")["n"][0])


async def _burst(port: int, bodies: list[bytes]) -> list[int]:
    """Every body on its own connection, all at once; the status codes."""

    async def one(body: bytes) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        status = await reader.readline()
        await reader.read()
        writer.close()
        return int(status.split()[1])

    return await asyncio.gather(*(one(body) for body in bodies))


async def _health_burst(port: int, count: int) -> list[int]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=count), timeout=60) as client:
        responses = await asyncio.gather(
            *(client.get(f"http://127.0.0.1:{port}/health") for _ in range(count))
        )
    return [response.status_code for response in responses]


@pytest.mark.slow
def test_a_burst_of_concurrent_clients_is_answered_and_stored(tmp_path: Path) -> None:
    clients = 300
    with running_service(tmp_path / "s.duckdb", grpc_port=None, decode_workers=1) as service:
        assert service.http_port is not None
        bodies = [_request(client, 100) for client in range(clients)]
        statuses = asyncio.run(_burst(service.http_port, bodies))
        assert statuses == [200] * clients
        assert _span_count(service) == clients * 100
        assert asyncio.run(_health_burst(service.http_port, 100)) == [200] * 100


def test_idle_and_trickling_connections_are_closed(tmp_path: Path) -> None:
    with running_service(tmp_path / "s.duckdb", grpc_port=None, idle_timeout=0.5) as service:
        slow = []
        for _ in range(40):
            connection = socket.create_connection(("127.0.0.1", service.http_port))
            # Half a request (slowloris), and never the rest.
            connection.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(connection)
        idle = socket.create_connection(("127.0.0.1", service.http_port))
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # then keep-alive
        wait_until(lambda: service.health()["connections"] >= 41, what="41 connections")
        # Meanwhile others are answered.
        assert httpx.get(f"{service.http_url}/health").status_code == 200
        for connection in [*slow, idle]:
            connection.settimeout(60)
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
            connection.close()  # serve closed it: recv returned b""
            assert received == b"" or received.startswith(b"HTTP/1.1 200")
        wait_until(lambda: service.health()["connections"] == 0, what="connections to close")


def test_over_the_bound_on_bytes_in_flight_the_otel_exporter_waits_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    with running_service(
        tmp_path / "s.duckdb",
        grpc_port=None,
        max_body_bytes=1_000_000,
        max_bytes_in_flight=1_000_000,
    ) as service:
        # Something else holds the whole budget: the exporters' requests are refused for now.
        assert service.reserve(1_000_000)
        exporter = OTLPSpanExporter(endpoint=f"{service.http_url}/v1/traces", timeout=30)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("load-test")
        done = threading.Event()

        def emit() -> None:
            for index in range(5):
                with tracer.start_as_current_span(f"step {index}"):
                    pass
            done.set()

        sender = threading.Thread(target=emit)
        sender.start()
        wait_until(lambda: service.health()["requests"]["otlp_throttled"] >= 1, what="a 503")
        response = httpx.post(
            f"{service.http_url}/v1/traces",
            content=_request(0, 3),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        service.release(1_000_000)
        sender.join(60)
        assert done.is_set()
        provider.shutdown()
        assert _span_count(service) == 5  # each refused export was sent again
        assert service.health()["bytes_in_flight"] == 0


def test_bounds_that_cannot_work_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ServeConfigError, match="--max-bytes-in-flight"):
        StoreService(tmp_path / "s.duckdb", max_body_bytes=1000, max_bytes_in_flight=10)
    with pytest.raises(ServeConfigError, match="--max-connections"):
        StoreService(tmp_path / "s.duckdb", max_connections=0)


def test_past_the_bound_on_connections_a_new_one_is_told_to_come_back(tmp_path: Path) -> None:
    with running_service(tmp_path / "s.duckdb", grpc_port=None, max_connections=5) as service:
        held = [socket.create_connection(("127.0.0.1", service.http_port)) for _ in range(5)]
        wait_until(lambda: service.health()["connections"] == 5, what="5 connections")
        extra = socket.create_connection(("127.0.0.1", service.http_port))
        extra.settimeout(30)
        answer = b""
        while chunk := extra.recv(65536):
            answer += chunk
        extra.close()
        assert answer.startswith(b"HTTP/1.1 503")
        assert b"\r\nRetry-After: 1\r\n" in answer
        assert service.health()["requests"]["connections_refused"] == 1
        held.pop().close()  # one goes away: a new client is answered
        wait_until(lambda: service.health()["connections"] == 4, what="a closed connection")
        assert httpx.get(f"{service.http_url}/health").status_code == 200
        for connection in held:
            connection.close()
        wait_until(lambda: service.health()["connections"] == 0, what="connections to close")


def test_a_gzip_body_counts_unpacked_against_the_bound_on_bytes_in_flight(tmp_path: Path) -> None:
    # 300 spans with long names: ~60 KB gzip that unpacks to ~2.5 MB.
    message = ExportTraceServiceRequest.FromString(_request(7, 300))
    for span in message.resource_spans[0].scope_spans[0].spans:
        span.name = "step " + "x" * 8000
    body = gzip.compress(message.SerializeToString())
    unpacked = message.ByteSize()
    assert len(body) * 20 < unpacked
    with running_service(
        tmp_path / "s.duckdb",
        grpc_port=None,
        max_body_bytes=4_000_000,
        max_bytes_in_flight=4_000_000,
    ) as service:
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        url = f"{service.http_url}/v1/traces"
        assert service.reserve(4_000_000 - unpacked // 2)  # the packed body fits, unpacked not
        busy = httpx.post(url, content=body, headers=headers)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "1"
        assert service.health()["bytes_in_flight"] == 4_000_000 - unpacked // 2
        service.release(4_000_000 - unpacked // 2)
        assert httpx.post(url, content=body, headers=headers).status_code == 200
        assert _span_count(service) == 300
        assert service.health()["bytes_in_flight"] == 0


def test_a_refused_body_is_dropped_and_a_query_body_is_at_most_a_mebibyte(tmp_path: Path) -> None:
    with running_service(tmp_path / "s.duckdb", grpc_port=None, token="s3cret") as service:
        with httpx.Client(base_url=service.http_url) as client:
            # A wrong token with a large body: refused, the body dropped as it is read, and the
            # same connection answers the next request.
            refused = client.post(
                "/v1/traces",
                content=b"\0" * 8_000_000,
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert refused.status_code == 401
            assert service.health()["bytes_in_flight"] == 0
            auth = {"Authorization": "Bearer s3cret"}
            big = client.post(
                "/v1/query", json={"sql": "SELECT 1 -- " + "x" * 2_000_000}, headers=auth
            )
            assert big.status_code == 413
            assert "larger than 1048576 bytes" in big.json()["error"]
            # Its body is not read, so the connection closes, and the answer says so: the
            # client's next request takes a new connection, not the closing one.
            assert big.headers.get("Connection") == "close"
            assert client.post("/v1/query", json={"sql": "SELECT 1 AS n"}, headers=auth).json()[
                "data"
            ] == [[1]]
