"""A ClickHouse store URL with `table=otel_traces` reads the spans the OpenTelemetry Collector's
ClickHouse exporter wrote (its table layout, made here in chdb), and the named queries answer
over them without any ingest."""

from __future__ import annotations

import uuid

import pytest
from test_store_clickhouse import CHDB_FOLDER

from agentoscope.tracing.store import ClickHouseStore, ReadOnlyQueryError
from agentoscope.tracing.store.queries import latest_traces, run, trace_detail

pytest.importorskip("chdb")

# The exporter's table (opentelemetry-collector-contrib exporter/clickhouseexporter), its columns
# as the exporter creates them.
OTEL_TRACES = """
CREATE TABLE {db}.otel_traces (
    Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String,
    TraceState String, SpanName LowCardinality(String), SpanKind LowCardinality(String),
    ServiceName LowCardinality(String), ResourceAttributes Map(LowCardinality(String), String),
    ScopeName String, ScopeVersion String, SpanAttributes Map(LowCardinality(String), String),
    Duration UInt64, StatusCode LowCardinality(String), StatusMessage String,
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String),
                   Attributes Map(LowCardinality(String), String)),
    Links Nested (TraceId String, SpanId String, TraceState String,
                  Attributes Map(LowCardinality(String), String))
) ENGINE = MergeTree PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))"""
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROWS = [
    # (start offset ms, span id, parent, name, duration ms, status, attributes)
    (
        0,
        "00f067aa0ba902b7",
        "",
        "invoke_agent Support",
        900,
        "Ok",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Support",
            "gen_ai.conversation.id": "conv_7",
        },
    ),
    (
        10,
        "00f067aa0ba902b8",
        "00f067aa0ba902b7",
        "ChatOpenAI",
        400,
        "Ok",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": "120",
            "llm.token_count.completion": "30",
            "gen_ai.agent.name": "Support",
        },
    ),
    (
        420,
        "00f067aa0ba902b9",
        "00f067aa0ba902b7",
        "execute_tool lookup_order",
        250,
        "Error",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup_order",
            "error.type": "TimeoutError",
            "gen_ai.agent.name": "Support",
        },
    ),
]


@pytest.fixture(scope="module")
def store() -> ClickHouseStore:
    database = f"otel_{uuid.uuid4().hex[:6]}"
    # The Collector's database and table, made with a writable store's connection.
    writer = ClickHouseStore(f"chdb://{CHDB_FOLDER}?database={database}_own")
    connection = writer._conn()
    connection.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    connection.command(OTEL_TRACES.format(db=database))
    for offset, span_id, parent, name, length, status, attributes in ROWS:
        pairs = ", ".join(f"'{key}', '{value}'" for key, value in attributes.items())
        connection.command(
            f"INSERT INTO {database}.otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, "
            "SpanName, SpanKind, ServiceName, SpanAttributes, Duration, StatusCode, StatusMessage)"
            f" VALUES (toDateTime64('2026-02-01 10:00:00', 9) + toIntervalMillisecond({offset}), "
            f"'{TRACE}', '{span_id}', '{parent}', '{name}', 'Internal', 'support-bot', "
            f"map({pairs}), {length * 1_000_000}, '{status}', "
            f"'{'order service timed out' if status == 'Error' else ''}')"
        )
    writer.close()
    return ClickHouseStore(
        f"chdb://{CHDB_FOLDER}?database={database}_view&table={database}.otel_traces"
    )


def test_collector_spans_show_as_agent_spans(store: ClickHouseStore) -> None:
    trace_id = f"trace_{TRACE}"
    traces = latest_traces(store, limit=5)
    assert traces["trace_id"].tolist() == [trace_id]
    row = traces.iloc[0]
    assert (row["workflow_name"], int(row["span_count"]), int(row["error_count"])) == (
        "invoke_agent Support",
        3,
        1,
    )
    assert int(row["total_tokens"]) == 150
    trace, spans = trace_detail(store, trace_id)
    assert trace is not None and trace["group_id"] == "conv_7"
    assert spans["span_type"].tolist() == ["agent", "generation", "function"]
    assert spans["parent_id"].tolist()[1] == "span_0000000000f067aa0ba902b7"
    tool = spans.iloc[2]
    assert (tool["tool_name"], tool["error_type"], tool["error_message"]) == (
        "lookup_order",
        "TimeoutError",
        "order service timed out",
    )


def test_named_queries_answer_over_the_collector_table(store: ClickHouseStore) -> None:
    window = {"since": "2026-02-01 00:00:00", "until": "2026-02-02 00:00:00"}
    tokens = run(store, "tokens_per_model_per_hour", **window)
    assert tokens[["model", "input_tokens", "output_tokens"]].values.tolist() == [
        ["gpt-4o-mini", 120, 30]
    ]
    tools = run(store, "latency_by_tool", **window)
    assert tools[["tool_name", "spans", "errors"]].values.tolist() == [["lookup_order", 1, 1]]
    errors = run(store, "error_rate_per_agent_per_day", **window)
    assert errors[["agent_name", "runs", "errors"]].values.tolist() == [["Support", 1, 1]]


def test_the_collector_store_is_read_only(store: ClickHouseStore) -> None:
    with pytest.raises(PermissionError):
        store.ingest([])
    with pytest.raises(ReadOnlyQueryError):
        store.query("SELECT * FROM system.users")


def test_dashboard_queries_answer_over_the_collector_table(store: ClickHouseStore) -> None:
    from datetime import datetime

    from test_store_clickhouse_dashboard import CASES, PRICES

    from agentoscope.dashboard import queries as q
    from agentoscope.dashboard import reads

    for sql in CASES.values():  # every dashboard query runs over the Collector's table
        sql.run(store)
    window = q.Window(datetime(2026, 2, 1), datetime(2026, 2, 2))
    trace_id = f"trace_{TRACE}"
    rows = reads.trace_rows(lambda sql: sql.run(store), q.TraceFilters(window), PRICES, limit=5)
    assert rows["trace_id"].tolist() == [trace_id]
    assert (int(rows["spans"].iloc[0]), int(rows["errors"].iloc[0])) == (3, 1)
    # gpt-4o-mini at the test prices: 120 in, 30 out.
    assert round(float(rows["cost"].iloc[0]), 9) == round(120 * 0.15e-6 + 30 * 0.6e-6, 9)
    assert int(q.trace_count(q.TraceFilters(window, status="error")).run(store).iloc[0, 0]) == 1
    failing = q.failing_tools(window).run(store)
    assert failing["tool_name"].tolist() == ["lookup_order"]
    usage = q.usage_over_time(window, 3600, "model", PRICES).run(store)
    assert usage[["key", "input_tokens", "output_tokens"]].values.tolist() == [
        ["gpt-4o-mini", 120, 30]
    ]
    sessions = reads.session_rows(lambda sql: sql.run(store), window, limit=5, offset=0)
    assert sessions["group_id"].tolist() == ["conv_7"]
    assert reads.latest_failures(lambda sql: sql.run(store), window, 5)["name"].tolist() == [
        "execute_tool lookup_order"
    ]


def _view_ids(store: ClickHouseStore) -> dict[str, str]:
    frame = store._conn().query_df(
        "SELECT name, toString(uuid) AS id FROM system.tables "
        f"WHERE database = '{store.url.database}' AND engine = 'View'"
    )
    return dict(zip(frame["name"], frame["id"], strict=True))


def test_a_reader_opens_current_views_without_ddl(store: ClickHouseStore) -> None:
    # A reader's user may be read-only (readonly=2: no CREATE): when the views are this
    # Agentoscope's already, an open replaces none of them (CREATE OR REPLACE gives a new uuid).
    before = _view_ids(store)
    assert {"spans", "traces", "otel_spans_mapped"} <= set(before)
    with ClickHouseStore(store.url) as again:
        assert _view_ids(again) == before
        assert latest_traces(again, limit=5)["trace_id"].tolist() == [f"trace_{TRACE}"]
    # Views another version made (their comment says which) are brought up to date.
    store._conn().command("ALTER TABLE traces MODIFY COMMENT 'agentoscope otel views 0'")
    with ClickHouseStore(store.url) as again:
        after = _view_ids(again)
        assert after["traces"] != before["traces"]
        assert latest_traces(again, limit=5)["trace_id"].tolist() == [f"trace_{TRACE}"]
