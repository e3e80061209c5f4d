"""SQL through `serve` has limits: a query timeout (interrupt), a result-size cap and the store's
memory limit, each answered with an error naming it, while serve keeps ingesting and answering
other requests; values built in one call (`repeat('x', 2000000000)`) are refused by the guard."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from agentoscope.tracing.serve.access import ServeConfigError
from agentoscope.tracing.serve.service import StoreService
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.guard import ReadOnlyQueryError
from agentoscope.tracing.store.limits import QueryLimitError, QueryLimits, parse_size
from support.serve import VENV_BIN, running_service

START = 1_763_683_200_000_000_000


def _otlp(trace: int, spans: int) -> bytes:
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            Span(
                                trace_id=trace.to_bytes(16, "big"),
                                span_id=(trace * 1000 + index + 1).to_bytes(8, "big"),
                                name="step",
                                start_time_unix_nano=START,
                                end_time_unix_nano=START + 1000,
                            )
                            for index in range(spans)
                        ]
                    )
                ]
            )
        ]
    )
    return request.SerializeToString()


def _query(service: Any, sql: str) -> httpx.Response:
    return httpx.post(f"{service.http_url}/v1/query", json={"sql": sql}, timeout=120)


def test_a_long_query_is_stopped_at_the_timeout_while_serve_keeps_working(tmp_path: Path) -> None:
    with running_service(tmp_path / "s.duckdb", grpc_port=None, query_timeout=1.0) as service:
        answers: list[httpx.Response] = []
        bomb = threading.Thread(
            target=lambda: answers.append(
                _query(service, "SELECT count(*) FROM range(100000000000) a")
            )
        )
        bomb.start()
        # Meanwhile: ingest and other queries are answered.
        for trace in range(1, 4):
            stored = httpx.post(
                f"{service.http_url}/v1/traces",
                content=_otlp(trace, 10),
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert stored.status_code == 200
        assert _query(service, "SELECT count(*) AS n FROM spans").json()["data"] == [[30]]
        assert httpx.get(f"{service.http_url}/health").status_code == 200
        bomb.join(120)
        assert answers and answers[0].status_code == 400
        body = answers[0].json()
        assert body["limit"] == "timeout"
        assert "longer than 1 s (--query-timeout)" in body["error"]
        # The store still answers after the interrupt.
        assert _query(service, "SELECT count(*) AS n FROM spans").json()["data"] == [[30]]


def test_a_query_past_the_memory_limit_fails_naming_it(tmp_path: Path) -> None:
    with running_service(tmp_path / "s.duckdb", grpc_port=None, memory_limit="200MB") as service:
        response = _query(service, "SELECT list(range) FROM range(300000000)")
        assert response.status_code == 400
        assert response.json()["limit"] == "memory_limit"
        assert "(--memory-limit)" in response.json()["error"]
        assert service.store.memory_limit().endswith("MiB")
        stored = httpx.post(
            f"{service.http_url}/v1/traces",
            content=_otlp(7, 5),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert stored.status_code == 200
        assert _query(service, "SELECT count(*) AS n FROM spans").json()["data"] == [[5]]


def test_a_result_past_the_cap_is_refused_naming_it(tmp_path: Path) -> None:
    with running_service(
        tmp_path / "s.duckdb", grpc_port=None, max_result_bytes=1_000_000
    ) as service:
        big = _query(service, "SELECT range AS n, 'twenty characters..' AS s FROM range(1000000)")
        assert big.status_code == 400
        assert big.json()["limit"] == "max_result_bytes"
        assert "1,000,000 bytes (--max-result-bytes)" in big.json()["error"]
        small = _query(service, "SELECT range AS n FROM range(1000)")
        assert small.status_code == 200
        assert len(small.json()["data"]) == 1000


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT repeat('x', 2000000000)",
        "SELECT repeat('x', 2e9)",
        "SELECT lpad('x', 2000000000, 'y')",
        "SELECT len(range(2000000000))",
        "SELECT list_resize([1], 200000000)",
        "SELECT printf('%2000000000d', 1)",
        "SELECT repeat('x', n) FROM range(3) t(n)",
        "SELECT system.main.repeat('x', 2000000000)",
    ],
)
def test_values_built_in_one_call_are_refused_by_size(tmp_path: Path, sql: str) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        with pytest.raises(ReadOnlyQueryError, match="MAX_GENERATED"):
            store.query(sql)


def test_small_generated_values_and_range_tables_still_run(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        frame = store.query(
            "SELECT repeat('ab', 3) AS r, lpad('7', 3, '0') AS p, len(range(10)) AS n, "
            "printf('%5d', 42) AS f, (SELECT count(*) FROM range(2000000)) AS rows"
        )
        assert frame.iloc[0].tolist() == ["ababab", "007", 10, "   42", 2_000_000]


def test_limited_queries_return_the_same_frame_as_unlimited_ones(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        sql = (
            "SELECT range AS n, range::VARCHAR AS s, TIMESTAMP '2026-01-01' + "
            "to_seconds(range) AS t, sum(range) OVER () AS total FROM range(50000)"
        )
        limited = store.query(sql, limits=QueryLimits(timeout=60, max_result_bytes=10**9))
        assert limited.equals(store.query(sql))
        empty = store.query("SELECT 1 AS x WHERE false", limits=QueryLimits())
        assert list(empty.columns) == ["x"] and len(empty) == 0
        with pytest.raises(QueryLimitError, match="max_result_bytes"):
            store.query(sql, limits=QueryLimits(max_result_bytes=1000))


def test_bad_limit_settings_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ServeConfigError, match="--query-timeout"):
        StoreService(tmp_path / "s.duckdb", query_timeout=-1)
    with pytest.raises(ServeConfigError, match="--memory-limit"):
        StoreService(
            tmp_path / "s.duckdb", http_port=0, grpc_port=None, memory_limit="lots"
        ).start()
    assert parse_size("2GB", "x") == 2_000_000_000
    assert parse_size("1GiB", "x") == 2**30
    with pytest.raises(ValueError, match="--max-result-bytes"):
        parse_size("big", "--max-result-bytes")
    result = subprocess.run(
        [
            str(VENV_BIN / "agentoscope"),
            "serve",
            "--store",
            str(tmp_path / "c.duckdb"),
            "--max-result-bytes",
            "huge",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--max-result-bytes" in result.stderr
