"""Every dashboard query on a ClickHouse store (in-process, chdb) gives the rows it gives on
DuckDB for the same records: the pages read a fleet's store as they read a file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_store_clickhouse import _chdb_url, _rows, generated_records
from test_store_clickhouse import _params as named_params

from agentoscope.dashboard import queries as q
from agentoscope.dashboard import reads
from agentoscope.tracing.store import ClickHouseStore, SpanStore
from agentoscope.tracing.store.queries import QUERIES, run

pytest.importorskip("chdb")

WINDOW = q.Window(datetime(2025, 12, 31), datetime(2026, 1, 5))
PRICES = q.Prices(
    ["gpt-4o", "gpt-4o-mini"], [2.5e-6, 0.15e-6], [1.25e-6, 0.075e-6], [10e-6, 0.6e-6]
)
TRACES = [f"trace_{n:032x}" for n in (0, 3, 6, 9)]
START, END = datetime(2026, 1, 1), datetime(2026, 1, 4)

CASES: dict[str, q.Sql] = {
    "agent_names": q.agent_names(),
    "model_names": q.model_names(),
    "trace_count": q.trace_count(q.TraceFilters(WINDOW)),
    "trace_count_error": q.trace_count(q.TraceFilters(WINDOW, status="error")),
    "trace_count_ok": q.trace_count(q.TraceFilters(WINDOW, status="ok")),
    "trace_count_guardrail": q.trace_count(q.TraceFilters(WINDOW, status="guardrail")),
    "trace_count_search": q.trace_count(q.TraceFilters(WINDOW, search="timed out 1")),
    "trace_count_agent": q.trace_count(q.TraceFilters(WINDOW, agent="Billing")),
    "trace_page": q.trace_page(q.TraceFilters(WINDOW, workflow="Support"), 10, 5),
    "trace_totals": q.trace_totals(TRACES, START, END, PRICES),
    "usage_over_time": q.usage_over_time(WINDOW, 3600, "model", PRICES),
    "usage_by_agent": q.usage_over_time(WINDOW, 86400, "agent_name", PRICES),
    "top_traces_by_cost": q.top_traces_by_cost(WINDOW, PRICES, 5),
    "latency_histogram": q.latency_histogram(WINDOW),
    "latency_histogram_tool": q.latency_histogram(WINDOW, "tool_name", "refund"),
    "slowest_spans": q.slowest_spans(WINDOW, limit=5),
    "errors_over_time": q.errors_over_time(WINDOW, 3600),
    "error_totals": q.error_totals(WINDOW),
    "failing_tools": q.failing_tools(WINDOW),
    "guardrail_trips": q.guardrail_trips(WINDOW),
    "session_page": q.session_page(WINDOW),
    "session_page_since": q.session_page_since(WINDOW, "conv", START, 5, 2),
    "active_session_count": q.active_session_count(WINDOW, None, START),
    "trace_ids_between": q.trace_ids_between(START, END),
    "trace_groups": q.trace_groups(TRACES),
    "session_totals": q.session_totals(["conv_0", "conv_3"], START, END),
    "session_count": q.session_count(WINDOW, "conv"),
    # All time: the writer's sessions table on DuckDB, the traces on ClickHouse.
    "session_count_all": q.session_count(q.Window()),
    "session_members": q.session_members("conv_0"),
    "session_turns": q.session_turns(TRACES, START, END),
}
# Ties in ORDER BY, or no ORDER BY: compared as sets of rows.
UNORDERED = {
    "trace_totals", "session_totals", "session_turns", "failing_tools", "session_page",
    "session_page_since", "trace_ids_between", "trace_groups",
}  # fmt: skip


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SpanStore, ClickHouseStore]]:
    records = generated_records()
    duck = SpanStore(tmp_path_factory.mktemp("duck") / "dash.duckdb")
    house = ClickHouseStore(_chdb_url("dash"))
    duck.ingest(records)
    house.ingest(records)
    yield duck, house
    duck.close()
    house.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_dashboard_query_answers_as_on_duckdb(
    stores: tuple[SpanStore, ClickHouseStore], name: str
) -> None:
    duck, house = stores
    sql = CASES[name]
    expected, found = sql.run(duck), sql.run(house)
    assert list(found.columns) == list(expected.columns)
    if name == "session_turns":  # JSON text: compared by what it holds, not its spacing
        expected = expected.drop(columns=["first_model_data", "last_model_data"])
        found = found.drop(columns=["first_model_data", "last_model_data"])
    sort = name in UNORDERED
    assert _rows(found, sort) == _rows(expected, sort)


def test_two_step_lists_match(stores: tuple[SpanStore, ClickHouseStore]) -> None:
    duck, house = stores
    filters = q.TraceFilters(WINDOW)
    expected = reads.trace_rows(lambda sql: sql.run(duck), filters, PRICES, limit=8)
    found = reads.trace_rows(lambda sql: sql.run(house), filters, PRICES, limit=8)
    assert found["trace_id"].tolist() == expected["trace_id"].tolist()
    assert found["spans"].tolist() == expected["spans"].tolist()
    assert [round(v, 9) for v in found["cost"]] == [round(v, 9) for v in expected["cost"]]
    # The conversations and the latest failures, searched newest-first in windows.
    expected = reads.session_rows(lambda sql: sql.run(duck), WINDOW, limit=4, offset=1)
    found = reads.session_rows(lambda sql: sql.run(house), WINDOW, limit=4, offset=1)
    columns = ["group_id", "traces", "tokens", "errors"]
    assert found[columns].values.tolist() == expected[columns].values.tolist()
    expected = reads.latest_failures(lambda sql: sql.run(duck), WINDOW, 5)
    found = reads.latest_failures(lambda sql: sql.run(house), WINDOW, 5)
    assert found["span_id"].tolist() == expected["span_id"].tolist()


def test_the_schema_browser_lists_the_same_columns(
    stores: tuple[SpanStore, ClickHouseStore], tmp_path: Path
) -> None:
    duck, house = stores
    sql = q.schema_columns()
    columns = {(row.table_name, row.column_name) for row in sql.run(house).itertuples()}
    expected = {(row.table_name, row.column_name) for row in sql.run(duck).itertuples()}
    views = {"spans", "traces", "agent_runs", "generations", "tool_calls", "guardrails"}
    assert {pair for pair in expected if pair[0] in views} <= columns


def _kind(column: pd.Series) -> str:
    """What a page does with a column's values: flags, numbers, text, times or lists. (DuckDB
    sums integers into HUGEINT, which pandas makes floats, where ClickHouse keeps Int64: both
    are numbers here.) A column of nothing but NULLs is any kind."""
    values = [value for value in column if not _is_missing(value)]
    if not values:
        return "empty"
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or all(isinstance(v, bool | np.bool_) for v in values):
        return "flag"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    if all(isinstance(value, str) for value in values):
        return "text"
    if all(isinstance(value, list | np.ndarray) for value in values):
        return "list"
    return f"other: {type(values[0]).__name__}"


def _is_missing(value: object) -> bool:
    if isinstance(value, list | np.ndarray):
        return False
    return value is None or value is pd.NA or value is pd.NaT or value != value


_NAMED = {name: named_params(name) for name in sorted(QUERIES)}
_VIEWS = ("spans", "traces", "agent_runs", "generations", "tool_calls", "guardrails", "agent_days")


@pytest.mark.parametrize(
    "label",
    [f"dashboard {name}" for name in sorted(CASES)]
    + [f"named {name}" for name in _NAMED]
    + [f"view {name}" for name in _VIEWS],
)
def test_both_engines_give_the_same_kinds_of_values(
    stores: tuple[SpanStore, ClickHouseStore], label: str
) -> None:
    # A flag must be True/False from both (ClickHouse's comparisons are 0/1 UInt8), a time a
    # time, a count a number: what a page shows and how it formats it follow from these.
    duck, house = stores
    source, name = label.split(" ", 1)
    if source == "dashboard":
        expected, found = CASES[name].run(duck), CASES[name].run(house)
    elif source == "named":
        expected, found = run(duck, name, **_NAMED[name]), run(house, name, **_NAMED[name])
    else:
        sql = f"SELECT * FROM {name}"
        expected, found = duck.query(sql), house.query(sql)
    kinds = {
        column: (_kind(expected[column]), _kind(found[column]))
        for column in expected.columns
        if "empty" not in (_kind(expected[column]), _kind(found[column]))
    }
    assert {column: pair for column, pair in kinds.items() if pair[0] != pair[1]} == {}
    flags = [column for column, (kind, _) in kinds.items() if kind == "flag"]
    for column in flags:
        assert {type(value) for value in found[column].dropna()} <= {bool, np.bool_}, column


def test_every_sql_page_example_runs_on_both_engines(
    stores: tuple[SpanStore, ClickHouseStore],
) -> None:
    from agentoscope.dashboard.sql_console import DIALECT_NOTES, capped, examples

    duck, house = stores
    on_duck, on_house = examples("duckdb"), examples("clickhouse")
    assert list(on_duck) == list(on_house)  # the same list to pick from on either engine
    for name in on_duck:
        # As the page runs them: capped for display, on the store itself.
        expected = duck.query(capped(on_duck[name])[0])
        found = house.query(capped(on_house[name])[0])
        assert list(found.columns) == list(expected.columns), name
        assert len(found) == len(expected), name
    assert "ClickHouse SQL" in DIALECT_NOTES["clickhouse"]
    assert "DuckDB SQL" in DIALECT_NOTES["duckdb"]


@pytest.mark.slow  # runs the dashboard's pages (Streamlit's AppTest)
def test_dashboard_pages_straight_on_a_clickhouse_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from support.dashboard_data import (
        FAILING_TOOL,
        KNOWN_SPAN_COUNT,
        KNOWN_TRACE_ID,
        build_dashboard_store,
        open_app,
        page_text,
        release_dashboard_readers,
    )

    url = _chdb_url("pages_direct")
    build_dashboard_store(url)
    monkeypatch.delenv("AGENTOSCOPE_SERVER", raising=False)
    monkeypatch.setenv("AGENTOSCOPE_STORE", url)  # the store itself, no server between
    monkeypatch.setenv("AGENTOSCOPE_PRICES", str(tmp_path / "no-saved-prices.json"))
    try:
        app = open_app()
        assert not app.exception, [error.message for error in app.exception]
        traces = app.dataframe[0].value
        known = traces[traces["open"].str.contains(KNOWN_TRACE_ID)].iloc[0]
        assert (known["spans"], known["tokens"], known["status"]) == (
            KNOWN_SPAN_COUNT,
            "6,050",
            "1 error",
        )
        app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID)
        assert not app.exception, [error.message for error in app.exception]
        assert f"Spans: {KNOWN_SPAN_COUNT}" in page_text(app)
        for page in ("page_usage.py", "page_latency.py", "page_sessions.py"):
            app = open_app(page)
            assert not app.exception, (page, [error.message for error in app.exception])
        app = open_app("page_errors.py")
        assert not app.exception, [error.message for error in app.exception]
        assert "Failed spans: 1" in page_text(app)
        app = open_app("page_sql.py")
        assert not app.exception, [error.message for error in app.exception]
        text = page_text(app)
        assert "Read-only ClickHouse SQL" in text and "DuckDB SQL" not in text
        # The percentile example, in ClickHouse's SQL here, runs.
        app.selectbox(key="sql_example").set_value("Slowest tools, p50 and p95 (tool_calls view)")
        app.run()
        app.button[0].click().run()
        assert not app.exception, [error.message for error in app.exception]
        assert not app.error, [error.value for error in app.error]
        result = next(frame.value for frame in app.dataframe if "p95_ms" in frame.value.columns)
        assert FAILING_TOOL in result["tool_name"].tolist()
    finally:
        release_dashboard_readers()
