"""Every dashboard page, run by Streamlit's AppTest against a real store written by the test: what
the page shows must be the known trace's spans, token totals, costs, percentiles and errors."""

from __future__ import annotations

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
    assert "Model: gpt-4o" in text and "Input tokens: 2,500" in text
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
    # All time: the bucketed estimate, and the page says so; up to a week: exact.
    assert "percentiles estimated within 0.54%" in page_text(app)
    per_type = table(app).set_index("span type")
    assert per_type.loc["guardrail", "p50"] == "20.0 ms"
    app.selectbox(key="window").set_value("Last 7 days").run()
    assert "percentiles estimated" not in page_text(app)
    app.selectbox(key="window").set_value("All time").run()
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
