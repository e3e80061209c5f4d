"""Errors: how often runs fail, what fails (error types, tools, guardrails), and the latest
failures, each one a click away from its trace."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentoscope.dashboard import charts, controls
from agentoscope.dashboard.controls import metric_row
from agentoscope.dashboard.data import fetch
from agentoscope.dashboard.format import count, texts
from agentoscope.dashboard.queries import (
    error_totals,
    errors_by_type,
    errors_over_time,
    failing_tools,
    guardrail_trips,
    named,
)
from agentoscope.dashboard.reads import latest_failures

LINK = controls.trace_link_column()
WHEN = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")


def show_rate(totals: pd.Series, over_time: pd.DataFrame, bucket: int) -> None:
    failed, spans = int(totals["errors"]), int(totals["spans"])
    failing, traces = int(totals["failing_traces"]), int(totals["traces"])
    row = metric_row()
    row.metric("Failed spans", count(failed), width="content")
    row.metric("Span error rate", f"{failed / spans:.2%}" if spans else "–", width="content")
    row.metric("Traces with an error", count(failing), width="content")
    row.metric("Trace error rate", f"{failing / traces:.2%}" if traces else "–", width="content")
    st.altair_chart(charts.error_rate(over_time, bucket), width="stretch")


def show_error_types(types: pd.DataFrame) -> None:
    st.markdown("**Top error types**")
    st.dataframe(
        pd.DataFrame(
            {
                "error type": types["error_type"],
                "in span type": types["span_type"],
                "errors": types["errors"],
                "traces": types["traces"],
                "last seen (UTC)": pd.to_datetime(types["last_seen"]),
                "example message": texts(types["example_message"]),
                "failing traces": types["error_type"].map(
                    lambda error_type: controls.traces_url(search=error_type, status="error")
                ),
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "failing traces": st.column_config.LinkColumn(display_text="list them"),
            "last seen (UTC)": WHEN,
        },
    )


def show_tools_and_guardrails(tools: pd.DataFrame, guardrails: pd.DataFrame) -> None:
    left, right = st.columns(2)
    left.markdown("**Failing tools**")
    if tools.empty:
        left.caption("No tool call failed in this window.")
    else:
        left.dataframe(
            pd.DataFrame(
                {
                    "tool": tools["tool_name"],
                    "calls": tools["calls"],
                    "errors": tools["errors"],
                    "error rate": tools["error_rate"],
                    "latest error": texts(tools["latest_message"]),
                    "latest trace": tools["latest_trace_id"].map(controls.trace_url),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "latest trace": LINK,
                "error rate": st.column_config.NumberColumn(format="percent"),
            },
        )
    right.markdown("**Guardrails**")
    if guardrails.empty:
        right.caption("No guardrail ran in this window.")
    else:
        right.dataframe(
            pd.DataFrame(
                {
                    "guardrail": guardrails["guardrail"],
                    "checks": guardrails["checks"],
                    "tripped": guardrails["tripped"],
                    "latest trip": guardrails["latest_trace_id"].map(controls.trace_url).fillna(""),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={"latest trip": LINK},
        )


def show_recent(recent: pd.DataFrame) -> None:
    st.markdown("**Latest failures** · select one to open it in its trace")
    targets = controls.row_targets(recent)
    st.dataframe(
        pd.DataFrame(
            {
                "when (UTC)": pd.to_datetime(recent["started_at"]),
                "type": recent["span_type"],
                "span": recent["name"],
                "error": recent["error_type"],
                "message": texts(recent["error_message"]),
                "agent": texts(recent["agent_name"]),
                "tool / model": texts(recent["tool_name"].fillna(recent["model"])),
                "trace": controls.target_urls(targets),
            }
        ),
        hide_index=True,
        width="stretch",
        on_select=controls.follow_selection("recent_errors", targets),
        selection_mode="single-row",
        key="recent_errors",
        column_config={"trace": LINK, "when (UTC)": WHEN},
    )


st.title(":material/error: Errors")
window = controls.current_window()
summary = fetch(named("overview")).iloc[0]
bucket = controls.bucket_seconds(window, summary["first_span_at"], summary["last_span_at"])
st.caption(f"{controls.window_choice()} · one bar per {controls.bucket_label(bucket)} · UTC")
totals = fetch(error_totals(window)).iloc[0]
if not totals["spans"]:
    st.info("No spans in this window. Widen the time window in the sidebar.")
    st.stop()
show_rate(totals, fetch(errors_over_time(window, bucket)), bucket)
if not totals["errors"]:
    st.success("No span failed in this window.")
else:
    show_error_types(fetch(errors_by_type(window)))
show_tools_and_guardrails(fetch(failing_tools(window)), fetch(guardrail_trips(window)))
if totals["errors"]:
    show_recent(latest_failures(fetch, window, 50))
