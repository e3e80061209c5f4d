"""Trace: one trace's span tree and waterfall, and the details of the selected span.

The URL names the trace and the span (`trace?trace_id=...&span_id=...`), so a link to exactly what
you are looking at can be pasted into a ticket.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from agentoscope.dashboard import charts, controls, pricing
from agentoscope.dashboard.charts import styled_status
from agentoscope.dashboard.controls import metric_row
from agentoscope.dashboard.data import fetch_trace
from agentoscope.dashboard.format import (
    count,
    duration,
    is_missing,
    money,
    timestamp,
    width_for,
)
from agentoscope.dashboard.span_detail import show_span
from agentoscope.dashboard.span_tree import tree_order

SPAN_IDS_KEY = "_trace_span_ids"


def choose_trace() -> NoReturn:
    st.title(":material/account_tree: Trace")
    trace_id = st.text_input("Trace id", placeholder="trace_…", key="trace_lookup")
    if trace_id.strip():
        st.query_params["trace_id"] = trace_id.strip()
        st.rerun()
    st.info("Open a trace from the Traces, Errors, Latency or Sessions pages, or paste its id.")
    st.stop()


def select_from_table() -> None:
    rows = st.session_state["span_table"].selection.rows
    ids = st.session_state.get(SPAN_IDS_KEY) or []
    if rows and rows[0] < len(ids):
        st.query_params["span_id"] = ids[rows[0]]


def select_from_chart() -> None:
    picked = st.session_state["waterfall"].selection.get(charts.WATERFALL_SELECTION) or []
    if picked and picked[0].get("span_id"):
        st.query_params["span_id"] = picked[0]["span_id"]


def default_span(rows: pd.DataFrame) -> str:
    """What an engineer wants first: the first failure, else the first tripped guardrail,
    else the root."""
    failed = rows[rows["status"] == "error"]
    if not failed.empty:
        return str(failed["span_id"].iloc[0])
    tripped = rows[(rows["span_type"] == "guardrail") & charts.tripped(rows)]
    if not tripped.empty:
        return str(tripped["span_id"].iloc[0])
    return str(rows["span_id"].iloc[0])


def header(trace: dict[str, Any] | None, rows: pd.DataFrame, cost: float | None) -> None:
    trace = trace or {}
    running = bool(trace.get("inferred"))
    name = trace.get("workflow_name") or "(unnamed trace)"
    st.title(f":material/account_tree: {name}")
    trace_id = rows["trace_id"].iloc[0]
    started = trace.get("started_at") or rows["started_at"].min()
    state = " · :orange[running, or its process died before the trace ended]" if running else ""
    st.caption(f"`{trace_id}` · started {timestamp(started)}{state}")
    errors = int((rows["status"] == "error").sum())
    tokens = (rows["input_tokens"].fillna(0) + rows["output_tokens"].fillna(0)).sum()
    total_ms = None if running else trace.get("duration_ms")
    if is_missing(total_ms):
        total_ms = float(rows["end_ms"].max())
    row = metric_row()
    row.metric("Duration", duration(total_ms), width="content")
    row.metric("Spans", count(len(rows)), width="content")
    row.metric("Model calls", count(rows["model"].notna().sum()), width="content")
    row.metric("Tokens", count(tokens), width="content")
    row.metric("Cost", money(cost), width="content")
    row.metric("Errors", count(errors), width="content")
    group_id = trace.get("group_id")
    if (
        isinstance(group_id, str)
        and group_id
        and st.button(f"Conversation `{group_id}`", icon=":material/forum:")
    ):
        controls.open_session(group_id)


def trace_cost(rows: pd.DataFrame, prices: list[pricing.ModelPrice]) -> float | None:
    costs = [
        pricing.token_cost(
            pricing.match_price(model, prices),
            row_in or 0,
            row_out or 0,
            row_cached or 0,
        )
        for model, row_in, row_out, row_cached in zip(
            rows["model"],
            rows["input_tokens"].fillna(0),
            rows["output_tokens"].fillna(0),
            rows["cached_input_tokens"].fillna(0),
            strict=True,
        )
        if isinstance(model, str)
    ]
    priced = [cost for cost in costs if cost is not None]
    return sum(priced) if priced else None


def span_table(rows: pd.DataFrame) -> None:
    table = pd.DataFrame(
        {
            "span": rows["tree"],
            "type": rows["span_type"],
            "duration": rows["duration_ms"].map(duration),
            "tokens": (rows["input_tokens"] + rows["output_tokens"]).map(
                lambda value: "" if is_missing(value) else count(value)
            ),
            "status": [
                "error" if status == "error" else ("tripped" if tripped else "")
                for status, tripped in zip(rows["status"], charts.tripped(rows), strict=True)
            ],
        }
    )
    st.dataframe(
        styled_status(table),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(table), 640),
        on_select=select_from_table,
        selection_mode="single-row",
        key="span_table",
        # Narrow enough to sit beside the detail panel; the waterfall shows when spans start.
        column_config={
            # As wide as the longest name in its tree (up to a limit): names are not cut.
            "span": st.column_config.TextColumn(width=width_for(table["span"], most=360)),
            "type": st.column_config.TextColumn(width=85),
            "duration": st.column_config.TextColumn(width=75),
            "tokens": st.column_config.TextColumn(width=60),
            "status": st.column_config.TextColumn(width=60),
        },
    )


trace_id = st.query_params.get("trace_id")
if not trace_id:
    choose_trace()
trace, spans = fetch_trace(trace_id)
if spans.empty:
    st.title(":material/account_tree: Trace")
    if trace:
        st.warning(f"Trace `{trace_id}` has no spans.")
    else:
        st.error(f"No trace `{trace_id}` in this store.")
    st.stop()

rows = tree_order(spans, trace["started_at"] if trace else None)
st.session_state[SPAN_IDS_KEY] = rows["span_id"].tolist()
prices = pricing.prices_from_frame(controls.price_table())
header(trace, rows, trace_cost(rows, prices))

selected = st.query_params.get("span_id")
if selected not in set(rows["span_id"]):
    selected = default_span(rows)

st.altair_chart(
    charts.waterfall(rows, selected),
    on_select=select_from_chart,
    selection_mode=charts.WATERFALL_SELECTION,
    key="waterfall",
    width="stretch",
)
tree_column, detail_column = st.columns([11, 9], gap="medium")
with tree_column:
    st.markdown("**Spans** · select one for its details")
    span_table(rows)
with detail_column, st.container(border=True):
    show_span(rows[rows["span_id"] == selected].iloc[0].to_dict(), prices)
