"""Altair charts: the trace waterfall, time series, and the latency histogram."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

# One colour per span type, the same on every chart; failures are always red.
SPAN_COLORS = {
    "agent": "#4c78a8",
    "generation": "#b279a2",
    "response": "#b279a2",
    "function": "#f58518",
    "handoff": "#72b7b2",
    "guardrail": "#54a24b",
    "custom": "#9d9da0",
    "mcp_tools": "#eeca3b",
    "transcription": "#ff9da6",
    "speech": "#ff9da6",
    "speech_group": "#ff9da6",
    "task": "#bab0ac",
    "turn": "#bab0ac",
}
ERROR_COLOR = "#e45756"
TRIPPED_COLOR = "#f2a900"
ROW_HEIGHT = 24
WATERFALL_SELECTION = "span"
STATUS_STYLES = {"error": f"color: {ERROR_COLOR}; font-weight: 600", "ok": "color: #2e7d32"}


def _status_style(value: object) -> str:
    text = str(value)
    if text == "ok":
        return STATUS_STYLES["ok"]
    if "error" in text:
        return STATUS_STYLES["error"]
    if "tripped" in text:
        return "color: #b26a00; font-weight: 600"  # a darker TRIPPED_COLOR, readable as text
    return ""


def styled_status(table: pd.DataFrame, column: str = "status") -> Any:
    """The table with its status column coloured: red errors, amber trips, green ok."""
    return table.style.map(_status_style, subset=[column])


def tripped(rows: pd.DataFrame) -> pd.Series:
    """Which spans are guardrails whose tripwire fired (the store's typed `triggered`)."""
    return rows["triggered"].fillna(False).astype(bool)


def waterfall(rows: pd.DataFrame, selected_span_id: str | None = None) -> alt.Chart:
    """Bars from each span's start to its end, in tree order; click a bar to select the span.

    `rows` comes from span_tree.tree_order. Failed spans are red and the selected span is
    outlined. Rows are keyed by position (`0007 ├ 🛠️ lookup`), so equal names never merge, and
    the axis shows the label part, left-aligned so the tree reads like the span table.
    """
    frame = rows[["span_id", "tree", "span_type", "offset_ms", "end_ms", "duration_ms"]].copy()
    frame["status"] = rows["status"].fillna("ok").astype(str)
    frame["row"] = [f"{index:04d} {label}" for index, label in enumerate(frame["tree"])]
    is_tripped = tripped(rows)
    frame["fill"] = [
        ERROR_COLOR
        if status == "error"
        else TRIPPED_COLOR
        if span_tripped
        else SPAN_COLORS.get(str(span_type), "#9d9da0")
        for status, span_type, span_tripped in zip(
            frame["status"], frame["span_type"], is_tripped, strict=True
        )
    ]
    frame["selected"] = frame["span_id"] == selected_span_id
    # Zero-length spans still get a visible sliver.
    total = max(float(frame["end_ms"].max() or 0.0), 1.0)
    frame["bar_end"] = frame["end_ms"].clip(lower=frame["offset_ms"] + total / 300)
    frame["duration"] = frame["duration_ms"].map(lambda ms: "–" if pd.isna(ms) else f"{ms:,.1f} ms")
    label_width = int(min(max(frame["tree"].str.len().max() * 7.5 + 16, 120), 420))

    pick = alt.selection_point(name=WATERFALL_SELECTION, fields=["span_id"], on="click")
    return (
        alt.Chart(frame)
        .mark_bar(cornerRadius=2)
        .encode(
            y=alt.Y(
                "row:N",
                sort=None,
                axis=alt.Axis(
                    title=None,
                    labelExpr="substring(datum.value, 5)",
                    labelAlign="left",
                    labelPadding=label_width,
                    labelLimit=label_width,
                    labelFontSize=12,
                    labelOverlap=False,
                    ticks=False,
                    domain=False,
                ),
            ),
            x=alt.X("offset_ms:Q", title="ms since trace start"),
            x2="bar_end:Q",
            color=alt.Color("fill:N", scale=None, legend=None),
            stroke=alt.condition("datum.selected", alt.value("#111111"), alt.value("transparent")),
            strokeWidth=alt.value(2),
            tooltip=[
                alt.Tooltip("tree:N", title="span"),
                alt.Tooltip("span_type:N", title="type"),
                alt.Tooltip("duration:N", title="duration"),
                alt.Tooltip("offset_ms:Q", title="starts at (ms)", format=",.1f"),
                alt.Tooltip("status:N"),
            ],
        )
        .add_params(pick)
        .properties(height=max(ROW_HEIGHT * len(frame), 80))
    )


def _utc(frame: pd.DataFrame, column: str = "bucket") -> pd.DataFrame:
    """Store times are naive UTC; marked as UTC they show as UTC in every browser's time zone."""
    times = pd.to_datetime(frame[column])
    if times.dt.tz is None:
        times = times.dt.tz_localize("UTC")
    return frame.assign(**{column: times})


UTC_TIME = alt.Scale(type="utc")
UTC_AXIS = alt.Axis(title=None, format="%b %d %H:%M", labelAngle=0)


def time_axis(bucket_seconds: int | None = None) -> alt.Axis:
    """Ticks as fine as the bars: seconds when the bars are seconds, days when they are days."""
    if bucket_seconds is None:
        return UTC_AXIS
    if bucket_seconds < 60:
        return alt.Axis(title=None, format="%H:%M:%S", labelAngle=0)
    if bucket_seconds >= 86400:
        return alt.Axis(title=None, format="%b %d", labelAngle=0)
    return UTC_AXIS


def time_series(
    frame: pd.DataFrame,
    value: str,
    title: str,
    color: str = "key",
    color_title: str = "",
    stacked: bool = True,
    bucket_seconds: int | None = None,
) -> alt.Chart:
    """A stacked bar per time bucket, coloured by `color` (model, agent, ...). Times in UTC."""
    encoding = {
        "x": alt.X("utc_bucket:T", scale=UTC_TIME, axis=time_axis(bucket_seconds)),
        "y": alt.Y(f"{value}:Q", title=title, stack="zero" if stacked else None),
        "color": alt.Color(f"{color}:N", title=color_title or None),
        "tooltip": [
            alt.Tooltip("utc_bucket:T", title="from (UTC)", format="%Y-%m-%d %H:%M:%S"),
            alt.Tooltip(f"{color}:N", title=color_title or color),
            alt.Tooltip(f"{value}:Q", title=title, format=",.4~f"),
        ],
    }
    data = _utc(frame).rename(columns={"bucket": "utc_bucket"})
    return alt.Chart(data).mark_bar().encode(**encoding).properties(height=260)


def error_rate(frame: pd.DataFrame, bucket_seconds: int | None = None) -> alt.Chart:
    """Failing traces as a share of traces per bucket (line) over the error count (bars)."""
    data = _utc(frame).assign(
        rate=frame["failing_traces"] / frame["traces"].where(frame["traces"] > 0),
    )
    base = alt.Chart(data).encode(
        x=alt.X("bucket:T", scale=UTC_TIME, axis=time_axis(bucket_seconds))
    )
    bars = base.mark_bar(color=ERROR_COLOR, opacity=0.35).encode(
        y=alt.Y("errors:Q", title="failed spans"),
        tooltip=[
            alt.Tooltip("bucket:T", title="from (UTC)", format="%Y-%m-%d %H:%M:%S"),
            alt.Tooltip("errors:Q", title="failed spans"),
            alt.Tooltip("failing_traces:Q", title="failing traces"),
            alt.Tooltip("traces:Q", title="traces"),
            alt.Tooltip("rate:Q", title="trace error rate", format=".1%"),
        ],
    )
    line = base.mark_line(
        color=ERROR_COLOR, point=alt.OverlayMarkDef(color=ERROR_COLOR, size=30)
    ).encode(y=alt.Y("rate:Q", title="traces with an error", axis=alt.Axis(format="%")))
    return alt.layer(bars, line).resolve_scale(y="independent").properties(height=260)


def histogram(frame: pd.DataFrame) -> alt.Chart:
    """Span counts per log-scale duration bin (bins from queries.latency_histogram)."""
    return (
        alt.Chart(frame)
        .mark_bar(color=SPAN_COLORS["agent"])
        .encode(
            x=alt.X("from_ms:Q", title="duration (ms, log scale)", scale=alt.Scale(type="log")),
            x2="to_ms:Q",
            y=alt.Y("spans:Q", title="spans"),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("from_ms:Q", title="from ms", format=",.2f"),
                alt.Tooltip("to_ms:Q", title="to ms", format=",.2f"),
                alt.Tooltip("spans:Q"),
            ],
        )
        .properties(height=240)
    )


def percentile_chart(frame: pd.DataFrame, key_title: str) -> alt.LayerChart | alt.FacetChart:
    """Per key, a line from p50 to p99 with a dot at each percentile, on a log scale so fast
    and slow keys both read."""
    data = frame[["key", "p50_ms", "p95_ms", "p99_ms"]].copy()
    data["key"] = data["key"].astype(str)
    low = data["p50_ms"][data["p50_ms"] > 0].min()
    floor = float(low) / 2 if pd.notna(low) else 0.001
    for column in ("p50_ms", "p95_ms", "p99_ms"):  # a log scale cannot show zero
        data[column] = data[column].clip(lower=floor)
    y = alt.Y("key:N", title=key_title, sort=None, axis=alt.Axis(labelOverlap=False))
    x_scale = alt.Scale(type="log")
    spread = (
        alt.Chart(data)
        .mark_rule(color="#9d9da0", strokeWidth=2)
        .encode(y=y, x=alt.X("p50_ms:Q", scale=x_scale, title="ms (log scale)"), x2="p99_ms:Q")
    )
    long = data.melt(id_vars=["key"], var_name="percentile", value_name="ms")
    long["percentile"] = long["percentile"].str.replace("_ms", "")
    dots = (
        alt.Chart(long)
        .mark_circle(size=90, opacity=1)
        .encode(
            y=y,
            x=alt.X("ms:Q", scale=x_scale),
            color=alt.Color(
                "percentile:N",
                scale=alt.Scale(
                    domain=["p50", "p95", "p99"], range=["#9ecae9", "#4c78a8", "#1f3b63"]
                ),
            ),
            tooltip=["key:N", "percentile:N", alt.Tooltip("ms:Q", format=",.1f")],
        )
    )
    return alt.layer(spread, dots).properties(height=max(40 * len(data), 160))
