"""State every page shares: the time window, the price table, and links between pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from agentoscope.tracing.clock import utc_now
from agentoscope.tracing.store.prices import prices_match_defaults

from . import pricing
from .format import ID_COLUMN_PX
from .queries import Prices, Window, model_names

WINDOW_KEY = "window"
PRICES_KEY = "prices"
PRICES_VERSION_KEY = "_prices_version"
WINDOWS: dict[str, timedelta | None] = {
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "All time": None,
}
DEFAULT_WINDOW = "All time"
# Down to a second: a demo or a test run lasts seconds, and one bar for all of it says nothing.
BUCKETS = (1, 5, 10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 120
TRACE_PAGE = "page_trace.py"
SESSIONS_PAGE = "page_sessions.py"
GOTO_KEY = "_goto_trace"


def window_choice() -> str:
    choice = st.session_state.get(WINDOW_KEY, DEFAULT_WINDOW)
    return choice if choice in WINDOWS else DEFAULT_WINDOW


def current_window() -> Window:
    delta = WINDOWS[window_choice()]
    return Window(start=utc_now() - delta) if delta is not None else Window()


def bucket_seconds(window: Window, first: Any = None, last: Any = None) -> int:
    """The smallest bucket that keeps a chart under ~120 bars. The chart spans the data
    (`first` to `last` span start) inside the window, not the whole window: five minutes of
    spans in "Last 7 days" get minute bars, not one spike."""
    first_at, last_at = _as_datetime(first), _as_datetime(last)
    start = max(filter(None, (window.start, first_at)), default=None)
    end = min(filter(None, (window.end, last_at)), default=None) or utc_now()
    if start is None:
        return 3600
    seconds = max((end - start).total_seconds(), 1)
    for bucket in BUCKETS:
        if seconds / bucket <= MAX_BUCKETS:
            return bucket
    return BUCKETS[-1]


def bucket_label(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d" if seconds > 86400 else "day"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h" if seconds > 3600 else "hour"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s" if seconds > 1 else "second"


def _as_datetime(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def metric_row() -> Any:
    """A row for metrics, each `width="content"`: as wide as its value, wrapping to the next
    line when the page is narrow. Equal columns cut values instead ("54.5 …", "$0.01…")."""
    return st.container(horizontal=True, gap="large")


def price_table() -> pd.DataFrame:
    """The session's price table: saved prices (or the defaults) until the user edits them."""
    if PRICES_KEY not in st.session_state:
        try:
            prices = pricing.load_prices()
        except ValueError as error:
            st.warning(f"{error}. Using the default prices.")
            prices = list(pricing.DEFAULT_PRICES)
        set_price_table(pricing.price_frame(prices))
    return st.session_state[PRICES_KEY]


def set_price_table(frame: pd.DataFrame) -> None:
    """Replace the table; the editor gets a fresh key so it starts from the new table."""
    st.session_state[PRICES_KEY] = frame.reset_index(drop=True)
    st.session_state[PRICES_VERSION_KEY] = st.session_state.get(PRICES_VERSION_KEY, 0) + 1


def price_editor_key() -> str:
    return f"price_editor_{st.session_state.get(PRICES_VERSION_KEY, 0)}"


def apply_price_edits() -> None:
    """on_change of the price editor: fold its edits into the session's table."""
    changes = st.session_state.get(price_editor_key()) or {}
    frame = price_table().copy()
    for index, edits in (changes.get("edited_rows") or {}).items():
        for column, value in edits.items():
            frame.at[int(index), column] = value
    frame = frame.drop(index=[int(i) for i in changes.get("deleted_rows") or []], errors="ignore")
    added = [row for row in changes.get("added_rows") or [] if row]
    if added:
        frame = pd.concat([frame, pd.DataFrame(added)], ignore_index=True)
    set_price_table(frame[list(pricing.PRICE_COLUMNS)])


def current_prices() -> Prices:
    """Per-token rates for every model in the store, from the session's price table."""
    from .data import fetch

    models = fetch(model_names())["model"].tolist()
    prices = pricing.prices_from_frame(price_table())
    return Prices(
        *pricing.price_lists(models, prices), at_defaults=prices_match_defaults(models, prices)
    )


def trace_url(trace_id: Any, span_id: Any = None) -> str | None:
    """A relative link to the trace page (works behind any base URL)."""
    if not isinstance(trace_id, str):
        return None
    url = f"trace?trace_id={trace_id}"
    return url + f"&span_id={span_id}" if isinstance(span_id, str) else url


def traces_url(**filters: str | None) -> str:
    """A relative link to the Traces page with filters (q, status, workflow, agent, group)."""
    chosen = {key: value for key, value in filters.items() if value}
    if "search" in chosen:
        chosen["q"] = chosen.pop("search")
    return "./?" + urlencode(chosen)


def open_trace(trace_id: str, span_id: str | None = None) -> None:
    params = {"trace_id": trace_id}
    if span_id:
        params["span_id"] = span_id
    st.switch_page(TRACE_PAGE, query_params=params)


def open_session(group_id: str) -> None:
    st.switch_page(SESSIONS_PAGE, query_params={"group_id": group_id})


def trace_link_column(label: str = "trace") -> Any:
    return st.column_config.LinkColumn(
        label, display_text=r"trace_id=([^&]+)", help="open the trace", width=ID_COLUMN_PX
    )


def row_targets(frame: pd.DataFrame) -> list[tuple[str, str | None]]:
    """(trace_id, span_id or None) per row of a table of traces or spans: where the row's link
    points (`target_urls`) and what selecting the row opens (`follow_selection`)."""
    if "span_id" not in frame.columns:
        return [(trace_id, None) for trace_id in frame["trace_id"]]
    return [
        (trace_id, span_id if isinstance(span_id, str) else None)  # a missing one reads as NaN
        for trace_id, span_id in zip(frame["trace_id"], frame["span_id"], strict=True)
    ]


def target_urls(targets: list[tuple[str, str | None]]) -> list[str | None]:
    """The trace page link of each target (`row_targets`)."""
    return [trace_url(trace_id, span_id) for trace_id, span_id in targets]


def follow_selection(table_key: str, targets: list[tuple[str, str | None]]) -> Callable[[], None]:
    """An on_select callback for a table whose rows are traces (or spans): selecting a row opens
    it. `targets[i]` is (trace_id, span_id or None) for row i, as shown in that run."""

    def callback() -> None:
        state = st.session_state.get(table_key)
        rows = state.selection.rows if state is not None else []
        if rows and rows[0] < len(targets):
            st.session_state[GOTO_KEY] = targets[rows[0]]

    return callback


def follow_pending_selection() -> None:
    """Open the trace a table row selection asked for (switching pages is not allowed inside a
    widget callback, so the callback leaves a note and the next run follows it)."""
    target = st.session_state.pop(GOTO_KEY, None)
    if target:
        open_trace(*target)
