"""The dashboard's pure parts: prices and costs, message rendering, span trees, query building and
the `agentoscope dashboard` command line."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from agentoscope.cli.dashboard_command import dashboard_env, streamlit_command
from agentoscope.cli.main import build_parser
from agentoscope.dashboard import APP_PATH, pricing
from agentoscope.dashboard.controls import (
    bucket_label,
    bucket_seconds,
    row_targets,
    target_urls,
)
from agentoscope.dashboard.messages import conversation, last_assistant_text, last_user_text
from agentoscope.dashboard.queries import (
    TraceFilters,
    Window,
    checked_column,
    latency_histogram,
    timestamp_param,
    trace_page,
)
from agentoscope.dashboard.span_tree import tree_order


def test_model_names_match_the_longest_price_prefix() -> None:
    prices = pricing.DEFAULT_PRICES
    assert pricing.match_price("gpt-4o-mini-2024-07-18", prices).model == "gpt-4o-mini"
    assert pricing.match_price("gpt-4o-2024-08-06", prices).model == "gpt-4o"
    assert pricing.match_price("GPT-4.1-nano", prices).model == "gpt-4.1-nano"
    assert pricing.match_price("llama-3-70b", prices) is None
    assert pricing.match_price(None, prices) is None


def test_cached_input_tokens_cost_the_cached_price() -> None:
    price = pricing.ModelPrice("m", input=2.0, cached_input=0.5, output=8.0)
    # 1000 input of which 400 cached, 100 output: 600*2 + 400*0.5 + 100*8 per 1M
    assert pricing.token_cost(price, 1000, 100, 400) == pytest.approx(0.0022)
    no_cache_price = pricing.ModelPrice("m", input=2.0, cached_input=None, output=8.0)
    assert pricing.token_cost(no_cache_price, 1000, 100, 400) == pytest.approx(0.0028)
    assert pricing.token_cost(None, 1000, 100) is None  # unknown, not free


def test_price_lists_feed_sql_per_token_rates() -> None:
    names, inputs, cached, outputs = pricing.price_lists(
        ["gpt-4o", "mystery", None], pricing.DEFAULT_PRICES
    )
    assert names == ["gpt-4o"]
    assert inputs == [pytest.approx(2.5e-6)] and cached == [pytest.approx(1.25e-6)]
    assert outputs == [pytest.approx(10e-6)]


def test_edited_price_table_saves_and_loads(tmp_path: Path) -> None:
    frame = pricing.default_price_frame()
    frame.loc[len(frame)] = ["my-model", 1.0, None, 3.0]
    frame.loc[len(frame)] = ["", 9.0, 9.0, 9.0]  # an empty row the editor left behind
    path = pricing.save_prices(pricing.prices_from_frame(frame), tmp_path / "prices.json")
    loaded = pricing.load_prices(path)
    assert loaded[-1] == pricing.ModelPrice("my-model", 1.0, None, 3.0)
    assert len(loaded) == len(pricing.DEFAULT_PRICES) + 1
    assert pricing.load_prices(tmp_path / "absent.json") == list(pricing.DEFAULT_PRICES)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read the price table"):
        pricing.load_prices(broken)


def test_chat_and_responses_messages_read_as_a_conversation() -> None:
    chat = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
        },
        {"role": "tool", "content": '{"temp": 21}'},
        {"role": "assistant", "content": "21 °C"},
    ]
    turns = conversation(chat)
    assert [(turn.role, turn.kind) for turn in turns] == [
        ("system", "text"),
        ("user", "text"),
        ("assistant", "tool_call"),
        ("tool", "tool_result"),
        ("assistant", "text"),
    ]
    assert turns[2].text.startswith("get_weather(") and '"city": "Paris"' in turns[2].text
    assert last_user_text(chat) == "weather in Paris?"
    assert last_assistant_text(chat) == "21 °C"

    responses = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "name": "lookup", "arguments": "{}", "call_id": "c1"},
        {"type": "function_call_output", "call_id": "c1", "output": "found"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"type": "web_search_call", "status": "completed"},
    ]
    kinds = [(turn.role, turn.kind) for turn in conversation(responses)]
    assert kinds == [
        ("user", "text"),
        ("assistant", "tool_call"),
        ("tool", "tool_result"),
        ("reasoning", "text"),
        ("web_search_call", "json"),
    ]
    assert conversation("just text")[0].text == "just text"
    assert conversation(None) == []


def _span(span_id: str, parent: str | None, start_ms: int, length_ms: float = 10.0) -> dict:
    origin = datetime(2025, 1, 1)
    return {
        "span_id": span_id,
        "parent_id": parent,
        "span_type": "custom",
        "name": span_id,
        "started_at": origin + timedelta(milliseconds=start_ms),
        "duration_ms": length_ms,
        "status": "ok",
    }


def test_span_tree_orders_depth_first_and_keeps_orphans() -> None:
    spans = pd.DataFrame(
        [
            _span("child_late", "root", 30),
            _span("root", None, 0, 100),
            _span("grandchild", "child_early", 12),
            _span("child_early", "root", 10),
            _span("orphan", "span_never_written", 50),
        ]
    )
    rows = tree_order(spans)
    assert rows["span_id"].tolist() == [
        "root",
        "child_early",
        "grandchild",
        "child_late",
        "orphan",
    ]
    assert rows["depth"].tolist() == [0, 1, 2, 1, 0]
    assert rows["tree"].tolist() == [
        "root",
        "├ child_early",
        "│  └ grandchild",
        "└ child_late",
        "orphan",
    ]
    assert rows["offset_ms"].tolist() == [0, 10, 12, 30, 50]
    assert rows["end_ms"].tolist() == [100, 20, 22, 40, 60]


def test_user_choices_never_become_sql_text() -> None:
    with pytest.raises(ValueError, match="cannot group by"):
        checked_column("name; DROP TABLE spans")
    with pytest.raises(ValueError, match="unknown trace status"):
        trace_page(TraceFilters(status="evil'--"))
    sneaky = "x' OR 1=1 --"
    sql = trace_page(TraceFilters(search=sneaky, workflow=sneaky, agent=sneaky))
    assert sneaky not in sql.text and sneaky in sql.params
    histogram = latency_histogram(Window(), "tool_name", sneaky)
    assert sneaky not in histogram.text and sneaky in histogram.params


def test_times_reach_sql_as_naive_utc() -> None:
    zoned = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp_param(zoned) == "2025-03-01 12:00:00.000000"
    conditions, params = Window(start=datetime(2025, 1, 1), end=None).where()
    assert conditions == ["started_at >= CAST(? AS TIMESTAMP)"]
    assert params == ["2025-01-01 00:00:00.000000"]


def test_table_rows_link_to_their_trace_and_span() -> None:
    spans = pd.DataFrame({"trace_id": ["trace_a", "trace_b"], "span_id": ["span_1", None]})
    targets = row_targets(spans)
    assert targets == [("trace_a", "span_1"), ("trace_b", None)]
    assert target_urls(targets) == [
        "trace?trace_id=trace_a&span_id=span_1",
        "trace?trace_id=trace_b",
    ]
    traces = pd.DataFrame({"trace_id": ["trace_c"], "workflow_name": ["w"]})
    assert target_urls(row_targets(traces)) == ["trace?trace_id=trace_c"]


def test_buckets_keep_charts_readable() -> None:
    now = datetime(2025, 1, 2)
    assert bucket_seconds(Window(start=now - timedelta(hours=1), end=now)) == 30
    assert bucket_seconds(Window(start=now - timedelta(days=1), end=now)) == 900
    assert bucket_seconds(Window(), now - timedelta(days=30), now) == 6 * 3600


def test_buckets_follow_the_data_inside_the_window() -> None:
    """A demo run of a few minutes in "Last 7 days" gets bars of seconds, not one spike."""
    now = datetime(2025, 1, 2)
    week = Window(start=now - timedelta(days=7), end=now)
    assert bucket_seconds(week, now - timedelta(minutes=5), now - timedelta(seconds=1)) == 5
    assert bucket_seconds(week, now - timedelta(seconds=20), now - timedelta(seconds=2)) == 1
    # Data older than the window counts from the window's start.
    assert bucket_seconds(week, now - timedelta(days=90), now) == 3 * 3600  # 56 bars
    assert bucket_label(1) == "second" and bucket_label(5) == "5 s" and bucket_label(300) == "5 min"


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["dashboard", *argv])


def test_dashboard_command_runs_streamlit_on_loopback(tmp_path: Path) -> None:
    args = _args("--store", str(tmp_path / "t.duckdb"), "--port", "8765")
    command = streamlit_command(args)
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(APP_PATH)
    assert "--server.address=127.0.0.1" in command and "--server.port=8765" in command
    assert "--server.headless=true" in command
    env = dashboard_env(args, {"AGENTOSCOPE_SERVER": "http://elsewhere"})
    assert env["AGENTOSCOPE_STORE"] == str((tmp_path / "t.duckdb").resolve())
    assert "AGENTOSCOPE_SERVER" not in env  # an explicit --store wins
    # A duckdb:// URL is that file, not a path under the working directory named "duckdb:".
    env = dashboard_env(_args("--store", f"duckdb://{tmp_path}/u.duckdb"), {})
    assert env["AGENTOSCOPE_STORE"] == str((tmp_path / "u.duckdb").resolve())
    env = dashboard_env(_args("--server", "http://127.0.0.1:4318", "--token", "t"), {})
    assert env == {"AGENTOSCOPE_SERVER": "http://127.0.0.1:4318", "AGENTOSCOPE_TOKEN": "t"}
    with pytest.raises(SystemExit):
        _args("--store", "a", "--server", "b")
    assert APP_PATH.exists()


def test_the_sidebar_names_a_clickhouse_store_without_its_password() -> None:
    from agentoscope.dashboard.data import Source

    source = Source("clickhouse", "clickhouse://reader:s3cret@ch.internal:8123/agents")
    assert source.where() == "clickhouse://reader@ch.internal:8123/agents"
    assert "s3cret" not in source.describe()
