"""SQL: a read-only console over the store's tables and views, with examples to start from.

The store (or the server) refuses anything but reads, so this page needs no checks of its own.
Queries that return rows are capped for display; the CSV download has the same rows.
"""

from __future__ import annotations

import re
import time

import streamlit as st

from agentoscope.dashboard.data import fetch, reader
from agentoscope.dashboard.format import tidy_floats
from agentoscope.dashboard.queries import schema_columns

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


def capped(sql: str) -> tuple[str, bool]:
    """The statement with a display cap when it is a plain query; other reads run as written."""
    statement = sql.strip().rstrip(";").strip()
    if ROW_STATEMENT.match(statement):
        return f"SELECT * FROM (\n{statement}\n) AS result LIMIT {ROW_LIMIT + 1}", True
    return statement, False


def pick_example() -> None:
    st.session_state["sql_text"] = EXAMPLES[st.session_state["sql_example"]]


def show_schema() -> None:
    columns = fetch(schema_columns())
    for (table, kind), group in columns.groupby(["table_name", "table_type"], sort=False):
        label = "view" if "VIEW" in str(kind).upper() else "table"
        with st.expander(f"`{table}` · {label}"):
            st.dataframe(group[["column_name", "data_type"]], hide_index=True, width="stretch")


st.title(":material/database: SQL")
st.caption(
    "Read-only DuckDB SQL over the store. Times are UTC `TIMESTAMP`s; `data`, `error` and "
    "`metadata` are JSON (`data->>'$.field'`)."
)
editor, schema = st.columns([3, 1])
with schema:
    st.markdown("**Tables and views**")
    show_schema()
with editor:
    st.selectbox(
        "Examples",
        list(EXAMPLES),
        key="sql_example",
        on_change=pick_example,
        index=None,
        placeholder="Start from an example…",
    )
    if "sql_text" not in st.session_state:  # first visit: show the first example's result
        st.session_state["sql_text"] = st.session_state["sql_ran"] = EXAMPLES["Latest traces"]
    sql = st.text_area("Query", key="sql_text", height=220)
    run = st.button("Run", type="primary")

    if run or st.session_state.get("sql_ran") == sql:
        st.session_state["sql_ran"] = sql
        statement, is_capped = capped(sql)
        started = time.perf_counter()
        try:
            result = reader().query(statement, None)
        except Exception as error:
            st.error(f"{type(error).__name__}: {error}")
            st.stop()
        elapsed = (time.perf_counter() - started) * 1000
        truncated = is_capped and len(result) > ROW_LIMIT
        result = result.head(ROW_LIMIT)
        st.caption(
            f"{len(result):,} rows{' (first ' + f'{ROW_LIMIT:,})' if truncated else ''} · "
            f"{elapsed:.0f} ms"
        )
        st.dataframe(tidy_floats(result), width="stretch", hide_index=True)
        st.download_button(
            "Download CSV",
            result.to_csv(index=False).encode("utf-8"),
            file_name="agentoscope-query.csv",
            mime="text/csv",
        )
