"""Sessions: conversations (traces sharing a group id), and one conversation read as a chat: what
the user asked in each run, what the agent answered, and how the run went."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import pandas as pd
import streamlit as st

from agentoscope.dashboard import controls
from agentoscope.dashboard.controls import metric_row
from agentoscope.dashboard.data import fetch
from agentoscope.dashboard.format import (
    count,
    duration,
    is_missing,
    parse_json,
    timestamp,
    width_for,
)
from agentoscope.dashboard.messages import last_assistant_text, last_user_text
from agentoscope.dashboard.queries import session_count
from agentoscope.dashboard.reads import session_rows, session_traces

PAGE_SIZE = 50
PREVIEW_CHARS = 1200


def _preview(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + " …"


def _field(data: object, name: str) -> object:
    parsed = parse_json(data)
    return parsed.get(name) if isinstance(parsed, dict) else None


def _names(value: object) -> str:
    """A DuckDB list as text (an array locally, a list or its JSON text from a server)."""
    if isinstance(value, str):
        value = parse_json(value)
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, Iterable):
        return str(value)
    return ", ".join(str(name) for name in value if name)


def show_conversation(group_id: str) -> None:
    if st.button("← All sessions"):
        del st.query_params["group_id"]
        st.rerun()
    st.title(":material/forum: Conversation")
    st.caption(f"group id `{group_id}`")
    turns = session_traces(fetch, group_id)
    if turns.empty:
        st.warning(f"No traces with group id `{group_id}`.")
        return
    row = metric_row()
    row.metric("Runs", count(len(turns)), width="content")
    row.metric("Tokens", count(turns["tokens"].sum()), width="content")
    row.metric("Errors", count(turns["errors"].sum()), width="content")
    first, last = turns["started_at"].min(), turns["started_at"].max()
    row.metric("Over", duration((last - first).total_seconds() * 1000), width="content")
    for number, turn in enumerate(turns.to_dict("records"), start=1):
        with st.container(border=True):
            head, link = st.columns([5, 1])
            status = (
                f":red[:material/error: {turn['errors']} error(s)]"
                if turn["errors"]
                else ":green[:material/check_circle: ok]"
            )
            head.markdown(
                f"**{number}. {turn['workflow_name'] or '(unnamed)'}** · "
                f"{timestamp(turn['started_at'])} · {duration(turn['duration_ms'])} · "
                f"{count(turn['tokens'])} tokens · {status}"
            )
            link.page_link(
                controls.TRACE_PAGE,
                label="Open trace →",
                query_params={"trace_id": turn["trace_id"]},
            )
            asked = _preview(last_user_text(_field(turn["first_model_data"], "input")))
            answered = _preview(last_assistant_text(_field(turn["last_model_data"], "output")))
            if asked:
                st.chat_message("user", avatar=":material/person:").markdown(asked)
            if answered:
                st.chat_message("assistant", avatar=":material/smart_toy:").markdown(answered)
            if not asked and not answered:
                st.caption("No model input or output recorded for this run.")
            if not is_missing(turn["last_error"]):
                st.error(turn["last_error"], icon=":material/error:")


def choose_session(group_ids: list[str]) -> Callable[[], None]:
    def callback() -> None:
        rows = st.session_state["sessions_table"].selection.rows
        if rows and rows[0] < len(group_ids):
            st.query_params["group_id"] = group_ids[rows[0]]

    return callback


def show_sessions() -> None:
    st.title(":material/forum: Sessions")
    st.caption(
        f"{controls.window_choice()} · conversations are traces sharing a group id "
        "(`trace(..., group_id=...)`, or `RunConfig(group_id=...)`) · select one to read it"
    )
    window = controls.current_window()
    search = st.text_input("Group id contains", key="sessions_search")
    total = int(fetch(session_count(window, search or None))["sessions"].iloc[0])
    if total == 0:
        st.info("No traces with a group id in this window.")
        return
    pages = max(1, math.ceil(total / PAGE_SIZE))
    current = int(
        st.number_input(f"Page (of {pages})", 1, pages, 1, key="sessions_page", width=160)
    )
    groups = session_rows(fetch, window, search or None, PAGE_SIZE, (current - 1) * PAGE_SIZE)
    st.dataframe(
        pd.DataFrame(
            {
                "group id": groups["group_id"],
                "runs": groups["traces"],
                "first run (UTC)": pd.to_datetime(groups["first_started_at"]),
                "last active (UTC)": pd.to_datetime(groups["last_active_at"]),
                "tokens": groups["tokens"].map(count),
                "errors": groups["errors"],
                "workflows": groups["workflows"].map(_names),
            }
        ),
        hide_index=True,
        width="stretch",
        on_select=choose_session(groups["group_id"].tolist()),
        selection_mode="single-row",
        key="sessions_table",
        column_config={
            "group id": st.column_config.TextColumn(width=width_for(groups["group_id"])),
            "first run (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "last active (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        },
    )
    st.caption(f"{total:,} conversations")


group_id = st.query_params.get("group_id")
if group_id:
    show_conversation(group_id)
else:
    show_sessions()
