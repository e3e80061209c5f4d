"""The dashboard and the CLI over `--server` when `agentoscope serve` stores in ClickHouse: the
server says its store's dialect in its health, the client then sends the store's and the
dashboard's queries in that dialect, and every answer over the socket is the store's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_store_clickhouse import _chdb_url, _params, _rows, generated_records
from test_store_clickhouse_dashboard import CASES, PRICES, UNORDERED, WINDOW

from agentoscope.dashboard import queries as q
from agentoscope.dashboard import reads
from agentoscope.tracing.serve import StoreService
from agentoscope.tracing.store import ClickHouseStore
from agentoscope.tracing.store.client import StoreClient
from agentoscope.tracing.store.queries import QUERIES, run
from support.serve import running_service

pytest.importorskip("chdb")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ClickHouseStore, StoreClient]]:
    url = _chdb_url("served")
    house = ClickHouseStore(url)
    house.ingest(generated_records())
    with running_service(url, grpc_port=None) as service:
        client = StoreClient(service.http_url)
        yield house, client
        client.close()
    house.close()


def test_the_server_says_which_dialect_it_answers_in(
    served: tuple[ClickHouseStore, StoreClient], tmp_path: Path
) -> None:
    _, client = served
    assert client.health()["dialect"] == "clickhouse"
    assert client.dialect == "clickhouse"
    with running_service(tmp_path / "traces.duckdb", grpc_port=None) as service:
        with StoreClient(service.http_url) as duck_client:
            assert duck_client.dialect == "duckdb"


@pytest.mark.parametrize("name", sorted(CASES))
def test_dashboard_queries_over_the_server_answer_as_the_store(
    served: tuple[ClickHouseStore, StoreClient], name: str
) -> None:
    house, client = served
    sql = CASES[name]
    expected, found = sql.run(house), sql.run(client)
    assert list(found.columns) == list(expected.columns)
    assert _rows(found, name in UNORDERED) == _rows(expected, name in UNORDERED)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_named_queries_over_the_server_answer_as_the_store(
    served: tuple[ClickHouseStore, StoreClient], name: str
) -> None:
    house, client = served
    params = _params(name)
    expected, found = run(house, name, **params), run(client, name, **params)
    sort = name in {"latency_by_span_type", "latency_by_tool", "latency_by_model"}
    if name == "errors_by_type":  # any_value() picks any message of the group
        expected, found = (
            expected.drop(columns="example_message"),
            found.drop(columns="example_message"),
        )
        sort = True
    assert _rows(found, sort or name.endswith("_estimated")) == _rows(
        expected, sort or name.endswith("_estimated")
    )


def test_the_trace_list_over_the_server(served: tuple[ClickHouseStore, StoreClient]) -> None:
    house, client = served
    filters = q.TraceFilters(WINDOW)

    def page(reader: Any) -> Any:
        return reads.trace_rows(lambda sql: sql.run(reader), filters, PRICES, limit=8)

    expected, found = page(house), page(client)
    assert found["trace_id"].tolist() == expected["trace_id"].tolist()
    assert found["spans"].tolist() == expected["spans"].tolist()
    assert found["errors"].tolist() == expected["errors"].tolist()


def test_the_cli_over_the_server(
    served: tuple[ClickHouseStore, StoreClient], capsys: pytest.CaptureFixture[str]
) -> None:
    from agentoscope.cli.main import main

    _, client = served
    assert main(["traces", "--server", client.url, "--limit", "2", "--format", "json"]) == 0
    assert f'"trace_{59:032x}"' in capsys.readouterr().out  # the newest
    assert main(["show", f"trace_{10:032x}", "--server", client.url, "--color", "never"]) == 0
    assert "function-2" in capsys.readouterr().out


@pytest.mark.slow  # runs the dashboard's pages (Streamlit's AppTest)
def test_dashboard_pages_over_a_clickhouse_backed_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from support.dashboard_data import (
        KNOWN_SPAN_COUNT,
        KNOWN_TRACE_ID,
        TRIPPED_GUARDRAIL,
        build_dashboard_store,
        open_app,
        page_text,
        release_dashboard_readers,
    )

    url = _chdb_url("pages")
    build_dashboard_store(url)
    service = StoreService(url, http_port=0, grpc_port=None).start()
    try:
        monkeypatch.setenv("AGENTOSCOPE_SERVER", service.http_url)
        monkeypatch.setenv("AGENTOSCOPE_PRICES", str(tmp_path / "no-saved-prices.json"))
        app = open_app()
        assert not app.exception, [error.message for error in app.exception]
        traces = app.dataframe[0].value
        known = traces[traces["open"].str.contains(KNOWN_TRACE_ID)].iloc[0]
        # The same totals as the pages show over a DuckDB file (test_dashboard_pages).
        assert (known["spans"], known["tokens"], known["cost"], known["status"]) == (
            KNOWN_SPAN_COUNT,
            "6,050",
            "$0.0142",
            "1 error",
        )
        assert traces.iloc[0]["status"] == "running"
        app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID)
        assert not app.exception, [error.message for error in app.exception]
        assert f"Spans: {KNOWN_SPAN_COUNT}" in page_text(app)
        app = open_app("page_latency.py")
        app.selectbox(key="window").set_value("Last 7 days").run()  # exact percentiles
        app.button_group(key="latency_by").set_value("tool_name").run()
        assert not app.exception, [error.message for error in app.exception]
        per_tool = app.dataframe[0].value.set_index("tool")
        assert per_tool.loc["web_search", ["p50", "p95", "p99"]].tolist() == [
            "550 ms",
            "955 ms",
            "991 ms",
        ]
        app = open_app("page_errors.py")
        assert not app.exception, [error.message for error in app.exception]
        text = page_text(app)
        assert "Failed spans: 1" in text and "Traces with an error: 1" in text
        app = open_app("page_sessions.py")
        assert not app.exception, [error.message for error in app.exception]
        assert app.dataframe[0].value["runs"].tolist() == [3]
        app = open_app("page_sql.py")  # the user's SQL is in the server's dialect
        app.text_area(key="sql_text").set_value(
            "SELECT guardrail_name, triggered FROM guardrails ORDER BY guardrail_name"
        )
        app.button[0].click().run()
        assert not app.exception, [error.message for error in app.exception]
        result = next(
            frame.value for frame in app.dataframe if "guardrail_name" in frame.value.columns
        )
        assert result.to_dict("list") == {
            "guardrail_name": [TRIPPED_GUARDRAIL, "pii_filter"],
            "triggered": [True, False],
        }
    finally:
        release_dashboard_readers()
        service.stop()


def test_serve_memory_limit_holds_on_clickhouse(capsys: pytest.CaptureFixture[str]) -> None:
    import httpx

    from agentoscope.cli.main import main

    # --memory-limit is not DuckDB's alone: on ClickHouse it is each SQL query's
    # max_memory_usage, and a query past it fails naming the option, as on DuckDB.
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "on ClickHouse each SQL query's (max_memory_usage)" in help_text
    assert "clickhouse://user:password@host:8123/db" in help_text
    assert "DuckDB's memory limit" not in help_text and "store file" not in help_text
    url = _chdb_url("memory")
    ClickHouseStore(url).close()
    with running_service(url, grpc_port=None, memory_limit="50MB") as service:
        big = "SELECT length(groupArray(x)) AS n FROM (SELECT arrayJoin(range(30000000)) AS x)"
        response = httpx.post(f"{service.http_url}/v1/query", json={"sql": big}, timeout=120)
        assert response.status_code == 400
        assert response.json()["limit"] == "memory_limit"
        assert "(--memory-limit)" in response.json()["error"]
        small = "SELECT length(groupArray(x)) AS n FROM (SELECT arrayJoin(range(1000)) AS x)"
        response = httpx.post(f"{service.http_url}/v1/query", json={"sql": small}, timeout=120)
        assert response.json()["data"] == [[1000]]
