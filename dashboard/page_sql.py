"""SQL: a read-only console over the store's tables and views, with examples to start from.

The store (or the server) refuses anything but reads, so this page needs no checks of its own.
Queries that return rows are capped for display; the CSV download has the same rows.
"""

from __future__ import annotations

import time

import streamlit as st

from agentoscope.dashboard.data import fetch, reader
from agentoscope.dashboard.format import tidy_floats
from agentoscope.dashboard.queries import schema_columns
from agentoscope.dashboard.sql_console import DIALECT_NOTES, ROW_LIMIT, capped
from agentoscope.dashboard.sql_console import examples as sql_examples


def pick_example(examples: dict[str, str]) -> None:
    st.session_state["sql_text"] = examples[st.session_state["sql_example"]]


def show_schema() -> None:
    columns = fetch(schema_columns())
    for (table, kind), group in columns.groupby(["table_name", "table_type"], sort=False):
        label = "view" if "VIEW" in str(kind).upper() else "table"
        with st.expander(f"`{table}` · {label}"):
            st.dataframe(group[["column_name", "data_type"]], hide_index=True, width="stretch")


# The store's own SQL (a ClickHouse store, or a server over one, answers in ClickHouse's).
dialect = getattr(reader(), "dialect", "duckdb")
examples = sql_examples(dialect)
st.title(":material/database: SQL")
st.caption(DIALECT_NOTES[dialect])
editor, schema = st.columns([3, 1])
with schema:
    st.markdown("**Tables and views**")
    show_schema()
with editor:
    st.selectbox(
        "Examples",
        list(examples),
        key="sql_example",
        on_change=pick_example,
        args=(examples,),
        index=None,
        placeholder="Start from an example…",
    )
    if "sql_text" not in st.session_state:  # first visit: show the first example's result
        st.session_state["sql_text"] = st.session_state["sql_ran"] = examples["Latest traces"]
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
