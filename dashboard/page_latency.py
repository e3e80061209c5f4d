"""Latency: p50/p95/p99 per span type, tool, model or agent; the distribution; the slowest spans."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentoscope.dashboard import charts, controls
from agentoscope.dashboard.charts import styled_status
from agentoscope.dashboard.data import fetch
from agentoscope.dashboard.format import duration, texts, width_for
from agentoscope.dashboard.queries import (
    latency_histogram,
    named,
    slowest_spans,
    window_params,
)
from agentoscope.tracing.store.queries import ESTIMATE_MAX_RELATIVE_ERROR

GROUPINGS = {"span_type": "Span type", "tool_name": "Tool", "model": "Model"}
# The store's canonical percentile queries, one per grouping.
PERCENTILE_QUERIES = {
    "span_type": "latency_by_span_type",
    "tool_name": "latency_by_tool",
    "model": "latency_by_model",
}
ALL = "(all spans)"


st.title(":material/timer: Latency")
window = controls.current_window()
# Percentiles are estimated by default (the `_estimated` queries: the latency_hours rollup for
# whole hours, so they cost about the same at 100M spans as at 10M), within
# ESTIMATE_MAX_RELATIVE_ERROR; exact ones read every span of the window.
exact = st.toggle(
    "Exact percentiles",
    key="latency_exact",
    help="Read every span of the window instead of the hourly duration buckets: exact, and "
    "slower the more spans the window holds.",
)
note = (
    " · exact percentiles"
    if exact
    else f" · percentiles estimated within {ESTIMATE_MAX_RELATIVE_ERROR:.1%} (duration buckets)"
)
st.caption(f"{controls.window_choice()} · span durations, from start to end{note}")
by = st.segmented_control(
    "Per", list(GROUPINGS), format_func=GROUPINGS.__getitem__, default="span_type", key="latency_by"
)
by = by or "span_type"
query = PERCENTILE_QUERIES[by] + ("" if exact else "_estimated")
percentiles = fetch(named(query, **window_params(window)))
percentiles = percentiles.rename(columns={by: "key", "avg_ms": "mean_ms"})
if percentiles.empty:
    st.info("No finished spans in this window. Widen the time window in the sidebar.")
    st.stop()

title = GROUPINGS[by].lower()
table_column, chart_column = st.columns([3, 2])
table_column.dataframe(
    pd.DataFrame(
        {
            title: texts(percentiles["key"]),
            "spans": percentiles["spans"],
            "p50": percentiles["p50_ms"].map(duration),
            "p95": percentiles["p95_ms"].map(duration),
            "p99": percentiles["p99_ms"].map(duration),
            "max": percentiles["max_ms"].map(duration),
            "mean": percentiles["mean_ms"].map(duration),
        }
    ),
    hide_index=True,
    width="stretch",
    height=38 + 35 * len(percentiles),  # every span type, tool or model: no scrolling inside
    column_config={title: st.column_config.TextColumn(width=width_for(percentiles["key"]))},
)
chart_column.altair_chart(charts.percentile_chart(percentiles, title), width="stretch")

focus = st.selectbox(
    "Distribution and slowest spans of", [ALL, *percentiles["key"].astype(str)], key="latency_of"
)
key_filter = (by, focus) if focus != ALL else (None, None)
histogram = fetch(latency_histogram(window, *key_filter))
st.markdown(f"**Duration histogram** · {focus}")
st.altair_chart(charts.histogram(histogram), width="stretch")

slow = fetch(slowest_spans(window, *key_filter))
st.markdown(f"**Slowest spans** · {focus} · select one to open it in its trace")
targets = controls.row_targets(slow)
st.dataframe(
    pd.DataFrame(
        {
            "duration": slow["duration_ms"].map(duration),
            "type": slow["span_type"],
            "span": texts(slow["name"]),
            "agent": texts(slow["agent_name"]),
            "status": slow["status"],
            "started (UTC)": pd.to_datetime(slow["started_at"]),
            "workflow": texts(slow["workflow_name"]),
            "trace": controls.target_urls(targets),
        }
    ).pipe(styled_status),
    hide_index=True,
    width="stretch",
    on_select=controls.follow_selection("slowest_table", targets),
    selection_mode="single-row",
    key="slowest_table",
    column_config={
        "trace": controls.trace_link_column(),
        "started (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    },
)
