"""Agentoscope's trace explorer: `agentoscope dashboard` (or `streamlit run app.py`).

This script is the frame around every page: page setup, navigation, the sidebar (what is being
read, the time window, live refresh) and the query-time footer. Each page is its own script
(page_*.py) so it reads top to bottom.
"""

from __future__ import annotations

import streamlit as st

from agentoscope.dashboard import controls, data
from agentoscope.dashboard.format import ago, count
from agentoscope.dashboard.queries import named

st.set_page_config(page_title="Agentoscope", page_icon=":material/troubleshoot:", layout="wide")
st.session_state[data.TIMINGS_KEY] = []

PAGES = [
    st.Page("page_traces.py", title="Traces", icon=":material/list_alt:", default=True),
    st.Page("page_trace.py", title="Trace", icon=":material/account_tree:", url_path="trace"),
    st.Page("page_usage.py", title="Usage & cost", icon=":material/payments:", url_path="usage"),
    st.Page("page_latency.py", title="Latency", icon=":material/timer:", url_path="latency"),
    st.Page("page_errors.py", title="Errors", icon=":material/error:", url_path="errors"),
    st.Page("page_sessions.py", title="Sessions", icon=":material/forum:", url_path="sessions"),
    st.Page("page_sql.py", title="SQL", icon=":material/database:", url_path="sql"),
]
LIVE_INTERVALS = {"2 s": 2, "5 s": 5, "15 s": 15, "60 s": 60}


def watch_for_new_spans() -> None:
    """A cheap poll of the store's counts; the whole page reruns only when something changed."""
    summary = named("overview").run(data.reader())
    seen = tuple(str(value) for value in summary.iloc[0].tolist())
    previous = st.session_state.get("_live_seen")
    st.session_state["_live_seen"] = seen
    if previous is not None and previous != seen:
        st.rerun(scope="app")


def sidebar() -> None:
    source = data.configured_source()
    with st.sidebar:
        st.session_state.setdefault(controls.WINDOW_KEY, controls.DEFAULT_WINDOW)
        st.selectbox("Time window", list(controls.WINDOWS), key=controls.WINDOW_KEY)
        summary = data.fetch(named("overview")).iloc[0]
        st.caption(
            f"**{count(summary['traces'])}** traces · **{count(summary['spans'])}** spans · "
            f"latest span {ago(summary['last_span_at'])}"
        )
        live_possible = source.kind == "server"
        live = st.toggle(
            "Live refresh",
            key="live",
            disabled=not live_possible,
            help="Reruns the page when new spans arrive."
            if live_possible
            else "A store file cannot change while the dashboard reads it. For live data, run "
            "`agentoscope serve` and start the dashboard with `--server URL`.",
        )
        if live and live_possible:
            interval = st.select_slider("every", list(LIVE_INTERVALS), value="5 s", key="every")
            st.fragment(run_every=LIVE_INTERVALS[interval])(watch_for_new_spans)()
        icon = ":material/dns:" if source.kind == "server" else ":material/folder_open:"
        mode = " (read-only)" if source.kind == "file" else ""
        st.caption(f"{icon} `{source.where()}`{mode}")  # never a URL's password
        if source.kind == "file" and st.button(
            "Reopen store",
            help="Close and reopen the file, to see what a writer added since. While the "
            "dashboard has the file open, no other process can write to it.",
        ):
            data.release_reader()
            st.rerun()


def footer() -> None:
    timings = st.session_state.get(data.TIMINGS_KEY) or []
    if timings:
        st.caption(
            f"{len(timings)} queries · {sum(timings):.0f} ms · slowest {max(timings):.0f} ms"
        )


navigation = st.navigation(PAGES)
data.reader()  # shows why the store cannot be read, and stops, before any page runs
sidebar()
controls.follow_pending_selection()
navigation.run()
footer()
