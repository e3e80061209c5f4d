"""Usage & cost: tokens and dollars over time per model or agent, the most expensive traces, and
the price table behind every cost on the dashboard."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agentoscope.dashboard import charts, controls, pricing
from agentoscope.dashboard.controls import metric_row
from agentoscope.dashboard.data import fetch
from agentoscope.dashboard.format import count, money, text, texts
from agentoscope.dashboard.queries import named, top_traces_by_cost, usage_over_time

GROUPINGS = {"model": "Model", "agent_name": "Agent"}


def totals_table(usage: pd.DataFrame, title: str) -> pd.DataFrame:
    usage = usage.assign(key=usage["key"].map(text))
    totals = (
        usage.groupby("key", dropna=False)[
            [
                "calls",
                "input_tokens",
                "cached_input_tokens",
                "output_tokens",
                "reasoning_tokens",
                "tokens",
                "cost",
                "unpriced_tokens",
            ]
        ]
        .sum(min_count=1)
        .sort_values("tokens", ascending=False)
        .reset_index()
    )
    all_tokens = totals["tokens"].sum() or 1
    return pd.DataFrame(
        {
            title: totals["key"],
            "calls": totals["calls"],
            "input": totals["input_tokens"],
            "cached input": totals["cached_input_tokens"],
            "output": totals["output_tokens"],
            "reasoning": totals["reasoning_tokens"].fillna(0),
            "total tokens": totals["tokens"],
            "share": totals["tokens"] / all_tokens,
            "cost ($)": totals["cost"],
            "unpriced tokens": totals["unpriced_tokens"].fillna(0),
        }
    )


def show_price_editor() -> None:
    st.caption(
        "US dollars per **1 million** tokens. A model matches the longest name prefix "
        "(`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`). Cached input tokens are billed at the "
        "cached price; an empty cached price means the full input price."
    )
    st.data_editor(
        controls.price_table(),
        key=controls.price_editor_key(),
        on_change=controls.apply_price_edits,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "model": st.column_config.TextColumn("model (prefix)", required=True),
            "input": st.column_config.NumberColumn("input $/1M", min_value=0, format="%.3f"),
            "cached_input": st.column_config.NumberColumn(
                "cached input $/1M", min_value=0, format="%.3f"
            ),
            "output": st.column_config.NumberColumn("output $/1M", min_value=0, format="%.3f"),
        },
    )
    save, reset, _ = st.columns([1, 1, 3])
    if save.button("Save as my defaults", icon=":material/save:", width="stretch"):
        path = pricing.save_prices(pricing.prices_from_frame(controls.price_table()))
        st.toast(f"Saved to {path}")
    if reset.button("Reset to built-in prices", icon=":material/restart_alt:", width="stretch"):
        controls.set_price_table(pricing.default_price_frame())
        st.rerun()


st.title(":material/payments: Usage & cost")
window = controls.current_window()
summary = fetch(named("overview")).iloc[0]
bucket = controls.bucket_seconds(window, summary["first_span_at"], summary["last_span_at"])
by = st.segmented_control(
    "Split by", list(GROUPINGS), format_func=GROUPINGS.__getitem__, default="model", key="usage_by"
)
by = by or "model"
prices = controls.current_prices()
usage = fetch(usage_over_time(window, bucket, by, prices))
st.caption(f"{controls.window_choice()} · one bar per {controls.bucket_label(bucket)} · UTC")
unpriced = 0

if usage.empty:
    st.info("No model calls in this window. Widen the time window in the sidebar.")
else:
    row = metric_row()
    row.metric("Model calls", count(usage["calls"].sum()), width="content")
    row.metric(
        "Input tokens",
        count(usage["input_tokens"].sum()),
        help=f"{count(usage['cached_input_tokens'].sum())} of them cached",
        width="content",
    )
    row.metric("Output tokens", count(usage["output_tokens"].sum()), width="content")
    row.metric("Total tokens", count(usage["tokens"].sum()), width="content")
    row.metric("Cost", money(usage["cost"].sum()), width="content")
    unpriced = usage["unpriced_tokens"].sum()
    if unpriced > 0:
        missing = sorted(usage.loc[usage["unpriced_tokens"] > 0, "key"].astype(str).unique())
        st.warning(
            f"{count(unpriced)} tokens have no price and are not in the cost"
            + (f" ({', '.join(missing)})" if by == "model" else "")
            + ". Add their models to the price table below."
        )
    title = GROUPINGS[by].lower()
    left, right = st.columns(2)
    left.markdown("**Tokens**")
    left.altair_chart(
        charts.time_series(usage, "tokens", "tokens", color_title=title, bucket_seconds=bucket),
        width="stretch",
    )
    right.markdown("**Cost (USD)**")
    right.altair_chart(
        charts.time_series(
            usage.fillna({"cost": 0}), "cost", "USD", color_title=title, bucket_seconds=bucket
        ),
        width="stretch",
    )
    st.markdown(f"**Per {title}**")
    st.dataframe(
        totals_table(usage, title),
        hide_index=True,
        width="stretch",
        column_config={
            "share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
            "cost ($)": st.column_config.NumberColumn(format="$%.4f"),
        },
    )

    st.markdown("**Most expensive traces**")
    st.caption(
        "Traces that started in the window, their model calls priced"
        + (
            " at the default prices (hourly top traces, kept by the store)"
            if prices.at_defaults
            else " at the edited prices (every trace of the window, from its spans)"
        )
    )
    top = fetch(top_traces_by_cost(window, prices))
    st.dataframe(
        pd.DataFrame(
            {
                "trace": top["trace_id"].map(controls.trace_url),
                "workflow": texts(top["workflow_name"]),
                "cost ($)": top["cost"],
                "tokens": top["tokens"],
                "model calls": top["calls"],
                "started (UTC)": pd.to_datetime(top["started_at"]),
                "group": texts(top["group_id"]),
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "trace": controls.trace_link_column(),
            "cost ($)": st.column_config.NumberColumn(format="$%.4f"),
            "started (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        },
    )

with st.expander("Price table", icon=":material/sell:", expanded=bool(unpriced > 0)):
    show_price_editor()
