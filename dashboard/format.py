"""Numbers, times and JSON made readable: the small formatting rules every page shares."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import pandas as pd

from agentoscope.tracing.clock import utc_now
from agentoscope.tracing.tree import format_duration

# Streamlit's bundled Material Symbols: they render in any browser, fonts or not.
SPAN_ICONS = {
    "agent": ":material/smart_toy:",
    "generation": ":material/chat:",
    "response": ":material/chat:",
    "function": ":material/build:",
    "handoff": ":material/swap_horiz:",
    "guardrail": ":material/shield:",
    "custom": ":material/extension:",
    "mcp_tools": ":material/home_repair_service:",
    "transcription": ":material/mic:",
    "speech": ":material/volume_up:",
    "speech_group": ":material/volume_up:",
    "task": ":material/assignment:",
    "turn": ":material/replay:",
}


# What every table shows for a value that is not there (no group, no agent, no error yet): the
# same mark on every page, never "None", "nan" or a blank a reader takes for a rendering fault.
EMPTY = "–"
# Columns of ids in tables: wide enough for `trace_` and 32 hex digits, so an id is never cut.
ID_COLUMN_PX = 290


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def text(value: Any) -> str:
    """A name, id or message for a table cell; EMPTY when there is none."""
    return EMPTY if is_missing(value) or value == "" else str(value)


def texts(values: pd.Series) -> pd.Series:
    return values.map(text)


def tidy_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats as a person reads them: 3 decimals from 1 up, 4 significant digits below 1 (a
    cost of $0.0000142 keeps its digits). Other columns are left as they are."""
    floats = [column for column in frame.columns if frame[column].dtype.kind == "f"]
    if not floats:
        return frame
    return frame.assign(**{column: frame[column].map(_tidy) for column in floats})


def _tidy(value: Any) -> Any:
    if is_missing(value) or not math.isfinite(value):
        return value
    if value == 0 or abs(value) >= 1:
        return round(float(value), 3)
    digits = 3 - math.floor(math.log10(abs(value)))
    return round(float(value), digits)


def width_for(values: pd.Series, header: str = "", most: int = 480) -> int:
    """Pixels a text column needs for its longest value (at ~7.5 px a character), so names are
    not cut; at most `most`, past which the cell shows the start and the tooltip the rest."""
    longest = max([len(header), *(len(str(value)) for value in values)], default=8)
    return int(min(longest * 7.5 + 24, most))


def duration(ms: Any) -> str:
    return "–" if is_missing(ms) else format_duration(float(ms))


def count(value: Any) -> str:
    if is_missing(value):
        return "–"
    value = float(value)
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.1f}k"
    return f"{int(value):,}"


def money(dollars: Any) -> str:
    if is_missing(dollars):
        return "–"
    dollars = float(dollars)
    if dollars == 0:
        return "$0"
    if abs(dollars) < 1:
        return f"${dollars:.4f}"
    return f"${dollars:,.2f}"


def timestamp(value: Any) -> str:
    if is_missing(value):
        return "–"
    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def ago(value: Any, now: datetime | None = None) -> str:
    if is_missing(value):
        return "never"
    seconds = ((now or utc_now()) - pd.Timestamp(value).to_pydatetime()).total_seconds()
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def parse_json(value: Any) -> Any:
    """A JSON column value as Python; text that is not JSON stays text; missing is None."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def pretty(value: Any) -> str:
    """Tool arguments and results: indented JSON when they are JSON, else the text itself."""
    parsed = parse_json(value)
    if isinstance(parsed, dict | list):
        return json.dumps(parsed, indent=2, ensure_ascii=False)
    return "" if parsed is None else str(parsed)


def span_icon(span_type: str | None) -> str:
    return SPAN_ICONS.get(span_type or "", ":material/radio_button_unchecked:")
