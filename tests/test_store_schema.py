"""The store's schema: the contract's columns and types, versioned migrations, and the views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agentoscope import tracing
from agentoscope.tracing import BatchingProcessor
from agentoscope.tracing.otel.mapping import otel_spans_from_records
from agentoscope.tracing.otel.reverse import records_from_otel
from agentoscope.tracing.schema import (
    SPAN_FIELDS,
    SPAN_RECORD_FIELDS,
    TRACE_FIELDS,
    TRACE_RECORD_FIELDS,
    Field,
    record_types,
    stored_columns,
)
from agentoscope.tracing.store import SpanStore, StoreSchemaError
from agentoscope.tracing.store.arrow import span_table, trace_table
from agentoscope.tracing.store.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SPAN_COLUMN_NAMES,
    TRACE_RECORD_COLUMNS,
)
from support.store_spans import span, store_rows, trace_rec

VIEWS = {"agent_runs", "generations", "tool_calls", "handoffs", "guardrails", "token_usage"}


def _columns(path: Path, table: str) -> dict[str, tuple[str, bool]]:
    rows = store_rows(
        path,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        f"WHERE table_name = '{table}' ORDER BY ordinal_position",
    )
    return {r["column_name"]: (r["data_type"], r["is_nullable"] == "YES") for r in rows}


def _stored(fields: tuple[Field, ...]) -> dict[str, str]:
    return {field.name: field.duckdb_type for field in stored_columns(fields)}


def test_new_store_has_the_schema_tables_views_and_version(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with SpanStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    spans = _columns(path, "spans")
    assert {name: kind for name, (kind, _) in spans.items()} == _stored(SPAN_FIELDS)
    required = {field.name for field in SPAN_FIELDS if field.required}
    assert required == {"trace_id", "span_id", "span_type"}
    assert all(not spans[name][1] for name in required)
    traces = _columns(path, "traces")
    assert {name: kind for name, (kind, _) in traces.items()} == {
        **_stored(TRACE_FIELDS),
        "inferred": "BOOLEAN",  # the store's own: known only from spans so far
    }
    views = {r["view_name"] for r in store_rows(path, "SELECT view_name FROM duckdb_views()")}
    assert VIEWS <= views
    versions = store_rows(path, "SELECT version, description FROM schema_version")
    assert [r["version"] for r in versions] == [m.version for m in MIGRATIONS]


def test_every_part_takes_its_fields_from_the_record_schema(tmp_path: Path) -> None:
    """A field added to schema.py and missed anywhere else fails here."""
    records = _every_kind_of_record()
    spans = [r for r in records if r["kind"] == "span"]
    traces = [r for r in records if r["kind"] == "trace"]
    # span_record / trace_record: every field, in the schema's order
    assert all(tuple(r) == SPAN_RECORD_FIELDS for r in spans)
    assert all(tuple(r) == TRACE_RECORD_FIELDS for r in traces)
    # the JSONL reader declares a type for every field
    assert set(record_types()) == {*SPAN_RECORD_FIELDS, *TRACE_RECORD_FIELDS}
    # the Arrow rows the store inserts: every stored column, typed as the schema says
    table = span_table(spans)
    assert tuple(table.column_names) == SPAN_COLUMN_NAMES == tuple(_stored(SPAN_FIELDS))
    arrow_kinds = {"VARCHAR": "string", "BIGINT": "int64", "DOUBLE": "double", "BOOLEAN": "bool"}
    for field in stored_columns(SPAN_FIELDS):
        arrow_type = str(table.schema.field(field.name).type)
        expected = arrow_kinds.get(field.duckdb_type)
        assert expected is None or arrow_type == expected, (field.name, arrow_type)
    assert tuple(trace_table(traces).column_names) == TRACE_RECORD_COLUMNS
    # OTel and back: every field survives
    (back,) = [r for r in records_from_otel_all(spans) if r["span_id"] == spans[0]["span_id"]]
    assert tuple(back) == SPAN_RECORD_FIELDS
    # the store: what goes in comes out, field by field
    with SpanStore(tmp_path / "all.duckdb") as store:
        store.ingest(records)
        row = store.query("SELECT * FROM spans WHERE span_id = ?", [spans[0]["span_id"]])
        assert tuple(row.columns) == SPAN_COLUMN_NAMES


def _every_kind_of_record() -> list[dict[str, Any]]:
    keep: list[dict[str, Any]] = []

    class Keep(BatchingProcessor):
        def export(self, records: list[dict[str, Any]]) -> None:
            keep.extend(records)

    processor = Keep()
    tracing.set_trace_processors([processor])
    with tracing.trace("schema"), tracing.agent_span("A"):
        with tracing.generation_span(model="m", usage={"input_tokens": 3, "output_tokens": 4}):
            pass
        with tracing.guardrail_span("g", triggered=True):
            pass
    processor.force_flush()
    return keep


def records_from_otel_all(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        record
        for otel_span in otel_spans_from_records(spans)
        for record in records_from_otel(otel_span)
    ]


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
