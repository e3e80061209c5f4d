"""The store's schema: the contract's columns and types, versioned migrations, and the views."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from agentoscope.tracing.store import SpanStore, StoreSchemaError
from agentoscope.tracing.store.schema import MIGRATIONS, SCHEMA_VERSION
from support.store_spans import span, store_rows, trace_rec

CONTRACT_SPANS = {
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "parent_id": "VARCHAR",
    "span_type": "VARCHAR",
    "name": "VARCHAR",
    "agent_name": "VARCHAR",
    "tool_name": "VARCHAR",
    "model": "VARCHAR",
    "started_at": "TIMESTAMP",
    "ended_at": "TIMESTAMP",
    "duration_ms": "DOUBLE",
    "status": "VARCHAR",
    "error_type": "VARCHAR",
    "error_message": "VARCHAR",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "total_tokens": "BIGINT",
    "cached_input_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "data": "JSON",
    "error": "JSON",
    "metadata": "JSON",
    "triggered": "BOOLEAN",  # beyond the contract: the guardrail verdict, typed for filters
}
CONTRACT_TRACES = {
    "trace_id": "VARCHAR",
    "workflow_name": "VARCHAR",
    "group_id": "VARCHAR",
    "metadata": "JSON",
    "started_at": "TIMESTAMP",
    "ended_at": "TIMESTAMP",
    "duration_ms": "DOUBLE",
}
VIEWS = {"agent_runs", "generations", "tool_calls", "handoffs", "guardrails", "token_usage"}


def _columns(path: Path, table: str) -> dict[str, tuple[str, bool]]:
    rows = store_rows(
        path,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        f"WHERE table_name = '{table}' ORDER BY ordinal_position",
    )
    return {r["column_name"]: (r["data_type"], r["is_nullable"] == "YES") for r in rows}


def test_new_store_has_the_contract_tables_views_and_version(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with SpanStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    spans = _columns(path, "spans")
    assert {name: kind for name, (kind, _) in spans.items()} == CONTRACT_SPANS
    assert not spans["trace_id"][1] and not spans["span_id"][1] and not spans["span_type"][1]
    traces = _columns(path, "traces")
    assert {name: traces[name][0] for name in CONTRACT_TRACES} == CONTRACT_TRACES
    assert traces["inferred"][0] == "BOOLEAN"  # an extra column, as the contract allows
    views = {r["view_name"] for r in store_rows(path, "SELECT view_name FROM duckdb_views()")}
    assert VIEWS <= views
    versions = store_rows(path, "SELECT version, description FROM schema_version")
    assert [r["version"] for r in versions] == [m.version for m in MIGRATIONS]


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    SpanStore(path).close()
    SpanStore(path).close()
    assert len(store_rows(path, "SELECT * FROM schema_version")) == len(MIGRATIONS)


def test_a_store_from_a_newer_agentoscope_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    SpanStore(path).close()
    connection = duckdb.connect(str(path))
    connection.execute("INSERT INTO schema_version VALUES (999, 'future', now()::TIMESTAMP)")
    connection.close()
    with pytest.raises(StoreSchemaError, match="newer Agentoscope"):
        SpanStore(path)
    with pytest.raises(StoreSchemaError, match="newer Agentoscope"):
        SpanStore(path, read_only=True)


def test_a_duckdb_file_that_is_not_a_store_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(StoreSchemaError, match="not an Agentoscope store"):
        SpanStore(path, read_only=True)


def test_views_give_typed_rows_per_span_kind(tmp_path: Path) -> None:
    t = "trace_1"
    records = [
        trace_rec(t, workflow_name="Support"),
        span(
            t,
            "a1",
            span_type="agent",
            name="Triage",
            agent_name="Triage",
            data={
                "type": "agent",
                "name": "Triage",
                "handoffs": ["Billing"],
                "tools": ["x"],
                "output_type": "str",
            },
        ),
        span(
            t,
            "g1",
            parent_id="a1",
            span_type="generation",
            name="gpt-4o",
            agent_name="Triage",
            model="gpt-4o",
            input_tokens=10,
            output_tokens=4,
            total_tokens=14,
            cached_input_tokens=2,
            reasoning_tokens=1,
            started_at="2026-01-01T10:15:00.000000+00:00",
            data={
                "type": "generation",
                "model": "gpt-4o",
                "input": [{"role": "user"}],
                "output": [],
                "model_config": {"temperature": 0},
            },
        ),
        span(
            t,
            "g2",
            parent_id="a1",
            span_type="response",
            name="gpt-4o",
            agent_name="Triage",
            model="gpt-4o",
            input_tokens=5,
            output_tokens=1,
            total_tokens=6,
            started_at="2026-01-01T10:45:00.000000+00:00",
            data={"type": "response", "response_id": "resp_1"},
        ),
        span(
            t,
            "f1",
            parent_id="a1",
            span_type="function",
            name="lookup",
            agent_name="Triage",
            tool_name="lookup",
            status="error",
            error_type="ValueError",
            error_message="bad order",
            data={
                "type": "function",
                "name": "lookup",
                "input": '{"order": 1}',
                "output": None,
                "call_id": "call_9",
            },
        ),
        span(
            t,
            "h1",
            parent_id="a1",
            span_type="handoff",
            name="Triage -> Billing",
            agent_name="Triage",
            data={"type": "handoff", "from_agent": "Triage", "to_agent": "Billing"},
        ),
        span(
            t,
            "r1",
            parent_id="a1",
            span_type="guardrail",
            name="no_pii",
            agent_name="Triage",
            data={"type": "guardrail", "name": "no_pii", "triggered": True, "source": "input"},
        ),
    ]
    path = tmp_path / "views.duckdb"
    with SpanStore(path) as store:
        store.ingest(records)
        agent = store.query("SELECT * FROM agent_runs").iloc[0]
        assert agent["agent_name"] == "Triage" and agent["output_type"] == "str"
        assert agent["handoffs"] == '["Billing"]'
        generations = store.query("SELECT * FROM generations ORDER BY started_at")
        assert generations["span_id"].tolist() == ["g1", "g2"]
        assert generations["response_id"].tolist()[1] == "resp_1"
        assert generations.iloc[0]["model_config"] == '{"temperature":0}'
        tool = store.query("SELECT * FROM tool_calls").iloc[0]
        assert (tool["tool_name"], tool["input"], tool["call_id"]) == (
            "lookup",
            '{"order": 1}',
            "call_9",
        )
        assert tool["status"] == "error" and tool["error_type"] == "ValueError"
        handoff = store.query("SELECT from_agent, to_agent FROM handoffs").iloc[0].tolist()
        assert handoff == ["Triage", "Billing"]
        guardrail = store.query("SELECT guardrail_name, triggered, source FROM guardrails")
        assert guardrail.iloc[0].tolist() == ["no_pii", True, "input"]
        usage = store.query(
            "SELECT hour, model, agent_name, calls, input_tokens, output_tokens, total_tokens, "
            "cached_input_tokens, reasoning_tokens FROM token_usage"
        )
        assert len(usage) == 1
        row = usage.iloc[0]
        assert str(row["hour"]) == "2026-01-01 10:00:00"
        assert (row["model"], row["agent_name"], row["calls"]) == ("gpt-4o", "Triage", 2)
        assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (15, 5, 20)
        assert (row["cached_input_tokens"], row["reasoning_tokens"]) == (2, 1)
