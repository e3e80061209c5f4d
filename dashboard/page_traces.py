"""Traces: the most recent traces, newest first, filtered and paginated. Pick one to open it."""

from __future__ import annotations

import math
import sys

import pandas as pd
import streamlit as st

from agentoscope.dashboard import controls
from agentoscope.dashboard.charts import styled_status
from agentoscope.dashboard.data import fetch
from agentoscope.dashboard.format import count, duration, money, texts, width_for
from agentoscope.dashboard.queries import (
    TraceFilters,
    agent_names,
    named,
    trace_count,
)
from agentoscope.dashboard.reads import TraceCount, search_count, trace_rows

PAGE_SIZE = 50
ANY = "(any)"
STATUS_LABELS = {
    "any": "Any",
    "error": ":material/error: Errors",
    "ok": ":material/check_circle: OK",
    "guardrail": ":material/shield: Guardrail tripped",
}


def status_text(errors: int, tripped: int, running: bool = False) -> str:
    if errors:
        return f"{errors} error{'s' if errors > 1 else ''}"
    if tripped:
        return "tripped"
    return "running" if running else "ok"


# URL parameter -> filter widget: a filtered list is a link (`/?q=GatewayTimeout&status=error`).
URL_FILTERS = {
    "q": "traces_search",
    "status": "traces_status",
    "workflow": "traces_workflow",
    "agent": "traces_agent",
    "group": "traces_group",
}


def filters_from_url(options: dict[str, list[str]]) -> None:
    """Set the filter widgets from the URL when it names filters this session has not seen."""
    from_url = {key: st.query_params[key] for key in URL_FILTERS if key in st.query_params}
    if from_url == st.session_state.get("_traces_url"):
        return
    for key, widget in URL_FILTERS.items():
        value = from_url.get(key)
        allowed = options.get(key)
        if value is not None and (allowed is None or value in allowed):
            st.session_state[widget] = value
        elif value is None:
            st.session_state.pop(widget, None)


def filters_to_url(filters: TraceFilters) -> None:
    """Keep the URL in step with the filters, so the address bar is a shareable link."""
    values = {
        "q": filters.search,
        "status": None if filters.status == "any" else filters.status,
        "workflow": filters.workflow,
        "agent": filters.agent,
        "group": filters.group_id,
    }
    wanted = {key: value for key, value in values.items() if value}
    for key in URL_FILTERS:
        if key in st.query_params and key not in wanted:
            del st.query_params[key]
    st.query_params.update(wanted)
    st.session_state["_traces_url"] = wanted


def read_filters() -> TraceFilters:
    workflows = [ANY, *fetch(named("workflows"))["workflow_name"].tolist()]
    agents = [ANY, *fetch(agent_names())["agent_name"].tolist()]
    filters_from_url({"status": list(STATUS_LABELS), "workflow": workflows, "agent": agents})
    st.session_state.setdefault("traces_status", "any")
    search_column, status_column = st.columns([3, 2])
    search = search_column.text_input(
        "Search",
        key="traces_search",
        placeholder="span names, tool names, error messages, trace / span / group ids",
    )
    status = status_column.segmented_control(
        "Status",
        list(STATUS_LABELS),
        format_func=STATUS_LABELS.__getitem__,
        key="traces_status",
    )
    workflow_column, agent_column, group_column = st.columns(3)
    workflow = workflow_column.selectbox("Workflow", workflows, key="traces_workflow")
    agent = agent_column.selectbox("Agent", agents, key="traces_agent")
    group_id = group_column.text_input("Group id", key="traces_group", placeholder="any")
    return TraceFilters(
        window=controls.current_window(),
        workflow=None if workflow == ANY else workflow,
        agent=None if agent == ANY else agent,
        status=status or "any",
        group_id=group_id.strip() or None,
        search=search.strip() or None,
    )


def chosen(filters: TraceFilters) -> tuple[str | None, ...]:
    """What the user chose: the window's name and the filters."""
    return (
        controls.window_choice(),
        filters.workflow,
        filters.agent,
        filters.status,
        filters.group_id,
        filters.search,
    )


def page_number(filters: TraceFilters, pages: int) -> int:
    """The current page, back to the first whenever the filters change."""
    if st.session_state.get("_traces_filters") != (choice := chosen(filters)):
        st.session_state["_traces_filters"] = choice
        st.session_state["traces_page"] = 1
    current = min(max(int(st.session_state.get("traces_page", 1)), 1), pages)
    st.session_state["traces_page"] = current
    return current


def show_table(frame: pd.DataFrame) -> None:
    targets = controls.row_targets(frame)
    table = pd.DataFrame(
        {
            "open": controls.target_urls(targets),
            # A running trace's name arrives with its trace record, when it ends.
            "workflow": texts(frame["workflow_name"]),
            "started (UTC)": pd.to_datetime(frame["started_at"]),
            "duration": frame["duration_ms"].map(duration),
            "spans": frame["spans"],
            "tokens": frame["tokens"].map(count),
            "cost": frame["cost"].map(money),
            "status": [
                status_text(int(errors), int(tripped), bool(running))
                for errors, tripped, running in zip(
                    frame["errors"], frame["tripped"], frame["running"].fillna(False), strict=True
                )
            ],
            "first agent": texts(frame["first_agent"]),
            "group": texts(frame["group_id"]),
            "last error": texts(frame["last_error"]),
        }
    )
    key = f"traces_table_{st.session_state.get('traces_page', 1)}"
    st.dataframe(
        styled_status(table),
        hide_index=True,
        width="stretch",
        height=38 + 35 * len(table),  # every row on the page, no scrolling inside the table
        on_select=controls.follow_selection(key, targets),
        selection_mode="single-row",
        key=key,
        column_config={
            "open": controls.trace_link_column("trace"),
            "started (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "workflow": st.column_config.TextColumn(width=width_for(table["workflow"])),
            "first agent": st.column_config.TextColumn(width=width_for(table["first agent"])),
            "group": st.column_config.TextColumn(width=width_for(table["group"], most=300)),
            "spans": st.column_config.NumberColumn(width="small"),
            "cost": st.column_config.TextColumn(width=width_for(table["cost"])),
            "tokens": st.column_config.TextColumn(width=width_for(table["tokens"])),
            "last error": st.column_config.TextColumn(width="large"),
        },
    )


def count_text(counted: TraceCount, pages: int) -> tuple[str, str]:
    """("of N pages", "N traces"), or "N+" for a search counted since a moment only."""
    if counted.exact or counted.since is None:
        return f"{pages}", f"{counted.traces:,} traces"
    since = f"{counted.since:%Y-%m-%d %H:%M} UTC"
    return f"{pages}+", f"{counted.traces:,}+ traces (counted since {since})"


def pager(current: int, pages: int, counted: TraceCount, filters: TraceFilters) -> None:
    newer, label, older = st.columns([1, 3, 1])
    if newer.button(
        "Newer", icon=":material/chevron_left:", disabled=current <= 1, width="stretch"
    ):
        st.session_state["traces_page"] = current - 1
        st.rerun()
    of_pages, traces = count_text(counted, pages)
    label.caption(
        f"<div style='text-align:center'>Page {current} of {of_pages} · {traces}</div>",
        unsafe_allow_html=True,
    )
    # A search counted since a moment may have older matches: the next page looks further back.
    more = not counted.exact
    if older.button(
        "Older",
        icon=":material/chevron_right:",
        disabled=current >= pages and not more,
        width="stretch",
    ):
        st.session_state["traces_page"] = current + 1
        st.rerun()
    if more and label.button("Count all matches", key="traces_count_all", width="stretch"):
        st.session_state["_traces_count_all"] = chosen(filters)
        st.rerun()


def count_traces(filters: TraceFilters) -> TraceCount:
    """Exact counts, except a text search's: it scans spans, so it is counted within the
    window the list reads (N+) until "Count all matches" asks for every one."""
    if not filters.search or st.session_state.get("_traces_count_all") == chosen(filters):
        return TraceCount(int(fetch(trace_count(filters))["traces"].iloc[0]), True)
    # Enough for the page asked for and one more row, so "Older" knows there is more.
    requested = page_number(filters, sys.maxsize)
    return search_count(fetch, filters, requested * PAGE_SIZE + 1)


st.title(":material/list_alt: Traces")
st.caption(
    f"{controls.window_choice()} · newest first · select a row (or the trace link) to open it"
)
filters = read_filters()
filters_to_url(filters)
counted = count_traces(filters)
if counted.traces == 0:
    st.info(
        "No traces match. Widen the time window in the sidebar or clear the filters."
        if filters != TraceFilters(window=filters.window) or filters.window.start
        else "The store has no traces yet."
    )
    st.stop()
pages = max(1, math.ceil(counted.traces / PAGE_SIZE))
current = page_number(filters, pages)
frame = trace_rows(
    fetch,
    filters,
    controls.current_prices(),
    PAGE_SIZE,
    (current - 1) * PAGE_SIZE,
    counted.found,
)
show_table(frame)
pager(current, pages, counted, filters)
