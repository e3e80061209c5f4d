"""Every dashboard page, run by Streamlit's AppTest against a real store written by the test: what
the page shows must be the known trace's spans, token totals, costs, percentiles and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from support.dashboard_data import (
    ERROR_MESSAGE,
    ERROR_TYPE,
    FAILING_TOOL,
    FINAL_ANSWER,
    KNOWN_GROUP,
    KNOWN_SPAN_COUNT,
    KNOWN_TRACE_ID,
    KNOWN_WORKFLOW,
    TRACE_COUNT,
    TRIPPED_GUARDRAIL,
    USER_QUESTION,
    build_dashboard_store,
    open_app,
    page_text,
    release_dashboard_readers,
)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "traces.duckdb"
    build_dashboard_store(path)
    return path


@pytest.fixture(autouse=True)
def reading_store(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(store_path))
    monkeypatch.delenv("AGENTOSCOPE_SERVER", raising=False)
    monkeypatch.setenv("AGENTOSCOPE_PRICES", str(store_path.parent / "no-saved-prices.json"))
    yield
    release_dashboard_readers()


def no_exceptions(app) -> None:
    assert not app.exception, [error.message for error in app.exception]


def table(app, index: int = 0) -> pd.DataFrame:
    return app.dataframe[index].value


def test_traces_page_lists_the_known_trace_with_its_totals() -> None:
    app = open_app()
    no_exceptions(app)
    traces = table(app)
    assert len(traces) == TRACE_COUNT
    known = traces[traces["open"].str.contains(KNOWN_TRACE_ID)].iloc[0]
    assert known["workflow"] == KNOWN_WORKFLOW
    assert known["spans"] == KNOWN_SPAN_COUNT
    assert known["tokens"] == "6,050"
    assert known["cost"] == "$0.0142"
    assert known["status"] == "1 error"
    assert known["group"] == KNOWN_GROUP
    assert known["last error"] == ERROR_MESSAGE
    # newest first: the known trace came first; the running batch is the newest
    assert traces["open"].iloc[-1].endswith(KNOWN_TRACE_ID)
    running = traces.iloc[0]
    assert running["workflow"] == "–" and running["status"] == "running"
    assert running["spans"] == 2


def test_traces_page_filters_from_the_url() -> None:
    app = open_app("page_traces.py", q=ERROR_TYPE, status="error")
    no_exceptions(app)
    traces = table(app)
    assert traces["open"].tolist() == [f"trace?trace_id={KNOWN_TRACE_ID}"]
    assert app.text_input(key="traces_search").value == ERROR_TYPE


def test_traces_page_filters_by_agent_and_guardrail() -> None:
    app = open_app()
    app.selectbox(key="traces_agent").set_value("Researcher").run()
    assert set(table(app)["workflow"]) == {"Research"}
    app.selectbox(key="traces_agent").set_value("(any)").run()
    app.button_group(key="traces_status").set_value("guardrail").run()
    assert table(app)["open"].str.contains(KNOWN_TRACE_ID).tolist() == [True]


def test_trace_page_shows_tree_waterfall_and_the_failing_span() -> None:
    app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID)
    no_exceptions(app)
    text = page_text(app)
    assert KNOWN_WORKFLOW in text
    assert "Spans: 10" in text and "Tokens: 6,050" in text and "Errors: 1" in text
    assert "Duration: 4.90 s" in text
    spans = table(app)
    assert spans["span"].str.strip("├└ ").tolist() == [
        "Triage",
        "pii_filter",
        "gpt-4o-mini",
        "Triage -> Billing",
        "Billing",
        "gpt-4o",
        "lookup_order",
        FAILING_TOOL,
        "gpt-4o",
        TRIPPED_GUARDRAIL,
    ]
    assert len(app.get("vega_lite_chart")) == 1  # the waterfall
    # With no span chosen, the first failure is open: the tool, its arguments and its error.
    assert f"{ERROR_TYPE}**: {ERROR_MESSAGE}" in text
    assert '"amount": 19.99' in text


def test_trace_page_details_of_chosen_spans() -> None:
    app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID)
    spans = app.session_state["_trace_span_ids"]
    app.query_params["span_id"] = spans[-1]  # the output guardrail
    app.run()
    assert f"Guardrail **{TRIPPED_GUARDRAIL}** (output) **tripped**" in page_text(app)
    app.query_params["span_id"] = spans[3]  # the handoff
    app.run()
    assert "Triage → Billing" in page_text(app)
    app.query_params["span_id"] = spans[8]  # the last generation: usage, cost and the answer
    app.run()
    text = page_text(app)
    assert "**Model** `gpt-4o`" in text and "Input tokens: 2,500" in text
    assert "Cost: $0.0075" in text
    assert FINAL_ANSWER in text and USER_QUESTION in text


def test_trace_page_finds_abbreviated_ids_and_says_when_missing() -> None:
    app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID[:12])
    assert KNOWN_WORKFLOW in page_text(app)
    app = open_app("page_trace.py", trace_id="trace_nothing_here")
    no_exceptions(app)
    assert "No trace `trace_nothing_here` in this store." in page_text(app)


def test_usage_page_totals_and_costs() -> None:
    app = open_app("page_usage.py")
    no_exceptions(app)
    text = page_text(app)
    # known trace 6,050 tokens + two follow-ups of 340
    assert "Total tokens: 6,730" in text
    assert "Model calls: 5" in text
    assert "Cost: $0.0143" in text
    per_model = table(app).set_index("model")
    assert per_model.loc["gpt-4o", "total tokens"] == 4500 + 270
    assert per_model.loc["gpt-4o-mini", "cached input"] == 200
    top = table(app, 1)
    assert top["trace"].iloc[0].endswith(KNOWN_TRACE_ID)


def test_usage_page_price_edits_change_costs() -> None:
    app = open_app("page_usage.py")
    prices = app.session_state["prices"].copy()
    prices.loc[prices["model"] == "gpt-4o", "output"] = 1000.0  # $1000 per 1M output tokens
    app.session_state["prices"] = prices
    app.run()
    # 270 gpt-4o output tokens now cost $0.27 instead of $0.0027
    assert "Cost: $0.2816" in page_text(app)


def test_latency_page_percentiles_per_tool() -> None:
    app = open_app("page_latency.py")
    no_exceptions(app)
    # By default the bucketed estimate, and the page says so; exact on request.
    assert "percentiles estimated within 2.2% (duration buckets)" in page_text(app)
    per_type = table(app).set_index("span type")
    assert per_type.loc["guardrail", "p50"] == "20.0 ms"
    app.toggle(key="latency_exact").set_value(True).run()
    assert "percentiles estimated" not in page_text(app)
    assert "exact percentiles" in page_text(app)
    assert table(app).set_index("span type").loc["guardrail", "p50"] == "20.0 ms"
    app.toggle(key="latency_exact").set_value(False).run()
    app.button_group(key="latency_by").set_value("tool_name").run()
    per_tool = table(app).set_index("tool")
    assert per_tool.loc["web_search", ["p50", "p95", "p99"]].tolist() == [
        "550 ms",
        "955 ms",
        "991 ms",
    ]
    app.selectbox(key="latency_of").set_value("web_search").run()
    slowest = table(app, 1)
    assert slowest["duration"].tolist()[:3] == ["1.00 s", "900 ms", "800 ms"]


def test_errors_page_shows_the_failure_and_the_trip() -> None:
    app = open_app("page_errors.py")
    no_exceptions(app)
    text = page_text(app)
    assert "Failed spans: 1" in text and "Traces with an error: 1" in text
    types = table(app, 0)
    assert types["error type"].tolist() == [ERROR_TYPE]
    tools = table(app, 1)
    assert tools["tool"].tolist() == [FAILING_TOOL]
    assert tools["latest trace"].iloc[0].endswith(KNOWN_TRACE_ID)
    guardrails = table(app, 2).set_index("guardrail")
    assert guardrails.loc[TRIPPED_GUARDRAIL, "tripped"] == 1
    assert guardrails.loc["pii_filter", "tripped"] == 0
    recent = table(app, 3)
    assert recent["message"].tolist() == [ERROR_MESSAGE]


def test_sessions_page_lists_and_reads_a_conversation() -> None:
    app = open_app("page_sessions.py")
    no_exceptions(app)
    sessions = table(app)
    assert sessions["group id"].tolist() == [KNOWN_GROUP]
    assert sessions["runs"].tolist() == [3]
    app = open_app("page_sessions.py", group_id=KNOWN_GROUP)
    no_exceptions(app)
    text = page_text(app)
    assert "Runs: 3" in text
    assert text.index(USER_QUESTION) < text.index(FINAL_ANSWER)
    assert text.index(FINAL_ANSWER) < text.index("Is my refund done yet?")
    assert ERROR_MESSAGE in text


def test_sql_page_runs_reads_and_refuses_writes() -> None:
    app = open_app("page_sql.py")
    no_exceptions(app)
    app.text_area(key="sql_text").set_value(
        "SELECT guardrail_name, triggered FROM guardrails ORDER BY guardrail_name"
    )
    app.button[0].click().run()
    result = next(
        table(app, index)
        for index in range(len(app.dataframe))
        if "guardrail_name" in table(app, index).columns
    )
    assert result.to_dict("list") == {
        "guardrail_name": [TRIPPED_GUARDRAIL, "pii_filter"],
        "triggered": [True, False],
    }
    assert app.get("download_button")
    app.text_area(key="sql_text").set_value("DELETE FROM spans")
    app.button[0].click().run()
    assert any("read-only" in error.value for error in app.error)


def test_a_running_trace_opens_with_what_has_arrived() -> None:
    running_url = table(open_app())["open"].iloc[0]
    trace_id = running_url.split("trace_id=")[1]
    app = open_app("page_trace.py", trace_id=trace_id)
    no_exceptions(app)
    text = page_text(app)
    assert "running, or its process died before the trace ended" in text
    assert "Spans: 2" in text
    assert [name.strip("├└ ") for name in table(app)["span"]] == ["Batcher", "load_rows"]


def column_widths(app, index: int = 0) -> dict[str, int]:
    """The pixel width each column of a table was given (Streamlit's column config)."""
    config = json.loads(app.dataframe[index].proto.columns)
    return {name: spec["width"] for name, spec in config.items() if "width" in spec}


def test_names_and_ids_get_columns_wide_enough_to_read_whole() -> None:
    app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID)
    no_exceptions(app)
    spans = table(app)
    longest = max(len(name) for name in spans["span"])  # "│  └ handoff Triage -> Billing" …
    assert column_widths(app)["span"] >= longest * 7
    traces = open_app()
    widths = column_widths(traces)
    assert widths["open"] >= len(KNOWN_TRACE_ID) * 7  # the whole id, not `trace_de`
    assert widths["workflow"] >= len(KNOWN_WORKFLOW) * 7
    # The link shows the whole trace id, not its first characters.
    display = json.loads(traces.dataframe[0].proto.columns)["open"]["type_config"]
    assert display["display_text"] == "trace_id=([^&]+)"


def test_an_empty_value_is_the_same_dash_on_every_page() -> None:
    traces = table(open_app())
    research = traces[traces["workflow"] == "Research"]
    assert set(research["group"]) == {"–"} and set(research["last error"]) == {"–"}
    running = traces.iloc[0]
    assert running["workflow"] == "–"
    latency = open_app("page_latency.py")
    latency.button_group(key="latency_by").set_value("model").run()
    slowest = table(latency, 1)
    shown = [table(open_app("page_usage.py"), 1), slowest, traces]
    for frame in shown:
        for column in frame.columns:
            values = [str(value) for value in frame[column]]
            assert not {"None", "nan", "NaT", "<NA>", ""} & set(values), (column, values)


def test_usage_and_errors_bars_follow_the_data_not_the_window() -> None:
    # The store's spans cover ~46 minutes; "Last 30 days" must not make them one daily bar.
    for page in ("page_usage.py", "page_errors.py"):
        app = open_app(page)
        app.selectbox(key="window").set_value("Last 30 days").run()
        no_exceptions(app)
        assert "one bar per 30 s" in page_text(app), page


def test_latency_table_shows_every_span_type() -> None:
    """Every row in the table, and the table as tall as its rows (no scrolling inside it: the
    browser test measures that)."""
    per_type = table(open_app("page_latency.py"))
    assert set(per_type["span type"]) == {"agent", "generation", "function", "guardrail", "handoff"}


def test_sql_page_rounds_floats() -> None:
    app = open_app("page_sql.py")
    app.text_area(key="sql_text").set_value(
        "SELECT 1/3 AS third, 2/3 * 0.0001 AS small, 1234.56789::DOUBLE AS big, 7 AS whole"
    )
    app.button[0].click().run()
    no_exceptions(app)
    result = next(
        table(app, index) for index in range(len(app.dataframe)) if "third" in table(app, index)
    )
    assert result.iloc[0].to_dict() == {
        "third": 0.3333,
        "small": 0.00006667,
        "big": 1234.568,
        "whole": 7,
    }
