"""A small store with traces whose every number is known, for the dashboard tests.

Traces are made with the real tracing core (the factories, a processor, `span_record` and
`trace_record`) and stored with the real `SpanStore.ingest`. Only the clock is ours: each span's
start and length are set from a plan, so durations, percentiles and costs are exact.

- KNOWN trace ("Customer support", group `conv_alice`): Triage checks a guardrail, asks
  gpt-4o-mini, hands off to Billing; Billing asks gpt-4o, looks the order up, fails to refund
  (GatewayTimeout), answers, and its output guardrail trips.
- Two follow-up runs in the same conversation (`conv_alice`).
- Ten "Research" traces, each with one `web_search` call of 100, 200, ... 1000 ms, so the tool's
  p50/p95/p99 are 550/955/991 ms.
- A "Nightly batch" trace still running: its spans are stored, its trace record is not (the
  store infers the trace row from the spans).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentoscope.tracing import (
    TracingProcessor,
    agent_span,
    function_span,
    generation_span,
    guardrail_span,
    handoff_span,
    set_trace_processors,
    span_record,
    trace,
    trace_record,
)
from agentoscope.tracing.clock import iso_from_ns
from agentoscope.tracing.store import open_store

KNOWN_TRACE_ID = "trace_5eed0000000000000000000000000001"
KNOWN_WORKFLOW = "Customer support"
KNOWN_GROUP = "conv_alice"
KNOWN_SPAN_COUNT = 10
KNOWN_INPUT_TOKENS = 1200 + 2000 + 2500
KNOWN_OUTPUT_TOKENS = 80 + 150 + 120
KNOWN_CACHED_TOKENS = 200
KNOWN_DURATION_MS = 4900.0
# gpt-4o-mini: 1000 input at $0.15, 200 cached at $0.075, 80 output at $0.60 per 1M;
# gpt-4o: 4500 input at $2.50 and 270 output at $10 per 1M.
KNOWN_COST = (1000 * 0.15 + 200 * 0.075 + 80 * 0.60 + 4500 * 2.50 + 270 * 10.0) / 1_000_000
FAILING_TOOL = "refund_payment"
ERROR_TYPE = "GatewayTimeout"
ERROR_MESSAGE = "payment gateway timed out after 30s"
TRIPPED_GUARDRAIL = "no_refund_promises"
USER_QUESTION = "I was charged twice for order 42"
FINAL_ANSWER = "I'm sorry: the refund did not go through. A human will follow up today."
WEB_SEARCH_MS = [100.0 * k for k in range(1, 11)]
WEB_SEARCH_P50, WEB_SEARCH_P95, WEB_SEARCH_P99 = 550.0, 955.0, 991.0
RESEARCH_TRACES = len(WEB_SEARCH_MS)
FOLLOW_UPS = ["Is my refund done yet?", "Thanks, bye!"]
RUNNING_WORKFLOW = "Nightly batch"  # its spans are stored, its trace record (and name) not yet
TRACE_COUNT = 1 + len(FOLLOW_UPS) + RESEARCH_TRACES + 1


class RecordCollector(TracingProcessor):
    """Keeps the record of every finished span and trace."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def on_trace_start(self, trace: Any) -> None:
        pass

    def on_trace_end(self, trace: Any) -> None:
        self.records.append(trace_record(trace))

    def on_span_start(self, span: Any) -> None:
        pass

    def on_span_end(self, span: Any) -> None:
        self.records.append(span_record(span))

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


@dataclass
class Clock:
    """Planned times: `at(span, start_ms, length_ms)` from the current trace's start."""

    origin_ns: int
    plan: dict[str, tuple[int, int]] = field(default_factory=dict)

    def at(self, item: Any, start_ms: float, length_ms: float) -> Any:
        key = getattr(item, "span_id", None) or item.trace_id
        start = self.origin_ns + int(start_ms * 1_000_000)
        self.plan[key] = (start, start + int(length_ms * 1_000_000))
        return item


def _retimed(records: list[dict[str, Any]], plan: dict[str, tuple[int, int]]) -> None:
    for record in records:
        key = record.get("span_id") or record["trace_id"]
        if key in plan:
            start, end = plan[key]
            record["started_at"], record["ended_at"] = iso_from_ns(start), iso_from_ns(end)
            record["duration_ms"] = (end - start) / 1_000_000


def _usage(input_tokens: int, output_tokens: int, cached: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_tokens_details": {"cached_tokens": cached},
    }


@contextmanager
def _span(clock: Clock, span: Any, start_ms: float, length_ms: float) -> Iterator[Any]:
    with clock.at(span, start_ms, length_ms):
        yield span


def _known_trace(clock: Clock) -> None:
    with clock.at(
        trace(KNOWN_WORKFLOW, trace_id=KNOWN_TRACE_ID, group_id=KNOWN_GROUP), 0, KNOWN_DURATION_MS
    ):
        with _span(clock, agent_span("Triage", handoffs=["Billing"], tools=[]), 0, 850):
            with _span(clock, guardrail_span("pii_filter", triggered=False), 5, 20):
                pass
            messages = [
                {"role": "system", "content": "You route customers to the right agent."},
                {"role": "user", "content": USER_QUESTION},
            ]
            reply = [{"role": "assistant", "content": "Let me hand you to Billing."}]
            generation = generation_span(
                messages, reply, "gpt-4o-mini", usage=_usage(1200, 80, KNOWN_CACHED_TOKENS)
            )
            with _span(clock, generation, 30, 800):
                pass
            with _span(clock, handoff_span("Triage", "Billing"), 840, 5):
                pass
        billing = agent_span("Billing", tools=["lookup_order", FAILING_TOOL])
        with _span(clock, billing, 850, 4000):
            with _span(
                clock, generation_span(messages, None, "gpt-4o", usage=_usage(2000, 150)), 860, 1200
            ):
                pass
            lookup = function_span(
                "lookup_order", '{"order_id": 42}', '{"order_id": 42, "charges": 2}'
            )
            with _span(clock, lookup, 2070, 250):
                pass
            refund = function_span(FAILING_TOOL, '{"order_id": 42, "amount": 19.99}')
            with _span(clock, refund, 2330, 1000):
                refund.set_error({"message": ERROR_MESSAGE, "data": {"type": ERROR_TYPE}})
            answer = [{"role": "assistant", "content": FINAL_ANSWER}]
            with _span(
                clock,
                generation_span(messages, answer, "gpt-4o", usage=_usage(2500, 120)),
                3340,
                800,
            ):
                pass
            with _span(
                clock, guardrail_span(TRIPPED_GUARDRAIL, triggered=True, source="output"), 4150, 20
            ):
                pass


def _follow_up(clock: Clock, number: int, question: str) -> None:
    with clock.at(trace(KNOWN_WORKFLOW, group_id=KNOWN_GROUP), 0, 900):
        with _span(clock, agent_span("Triage"), 0, 880):
            messages = [{"role": "user", "content": question}]
            reply = [{"role": "assistant", "content": f"Answer number {number}."}]
            with _span(
                clock,
                generation_span(messages, reply, "gpt-4o-mini", usage=_usage(300, 40)),
                10,
                850,
            ):
                pass


def _research(clock: Clock, search_ms: float) -> None:
    with clock.at(trace("Research"), 0, search_ms + 100):
        with _span(clock, agent_span("Researcher", tools=["web_search"]), 0, search_ms + 90):
            with _span(
                clock, function_span("web_search", '{"q": "duckdb"}', "3 results"), 10, search_ms
            ):
                pass


def _running(clock: Clock) -> str:
    """A trace whose process is still at work: two finished spans, no trace record yet."""
    with clock.at(trace(RUNNING_WORKFLOW), 0, 60_000) as running:
        with _span(clock, agent_span("Batcher", tools=["load_rows"]), 0, 1500):
            with _span(clock, function_span("load_rows", '{"day": 1}', "1000 rows"), 5, 1400):
                pass
    return running.trace_id


@dataclass(frozen=True)
class DashboardStore:
    path: Path | str
    known_started_at: datetime
    records: int


def build_dashboard_store(path: Path | str, now: datetime | None = None) -> DashboardStore:
    """Write the traces above into a new store at `path` (a DuckDB file, or a store URL: a
    ClickHouse database, say). The known trace starts an hour before
    `now`; the follow-ups 10 and 20 minutes later; the research runs after them."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = now - timedelta(hours=1)
    collector = RecordCollector()
    set_trace_processors([collector])
    plan: dict[str, tuple[int, int]] = {}

    def clock_at(offset: timedelta) -> Clock:
        clock = Clock(int((start + offset).timestamp() * 1_000_000) * 1000)
        clock.plan = plan
        return clock

    _known_trace(clock_at(timedelta()))
    for number, question in enumerate(FOLLOW_UPS, start=1):
        _follow_up(clock_at(timedelta(minutes=10 * number)), number, question)
    for index, search_ms in enumerate(WEB_SEARCH_MS):
        _research(clock_at(timedelta(minutes=30 + index)), search_ms)
    running = _running(clock_at(timedelta(minutes=45)))
    set_trace_processors([])
    collector.records = [
        record
        for record in collector.records
        if not (record["kind"] == "trace" and record["trace_id"] == running)
    ]
    _retimed(collector.records, plan)
    with open_store(path) as store:
        store.ingest(collector.records)
    return DashboardStore(path, start.replace(tzinfo=None), len(collector.records))


APP_TIMEOUT_S = 60  # first runs import pandas/altair/duckdb on a busy 2-core machine


def open_app(page: str | None = None, **query_params: str) -> Any:
    """The dashboard in Streamlit's AppTest, run once, then switched to `page` (e.g.
    "page_trace.py") with `query_params` and run again. Reads whatever AGENTOSCOPE_STORE /
    AGENTOSCOPE_SERVER say."""
    from streamlit.testing.v1 import AppTest

    from agentoscope.dashboard import APP_PATH

    app = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT_S)
    app.run()
    if page is not None:
        app.query_params.update(query_params)
        app.switch_page(page)
        app.run()
    return app


def release_dashboard_readers() -> None:
    """Close the dashboard's cached store connections and forget cached results (both are
    process-wide)."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


def page_text(app: Any) -> str:
    """Everything a user reads on the page except tables and charts, as one string."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "error",
        "warning",
        "info",
        "success",
        "code",
    ):
        parts += [str(element.value) for element in getattr(app, kind)]
    for metric in app.metric:
        parts.append(f"{metric.label}: {metric.value}")
    return "\n".join(parts)
