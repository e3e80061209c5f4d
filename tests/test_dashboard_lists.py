"""Newest-first lists (the trace list, the conversations list) read growing windows before the
newest row and stop once the page is full: every page, with every filter, must be the rows the
unwindowed query gives, including pages that straddle windows, filters that match nothing, an
empty store and a store whose newest trace is old."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agentoscope.dashboard import queries as q
from agentoscope.dashboard import reads
from agentoscope.tracing.store import SpanStore
from support.dashboard_data import open_app, page_text, release_dashboard_readers
from support.store_spans import span, trace_rec

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
PRICES = q.Prices(["gpt-4o"], [2.5e-6], [1.25e-6], [1e-5])
PAGE_COLUMNS = ["trace_id", "workflow_name", "group_id", "started_at", "ended_at", "duration_ms"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "+00:00"


def trace_starts(newest: datetime) -> list[datetime]:
    """Dense lately, sparse long ago: 12 in the hour before `newest`, one every 30 minutes over
    the day before, one every 6 hours over 40 days, and a few sharing one moment."""
    starts = [newest - timedelta(minutes=5 * n) for n in range(12)]
    starts += [newest - timedelta(hours=1, minutes=30 * n) for n in range(48)]
    starts += [newest - timedelta(days=1, hours=6 * n) for n in range(160)]
    starts += [newest - timedelta(hours=1)] * 3  # ties at a window's edge
    return starts


def records(newest: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, start in enumerate(trace_starts(newest)):
        trace_id = f"trace-{n:04d}"
        end = start + timedelta(seconds=30)
        # A few conversations run long: their last trace ends well after the next ones start.
        if n % 17 == 0:
            end = start + timedelta(hours=3)
        group = f"conv-{n // 3:03d}" if n % 2 == 0 else None
        rows.append(
            trace_rec(
                trace_id, workflow_name=f"wf{n % 4}", group_id=group, started_at=iso(start),
                ended_at=iso(end), duration_ms=(end - start).total_seconds() * 1000,
            )
        )  # fmt: skip
        moment = start + timedelta(seconds=1)
        common = {"started_at": iso(moment), "ended_at": iso(moment + timedelta(seconds=2))}
        agent = ("Triage", "Billing", "Support")[n % 3]
        rows.append(span(trace_id, f"{trace_id}-a", span_type="agent", agent_name=agent, **common))
        rows.append(
            span(
                trace_id, f"{trace_id}-g", span_type="generation", agent_name=agent,
                model="gpt-4o", input_tokens=100 + n, output_tokens=10, total_tokens=110 + n,
                **common,
            )
        )  # fmt: skip
        if n % 4 == 0:
            message = "synthetic failure" if n % 8 == 0 else "timed out"
            rows.append(
                span(
                    trace_id, f"{trace_id}-f", span_type="function", tool_name="refund",
                    agent_name=agent, status="error", error_type="ToolError",
                    error_message=f"{message} {n}", **common,
                )
            )  # fmt: skip
        if n % 5 == 0:
            rows.append(
                span(
                    trace_id, f"{trace_id}-r", span_type="guardrail", name="policy",
                    triggered=True, agent_name=agent, **common,
                )
            )  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpanStore]:
    with SpanStore(tmp_path_factory.mktemp("lists") / "lists.duckdb") as opened:
        opened.ingest(records(NOW - timedelta(minutes=3)))
        yield opened


def runner(reader: Any) -> reads.Runner:
    return lambda sql: sql.run(reader)


FILTERS = [
    q.TraceFilters(),
    q.TraceFilters(status="error"),
    q.TraceFilters(status="ok"),
    q.TraceFilters(status="guardrail"),
    q.TraceFilters(agent="Billing"),
    q.TraceFilters(workflow="wf1"),
    q.TraceFilters(search="synthetic failure"),
    q.TraceFilters(search="no such text"),
    q.TraceFilters(status="error", agent="Support"),
    q.TraceFilters(status="guardrail", workflow="wf2", search="wf"),
    q.TraceFilters(agent="Nobody"),
]
WINDOWS = [
    q.Window(),
    q.Window(NOW - timedelta(hours=24)),
    q.Window(NOW - timedelta(days=3, minutes=7), NOW - timedelta(hours=2, minutes=13)),
    q.Window(NOW - timedelta(days=50), NOW - timedelta(days=20)),  # its newest trace is old
    q.Window(NOW - timedelta(minutes=1)),  # nothing in it
]
# (limit, offset): inside the first hour, straddling the hour and the day, deep pages.
PAGES = [(5, 0), (5, 9), (50, 0), (20, 45), (10, 200)]


def expected_trace_rows(reader: Any, filters: q.TraceFilters, limit: int, offset: int) -> Any:
    """The trace list as the unwindowed queries give it."""
    page = q.trace_page(filters, limit, offset).run(reader)
    return page.reset_index(drop=True)


@pytest.mark.parametrize("window", WINDOWS, ids=range(len(WINDOWS)))
def test_trace_list_pages_are_the_unwindowed_rows(store: SpanStore, window: q.Window) -> None:
    for base in FILTERS:
        filters = q.TraceFilters(
            window=window, workflow=base.workflow, agent=base.agent, status=base.status,
            search=base.search,
        )  # fmt: skip
        for limit, offset in PAGES:
            got = reads.trace_rows(runner(store), filters, PRICES, limit, offset)
            expected = expected_trace_rows(store, filters, limit, offset)
            assert got[PAGE_COLUMNS].equals(expected[PAGE_COLUMNS]), (filters, limit, offset)
            if len(expected):
                totals = q.trace_totals(expected["trace_id"].tolist(), None, None, PRICES)
                by_trace = totals.run(store).set_index("trace_id")
                assert (
                    got.set_index("trace_id")["errors"].to_dict()
                    == by_trace["errors"].reindex(got["trace_id"]).fillna(0).astype(int).to_dict()
                )


def test_a_full_first_hour_is_all_the_list_reads(store: SpanStore) -> None:
    """The newest 10 traces are in the hour before the newest one: only that hour is read."""
    found = reads.trace_window(runner(store), q.TraceFilters(), 10)
    newest = NOW - timedelta(minutes=3)
    assert found.since == newest - timedelta(hours=1)
    assert found.rows is not None and found.rows >= 10
    # Failing traces are rarer: the page of 10 needs the day before.
    failing = reads.trace_window(runner(store), q.TraceFilters(status="error"), 10)
    assert failing.since == newest - timedelta(days=1)
    # Conversations: 5 were active in the last hour, 15 need the day.
    assert reads.session_window(runner(store), q.Window(), None, 5).since == found.since
    assert reads.session_window(runner(store), q.Window(), None, 15).since == failing.since


def test_an_empty_store_lists_nothing(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "empty.duckdb") as empty:
        for filters in FILTERS[:4]:
            rows = reads.trace_rows(runner(empty), filters, PRICES, 50, 0)
            assert rows.empty
        assert reads.session_rows(runner(empty), q.Window()).empty


def test_a_store_whose_newest_trace_is_old(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "old.duckdb") as old:
        old.ingest(records(NOW - timedelta(days=90)))
        for filters in FILTERS:
            for limit, offset in PAGES[:3]:
                got = reads.trace_rows(runner(old), filters, PRICES, limit, offset)
                expected = expected_trace_rows(old, filters, limit, offset)
                assert got[PAGE_COLUMNS].equals(expected[PAGE_COLUMNS])


def _sorted_workflows(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["workflows"] = frame["workflows"].map(lambda names: sorted(names))
    return frame


@pytest.mark.parametrize("window", WINDOWS, ids=range(len(WINDOWS)))
def test_session_pages_are_the_unwindowed_rows(store: SpanStore, window: q.Window) -> None:
    for search in (None, "conv-00", "nothing like it"):
        for limit, offset in [(5, 0), (5, 4), (30, 0), (10, 60)]:
            got = reads.session_rows(runner(store), window, search, limit, offset)
            expected = q.session_page(window, search, limit, offset).run(store)
            columns = list(expected.columns)
            assert _sorted_workflows(got[columns]).equals(_sorted_workflows(expected)), (
                window, search, limit, offset,
            )  # fmt: skip
            if len(expected):  # tokens and failures as the traces table's join gives them
                totals = q.session_totals(
                    expected["group_id"].tolist(),
                    expected["first_started_at"].min(),
                    expected["last_active_at"].max(),
                ).run(store)
                by_group = totals.set_index("group_id").reindex(got["group_id"])
                assert got["tokens"].tolist() == by_group["tokens"].tolist()
                assert got["errors"].tolist() == by_group["errors"].fillna(0).astype(int).tolist()


def test_a_text_search_is_counted_within_the_window_it_reads(store: SpanStore) -> None:
    """Every trace's workflow matches "wf": the first page and one row more are in the day
    before the newest trace, so that is what is counted ("at least"); all of them on request."""
    search = q.TraceFilters(search="wf")
    counted = reads.search_count(runner(store), search, 51)
    newest = NOW - timedelta(minutes=3)
    assert not counted.exact and counted.since == newest - timedelta(days=1)
    since_then = q.trace_count(reads.narrowed(search, counted.since)).run(store)
    assert counted.traces == since_then["traces"].iloc[0] >= 51
    everything = int(q.trace_count(search).run(store)["traces"].iloc[0])
    assert everything == len(trace_starts(newest)) > counted.traces
    # A search that matches few traces is counted in full, exactly.
    rare = reads.search_count(runner(store), q.TraceFilters(search="synthetic failure"), 51)
    assert rare.exact
    assert (
        rare.traces
        == q.trace_count(q.TraceFilters(search="synthetic failure")).run(store).iloc[0, 0]
    )
    # The page reads from the window the count found.
    rows = reads.trace_rows(runner(store), search, PRICES, 50, 0, counted.found)
    assert rows[PAGE_COLUMNS].equals(expected_trace_rows(store, search, 50, 0)[PAGE_COLUMNS])


def test_the_trace_page_shows_a_search_count_as_at_least(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "search.duckdb"
    newest = NOW - timedelta(minutes=3)
    with SpanStore(path) as writing:
        writing.ingest(records(newest))
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(path))
    monkeypatch.delenv("AGENTOSCOPE_SERVER", raising=False)
    monkeypatch.setenv("AGENTOSCOPE_PRICES", str(tmp_path / "no-saved-prices.json"))
    try:
        app = open_app("page_traces.py", q="wf")
        assert not app.exception, [error.message for error in app.exception]
        since = f"{newest - timedelta(days=1):%Y-%m-%d %H:%M} UTC"
        assert f"Page 1 of 2+ · 63+ traces (counted since {since})" in page_text(app)
        assert len(app.dataframe[0].value) == 50
        app.button(key="traces_count_all").click().run()
        total = len(trace_starts(newest))
        assert f"Page 1 of {-(-total // 50)} · {total:,} traces" in page_text(app)
        # Another search is counted within its window again.
        app.text_input(key="traces_search").set_value("WF").run()
        assert f"Page 1 of 2+ · 63+ traces (counted since {since})" in page_text(app)
    finally:
        release_dashboard_readers()


@pytest.mark.parametrize("window", WINDOWS, ids=range(len(WINDOWS)))
def test_latest_failures_are_the_unwindowed_rows(store: SpanStore, window: q.Window) -> None:
    for limit in (1, 3, 20, 500):
        got = reads.latest_failures(runner(store), window, limit)
        expected = q.named("recent_errors", **q.window_params(window), limit=limit).run(store)
        assert got.equals(expected), (window, limit)


def test_conversations_whose_traces_sent_no_spans(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "bare.duckdb") as bare:
        start = NOW - timedelta(hours=2)
        bare.ingest(
            [
                trace_rec(f"bare-{n}", group_id=f"conv-{n}", started_at=iso(start),
                          ended_at=iso(start + timedelta(seconds=n + 1)))
                for n in range(3)
            ]
        )  # fmt: skip
        rows = reads.session_rows(runner(bare), q.Window())
        assert rows["group_id"].tolist() == ["conv-2", "conv-1", "conv-0"]
        assert rows["errors"].tolist() == [0, 0, 0]
        assert rows["tokens"].isna().all()


def test_a_span_whose_clock_ran_behind_its_trace(tmp_path: Path) -> None:
    """A failing span that started two minutes before its trace (another host's clock), the
    trace just inside the last hour: the trace is failing, not ok, windowed or not."""
    newest = NOW - timedelta(minutes=1)
    rows: list[dict[str, Any]] = []
    starts = [newest - timedelta(minutes=5 * n) for n in range(12)] + [
        newest - timedelta(hours=2 + n) for n in range(20)
    ]
    for n, start in enumerate(starts):
        rows.append(trace_rec(f"ok-{n:02d}", started_at=iso(start), ended_at=iso(start)))
        rows.append(
            span(f"ok-{n:02d}", f"ok-{n:02d}-s", started_at=iso(start), ended_at=iso(start))
        )
    behind = newest - timedelta(minutes=59)
    early = behind - timedelta(minutes=2)
    rows.append(trace_rec("behind", started_at=iso(behind), ended_at=iso(behind)))
    rows.append(
        span("behind", "behind-s", status="error", error_message="late clock",
             started_at=iso(early), ended_at=iso(early))
    )  # fmt: skip
    with SpanStore(tmp_path / "skew.duckdb") as skewed:
        skewed.ingest(rows)
        for status in ("ok", "error", "any"):
            for limit in (1, 12, 13, 14):
                filters = q.TraceFilters(status=status)
                got = reads.trace_rows(runner(skewed), filters, PRICES, limit, 0)
                expected = expected_trace_rows(skewed, filters, limit, 0)
                assert got["trace_id"].tolist() == expected["trace_id"].tolist(), (status, limit)
