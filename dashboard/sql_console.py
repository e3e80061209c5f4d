"""The SQL page's examples and display cap, apart from the page (which runs as a Streamlit script)
so that tests can run every example on both engines.

The examples are written once, in DuckDB's SQL; an example whose DuckDB text ClickHouse does not
take has its ClickHouse text in `CLICKHOUSE_EXAMPLES` (same name), so a user on either engine
starts from SQL that runs on their store, in their store's dialect.
"""

from __future__ import annotations

import re

ROW_LIMIT = 10_000
EXAMPLES = {
    "Latest traces": """SELECT trace_id, workflow_name, group_id, started_at, duration_ms
FROM traces
ORDER BY started_at DESC
LIMIT 20""",
    "Tokens per model and hour (token_usage view)": """SELECT hour, model,
       sum(calls) AS calls, sum(input_tokens) AS input_tokens,
       sum(cached_input_tokens) AS cached, sum(output_tokens) AS output_tokens
FROM token_usage
GROUP BY ALL
ORDER BY hour DESC, output_tokens DESC
LIMIT 100""",
    "Slowest tools, p50 and p95 (tool_calls view)": """SELECT tool_name, count(*) AS calls,
       quantile_cont(duration_ms, 0.5) AS p50_ms,
       quantile_cont(duration_ms, 0.95) AS p95_ms,
       count(*) FILTER (WHERE status = 'error') AS errors
FROM tool_calls
GROUP BY tool_name
ORDER BY p95_ms DESC""",
    "Latest failures": """SELECT started_at, span_type, name, agent_name,
       error_type, error_message, trace_id
FROM spans
WHERE status = 'error'
ORDER BY started_at DESC
LIMIT 50""",
    "Handoffs between agents (handoffs view)": """SELECT from_agent, to_agent, count(*) AS handoffs
FROM handoffs
GROUP BY ALL
ORDER BY handoffs DESC""",
    "Tripped guardrails (guardrails view)": """SELECT started_at, guardrail_name, agent_name,
       trace_id
FROM guardrails
WHERE triggered
ORDER BY started_at DESC
LIMIT 50""",
    "Arguments and results of the busiest tool": """SELECT started_at, tool_name, input, output
FROM tool_calls
WHERE tool_name = (
    SELECT tool_name FROM tool_calls GROUP BY tool_name ORDER BY count(*) DESC LIMIT 1)
ORDER BY started_at DESC
LIMIT 20""",
    "Model inputs and outputs (generations view)": """SELECT started_at, model, input_tokens,
       output_tokens, input, output
FROM generations
ORDER BY started_at DESC
LIMIT 20""",
    "Agents and their tools (agent_runs view)": """SELECT agent_name, count(*) AS runs,
       any_value(tools) AS tools, any_value(handoffs) AS handoffs
FROM agent_runs
GROUP BY agent_name
ORDER BY runs DESC""",
}
# Statements that produce rows and can be wrapped in a LIMIT without changing their meaning.
ROW_STATEMENT = re.compile(r"^\s*(\(|select\b|with\b|from\b|values\b|table\b)", re.IGNORECASE)


# ClickHouse has no quantile_cont: quantileExactInclusive is the same interpolation (the value at
# rank (n - 1) q, between its neighbours); countIf is its idiom for a filtered count.
CLICKHOUSE_EXAMPLES = {
    "Slowest tools, p50 and p95 (tool_calls view)": """SELECT tool_name, count(*) AS calls,
       quantileExactInclusive(0.5)(duration_ms) AS p50_ms,
       quantileExactInclusive(0.95)(duration_ms) AS p95_ms,
       countIf(status = 'error') AS errors
FROM tool_calls
GROUP BY tool_name
ORDER BY p95_ms DESC""",
}
DIALECT_NOTES = {
    "duckdb": "Read-only DuckDB SQL over the store. Times are UTC `TIMESTAMP`s; `data`, `error` "
    "and `metadata` are JSON (`data->>'$.field'`).",
    "clickhouse": "Read-only ClickHouse SQL over the store. Times are UTC `DateTime64(6)`s; "
    "`data`, `error` and `metadata` are JSON text (`JSONExtractString(data, 'field')`).",
}


def examples(dialect: str) -> dict[str, str]:
    """The examples, each in `dialect` ("duckdb" or "clickhouse")."""
    if dialect == "clickhouse":
        return {name: CLICKHOUSE_EXAMPLES.get(name, sql) for name, sql in EXAMPLES.items()}
    return dict(EXAMPLES)


def capped(sql: str) -> tuple[str, bool]:
    """The statement with a display cap when it is a plain query; other reads run as written."""
    statement = sql.strip().rstrip(";").strip()
    if ROW_STATEMENT.match(statement):
        return f"SELECT * FROM (\n{statement}\n) AS result LIMIT {ROW_LIMIT + 1}", True
    return statement, False
