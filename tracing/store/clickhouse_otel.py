"""The store's views over the `otel_traces` table that the OpenTelemetry Collector's ClickHouse
exporter fills, so agent spans a fleet already sends there (GenAI or OpenInference attributes)
show in the dashboard, the CLI and the named queries without being ingested again.

`spans` maps each row as the OTLP receiver maps a foreign span (tracing/otel/reverse.py): the
span type from `gen_ai.operation.name`, else `openinference.span.kind`; ids as ours
(`trace_<32 hex>`, `span_<24 hex>`); tokens, model, tool and agent from their attributes; status
from StatusCode. `traces` is one row per trace: times from its spans, the workflow and session
from its root span (`inferred` while no root span is stored). The analyst views (agent_runs,
generations, ...) are the native store's, over this `spans`.

Differences from an ingested store: agent names come from `gen_ai.agent.name` (or an agent
span's own name), not from the parent chain; `data` holds `{"type", "otel": {name, attributes}}`.
"""

from __future__ import annotations

import hashlib
import json

from ..schema import FOREIGN_TYPE_FROM_OI_KIND, FOREIGN_TYPE_FROM_OPERATION, MODEL_SPAN_TYPES
from .clickhouse_connection import Connection, literal
from .clickhouse_schema import SPAN_COLUMNS, TRACE_COLUMNS, VIEWS_CLICKHOUSE

_OP = "SpanAttributes['gen_ai.operation.name']"
_OI_KIND = "upper(SpanAttributes['openinference.span.kind'])"


def _attribute(*keys: str) -> str:
    """The first non-empty attribute of `keys` (a Map gives '' for a missing key), else NULL."""
    return (
        "nullIf(coalesce("
        + ", ".join(f"nullIf(SpanAttributes[{literal(key)}], '')" for key in keys)
        + "), '')"
    )


def _integer(*keys: str) -> str:
    return f"toInt64OrNull({_attribute(*keys)})"


def _span_type() -> str:
    branches = [
        f"{_OP} = {literal(operation)}, {literal(kind)}"
        for operation, kind in FOREIGN_TYPE_FROM_OPERATION.items()
    ]
    branches.append("SpanAttributes['mcp.method.name'] = 'tools/list', 'mcp_tools'")
    branches += [
        f"{_OI_KIND} = {literal(kind_name)}, {literal(kind)}"
        for kind_name, kind in FOREIGN_TYPE_FROM_OI_KIND.items()
    ]
    return "multiIf(" + ", ".join(branches) + ", 'custom')"


_MODEL_TYPES = ", ".join(literal(kind) for kind in MODEL_SPAN_TYPES)
_ERROR = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')"


def _base(table: str) -> str:
    """The Collector's rows with our span columns computed (and the attributes the trace row
    needs)."""
    input_tokens = _integer(
        "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"
    )
    output_tokens = _integer(
        "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"
    )
    total = _integer("llm.token_count.total", "gen_ai.usage.total_tokens")
    return f"""
SELECT concat('trace_', leftPad(lower(TraceId), 32, '0')) AS trace_id,
       concat('span_', leftPad(lower(SpanId), 24, '0')) AS span_id,
       if(ParentSpanId = '', NULL, concat('span_', leftPad(lower(ParentSpanId), 24, '0')))
           AS parent_id,
       {_span_type()} AS span_type,
       toString(SpanName) AS name,
       coalesce({_attribute("gen_ai.agent.name", "agent.name")},
                if(span_type = 'agent', toString(SpanName), NULL)) AS agent_name,
       if(span_type = 'function', {_attribute("gen_ai.tool.name", "tool.name")}, NULL)
           AS tool_name,
       {_attribute("gen_ai.request.model", "gen_ai.response.model", "llm.model_name")} AS model,
       toDateTime64(Timestamp, 6) AS started_at,
       toDateTime64(Timestamp + toIntervalNanosecond(Duration), 6) AS ended_at,
       Duration / 1e6 AS duration_ms,
       if({_ERROR}, 'error', 'ok') AS status,
       if({_ERROR}, coalesce({_attribute("error.type")}, '_OTHER'), NULL) AS error_type,
       if({_ERROR}, nullIf(StatusMessage, ''), NULL) AS error_message,
       if(span_type IN ({_MODEL_TYPES}), {input_tokens}, NULL) AS input_tokens,
       if(span_type IN ({_MODEL_TYPES}), {output_tokens}, NULL) AS output_tokens,
       if(span_type IN ({_MODEL_TYPES}), coalesce({total}, input_tokens + output_tokens), NULL)
           AS total_tokens,
       if(span_type IN ({_MODEL_TYPES}), {
        _integer(
            "gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"
        )
    }, NULL) AS cached_input_tokens,
       if(span_type IN ({_MODEL_TYPES}), {
        _integer(
            "gen_ai.usage.reasoning.output_tokens",
            "llm.token_count.completion_details.reasoning",
        )
    }, NULL) AS reasoning_tokens,
       if(span_type = 'guardrail',
          {_attribute("gen_ai.guardrail.result.value")} = 'true', NULL) AS triggered,
       concat('{{"type":', toJSONString(span_type), ',"otel":{{"name":',
              toJSONString(toString(SpanName)), ',"kind":', toJSONString(toString(SpanKind)),
              ',"attributes":', toJSONString(SpanAttributes), '}}}}') AS data,
       if({_ERROR}, concat('{{"message":', toJSONString(coalesce(nullIf(StatusMessage, ''),
              error_type)), '}}'), NULL) AS error,
       CAST(NULL AS Nullable(String)) AS metadata,
       ParentSpanId = '' AS is_root,
       coalesce({_attribute("gen_ai.workflow.name")}, toString(SpanName)) AS root_workflow,
       {_attribute("gen_ai.conversation.id", "session.id")} AS root_group
FROM {table}"""


def otel_views(table: str) -> dict[str, str]:
    """Our views over the Collector's `table` (a name, or database.name)."""
    span_columns = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in SPAN_COLUMNS)
    trace_types = dict(TRACE_COLUMNS)
    views = {
        "otel_spans_mapped": _base(table),
        "spans": f"SELECT {span_columns} FROM otel_spans_mapped",
        # Aggregated under other names first: ClickHouse would read `started_at` inside
        # argMinIf() as the alias of min(started_at).
        "traces": f"""
SELECT trace_id,
       CAST(workflow AS {trace_types["workflow_name"]}) AS workflow_name,
       CAST(session AS {trace_types["group_id"]}) AS group_id,
       CAST(NULL AS {trace_types["metadata"]}) AS metadata,
       CAST(first_start AS {trace_types["started_at"]}) AS started_at,
       CAST(last_end AS {trace_types["ended_at"]}) AS ended_at,
       CAST(date_diff('microsecond', first_start, last_end) / 1000.0
            AS {trace_types["duration_ms"]}) AS duration_ms,
       roots = 0 AS inferred
FROM (
    SELECT trace_id, argMinIf(root_workflow, started_at, is_root) AS workflow,
           anyIf(root_group, is_root) AS session, min(started_at) AS first_start,
           max(ended_at) AS last_end, countIf(is_root) AS roots
    FROM otel_spans_mapped GROUP BY trace_id)""",
    }
    views.update(
        {name: sql for name, sql in VIEWS_CLICKHOUSE.items() if name not in ("spans", "traces")}
    )
    return views


def _mark(views: dict[str, str]) -> str:
    """The views' comment: which definitions they hold (a hash of their SQL), so an open can
    tell views this Agentoscope made from missing or older ones without replacing them."""
    digest = hashlib.sha256(json.dumps(views, sort_keys=True).encode()).hexdigest()[:16]
    return f"agentoscope otel views {digest}"


def otel_views_current(connection: Connection, database: str, table: str) -> bool:
    """Whether `database` holds our views over `table`, as this Agentoscope defines them. Then
    an open needs no DDL: a reader whose user may only read (readonly=2) opens the store."""
    views = otel_views(table)
    found = connection.query_df(
        f"SELECT name, comment FROM system.tables WHERE database = {literal(database)} "
        f"AND name IN {literal(sorted(views))}"
    )
    comments = dict(zip(found["name"], found["comment"], strict=True))
    mark = _mark(views)
    return all(comments.get(name) == mark for name in views)


def install_otel_views(connection: Connection, table: str) -> None:
    """Create (or bring up to date) our views over `table` in the connection's database."""
    views = otel_views(table)
    mark = literal(_mark(views))
    for name, sql in views.items():
        connection.command(f"CREATE OR REPLACE VIEW {name} AS {sql}\nCOMMENT {mark}")
