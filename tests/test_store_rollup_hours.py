"""The hourly rollups (`latency_hours`, `span_hours`): every query that reads them gives the
answer grouped from spans (percentiles within the stated bound), whatever the writer did since:
late spans, prune, re-opening, a new hour; and exact percentiles stay one query away."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agentoscope.dashboard import pricing
from agentoscope.dashboard import queries as q
from agentoscope.tracing.store import DEFAULT_PRICES, SpanStore
from agentoscope.tracing.store import rollup as store_rollup
from agentoscope.tracing.store.queries import (
    _LATENCY_GROUPS,
    ESTIMATE_MAX_RELATIVE_ERROR,
    QUERIES,
    _estimated_latency_query,
)
from support.rollup_oracles import NAMED_FROM_SPANS, WORKFLOWS_FROM_TRACES
from support.store_spans import span, trace_rec

NOW = datetime.now(UTC).replace(tzinfo=None)
HOUR = NOW.replace(minute=0, second=0, microsecond=0)
# The hour the rollups are complete until (an hour is summarised HOUR_GRACE after it ended).
COVERED = (NOW - store_rollup.HOUR_GRACE).replace(minute=0, second=0, microsecond=0)
# The quarter hour trace_counts is complete until.
COVERED_QUARTER = store_rollup.TRACE_COUNTS_ROLLUP.start_of(NOW - store_rollup.HOUR_GRACE)
PRICES = q.Prices(["gpt-4o", "gpt-4o-mini"], [2.5e-6, 0.15e-6], [1.25e-6, 0.075e-6], [1e-5, 6e-7])
DEFAULTS = q.Prices(
    *pricing.price_lists(["gpt-4o", "gpt-4o-mini", "unpriced"], DEFAULT_PRICES), at_defaults=True
)
TOOLS = ("lookup", "refund", "search")
MODELS = ("gpt-4o", "gpt-4o-mini", "unpriced")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "+00:00"


def spans_between(first: datetime, last: datetime, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` spans of every kind the rollups group, at random moments in [first, last)."""
    rng = random.Random(seed)
    records = []
    for n in range(count):
        start = first + (last - first) * rng.random()
        duration = rng.choice((0.0, 0.4, 3.0, 17.0, 120.0, 950.0)) * rng.uniform(0.5, 2.0)
        kind = rng.choice(("generation", "function", "guardrail", "agent"))
        fields: dict[str, Any] = {"span_type": kind, "agent_name": rng.choice(("A", "B", None))}
        if kind == "generation":
            tokens = (rng.randint(1, 900), rng.randint(1, 90))
            fields.update(
                model=rng.choice(MODELS), input_tokens=tokens[0], output_tokens=tokens[1],
                total_tokens=sum(tokens), cached_input_tokens=rng.choice((None, 5)),
                reasoning_tokens=rng.choice((None, 3)),
            )  # fmt: skip
        elif kind == "function":
            fields.update(tool_name=rng.choice(TOOLS), name="tool")
        elif kind == "guardrail":
            fields.update(name=rng.choice(("pii", "policy")), triggered=rng.random() < 0.3)
        if rng.random() < 0.2:
            fields.update(status="error", error_type="E", error_message=f"boom {n}")
        records.append(
            span(
                f"t{seed}-{n // 5}", f"s{seed}-{n}", started_at=iso(start),
                ended_at=iso(start + timedelta(milliseconds=duration)), duration_ms=duration,
                **fields,
            )
        )  # fmt: skip
    return records


def records_of(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trace records (workflow W1 or W2) for every other trace of `spans`, starting a minute
    before its first span: each replaces the row inferred from the spans."""
    starts: dict[str, list[str]] = {}
    for record in spans:
        starts.setdefault(record["trace_id"], []).append(record["started_at"])
    records = []
    for n, (trace_id, times) in enumerate(sorted(starts.items())):
        if n % 2:
            first = datetime.fromisoformat(min(times)).replace(tzinfo=None)
            records.append(
                trace_rec(
                    trace_id, workflow_name=f"W{n % 4 // 2 + 1}",
                    started_at=iso(first - timedelta(minutes=1)), ended_at=max(times),
                    duration_ms=None,
                )
            )  # fmt: skip
    return records


def windows() -> list[q.Window]:
    """All time, ragged hours at both ends, the current hour, whole hours, nothing."""
    return [
        q.Window(),
        q.Window(HOUR - timedelta(hours=30, minutes=17), HOUR - timedelta(hours=2, minutes=41)),
        q.Window(HOUR - timedelta(hours=5)),
        q.Window(HOUR - timedelta(minutes=1)),
        q.Window(HOUR - timedelta(hours=10), HOUR - timedelta(hours=4)),
        q.Window(HOUR - timedelta(hours=3), HOUR - timedelta(hours=3)),
    ]


def rolled_up_queries(window: q.Window) -> dict[str, q.Sql]:
    return {
        "usage per model, hourly": q.usage_over_time(window, 3600, "model", PRICES),
        "usage per agent, 6-hourly": q.usage_over_time(window, 6 * 3600, "agent_name", PRICES),
        "failing tools": q.failing_tools(window),
        "errors over time, 6-hourly": q.errors_over_time(window, 6 * 3600),
        "error totals": q.error_totals(window),
        "guardrail trips": q.guardrail_trips(window),
        "histogram": q.latency_histogram(window),
        "histogram of a tool": q.latency_histogram(window, "tool_name", "refund"),
        "model names": q.model_names(),
        "agent names": q.agent_names(),
        **{
            f"trace count, {label}": q.trace_count(q.TraceFilters(window=window, **filters))
            for label, filters in TRACE_FILTERS.items()
        },
        "errors over time, hourly": q.errors_over_time(window, 3600),
        "errors over time, 15-minute": q.errors_over_time(window, 900),
        "usage per model, 15-minute": q.usage_over_time(window, 900, "model", PRICES),
        "usage per agent, 30-minute": q.usage_over_time(window, 1800, "agent_name", PRICES),
        "costliest traces": q.top_traces_by_cost(window, DEFAULTS),
        "costliest 3 traces": q.top_traces_by_cost(window, DEFAULTS, limit=3),
        "slowest spans": q.slowest_spans(window),
        "slowest spans of a span type": q.slowest_spans(window, "span_type", "function"),
        "slowest spans of a tool": q.slowest_spans(window, "tool_name", "refund", limit=5),
        "slowest spans of a model": q.slowest_spans(window, "model", "gpt-4o", limit=7),
    }


TRACE_FILTERS: dict[str, dict[str, Any]] = {
    "failing": {"status": "error"},
    "ok": {"status": "ok"},
    "guardrail tripped": {"status": "guardrail"},
    "one agent": {"agent": "A"},
    "one agent, failing": {"agent": "B", "status": "error"},
    "one workflow, ok": {"workflow": "W1", "status": "ok"},
}


def assert_rollups_agree(store: SpanStore) -> None:
    """Each rollup-backed query equals its from-spans form; estimated percentiles equal the
    same estimate grouped from spans, and are within the bound of the exact ones."""
    for window in windows():
        for label, sql in rolled_up_queries(window).items():
            assert sql.clickhouse is not None, label  # it does read a rollup
            got = sql.run(store)
            expected = sql.clickhouse.run(store)
            pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=label)
        params = q.window_params(window)
        workflows = q.named("workflows")
        workflows = workflows._replace(clickhouse=q.Sql(WORKFLOWS_FROM_TRACES, {}))
        for label, sql in {"workflows": workflows, **all_time_only()}.items():
            if window == q.Window():
                got, expected = sql.run(store), sql.clickhouse.run(store)
                sort = list(got.columns[:2])
                pd.testing.assert_frame_equal(
                    got.drop(columns="example_message", errors="ignore")
                    .sort_values(sort).reset_index(drop=True),
                    expected.drop(columns="example_message", errors="ignore")
                    .sort_values(sort).reset_index(drop=True),
                    check_dtype=False, obj=label,
                )  # fmt: skip
        for name, oracle in NAMED_FROM_SPANS.items():
            got = store.query(QUERIES[name].sql, params)
            pd.testing.assert_frame_equal(
                got, store.query(oracle, params), check_dtype=False, obj=name
            )
        for name, _what, key, where in _LATENCY_GROUPS:
            estimated = store.query(QUERIES[f"{name}_estimated"].sql, params).set_index(key)
            from_spans = store.query(
                _estimated_latency_query(key, key, where, rollup=False), params
            ).set_index(key)
            exact = store.query(QUERIES[name].sql, params).set_index(key)
            pd.testing.assert_frame_equal(
                estimated.sort_index(), from_spans.sort_index(), check_dtype=False, obj=name
            )
            assert estimated["spans"].sort_index().tolist() == exact["spans"].sort_index().tolist()
            for column in ("p50_ms", "p95_ms", "p99_ms"):
                error = (estimated[column] - exact[column]).abs() / exact[column]
                assert (error.fillna(0) <= ESTIMATE_MAX_RELATIVE_ERROR + 1e-9).all(), (
                    name, column, error.max(),
                )  # fmt: skip


def all_time_only() -> dict[str, q.Sql]:
    return {"errors by type": q.errors_by_type(q.Window())}


def complete_until(store: SpanStore, name: str) -> datetime | None:
    value = store.query("SELECT complete_until FROM rollups WHERE name = ?", [name]).iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def hour_rows(store: SpanStore) -> int:
    return int(store.query("SELECT count(*) FROM span_hours").iloc[0, 0])


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's "now" is the one these tests were written against, even across an hour."""
    monkeypatch.setattr(store_rollup, "utc_now", lambda: NOW)


@pytest.fixture
def store(tmp_path: Path) -> SpanStore:
    with SpanStore(tmp_path / "hours.duckdb") as opened:
        first = spans_between(HOUR - timedelta(hours=40), NOW, 700, seed=1)
        opened.ingest(first)
        opened.ingest(records_of(first))
        # A span with no start time is in no hour: all-time figures still count it.
        opened.ingest(
            [
                span(
                    "t-nostart", "s-nostart", span_type="generation", model="gpt-4o",
                    agent_name="C", input_tokens=5, output_tokens=1, total_tokens=6,
                    started_at=None, ended_at=None, duration_ms=None, status="error",
                    error_message="no start",
                )
            ]
        )  # fmt: skip
        yield opened


def test_whole_hours_are_read_from_the_rollups(store: SpanStore) -> None:
    for name in ("latency_hours", "span_hours"):
        assert complete_until(store, name) == COVERED
    quarter = NOW - store_rollup.HOUR_GRACE
    assert complete_until(store, "span_quarters") == quarter.replace(
        minute=quarter.minute - quarter.minute % 15, second=0, microsecond=0
    )
    assert hour_rows(store) > 0
    rolled = store.query("SELECT max(hour) FROM latency_hours").iloc[0, 0]
    assert pd.Timestamp(rolled) < COVERED  # the current hour is read from spans
    assert_rollups_agree(store)


def test_late_spans_reopen_their_hours(store: SpanStore) -> None:
    late = spans_between(HOUR - timedelta(hours=20), HOUR - timedelta(hours=19), 40, seed=2)
    store.ingest(late)
    # The writer moved complete_until back to the late hour and summarised it again.
    assert complete_until(store, "span_hours") == COVERED
    assert_rollups_agree(store)


def failing_traces(store: SpanStore) -> int:
    """Traces with a failing span, from their spans."""
    return int(
        store.query(
            "SELECT count(*) FROM traces WHERE trace_id IN "
            "(SELECT trace_id FROM spans WHERE status = 'error')"
        ).iloc[0, 0]
    )


def test_a_late_failure_reopens_the_hour_of_its_trace(store: SpanStore) -> None:
    started = HOUR - timedelta(hours=4, minutes=-10)
    ok = [
        span("long", f"long-{n}", started_at=iso(started + timedelta(minutes=n)),
             ended_at=iso(started + timedelta(minutes=n + 1)), agent_name="A")
        for n in range(3)
    ]  # fmt: skip
    store.ingest(ok)
    failing = q.trace_count(q.TraceFilters(status="error"))
    before = int(failing.run(store).iloc[0, 0])
    assert before == failing_traces(store)
    # Two hours after the trace started (its hour summarised long ago), one of its spans fails.
    late = started + timedelta(hours=2)
    store.ingest(
        [
            span("long", "long-late", started_at=iso(late), ended_at=iso(late), agent_name="A",
                 status="error", error_type="Late", error_message="late")
        ]
    )  # fmt: skip
    assert complete_until(store, "trace_counts") == COVERED_QUARTER
    assert int(failing.run(store).iloc[0, 0]) == before + 1 == failing_traces(store)
    totals = q.error_totals(q.Window()).run(store).iloc[0]
    assert int(totals["failing_traces"]) == before + 1
    by_type = q.errors_by_type(q.Window()).run(store).set_index("error_type")
    assert by_type.loc["Late", "traces"] == 1
    assert_rollups_agree(store)


def test_traces_of_a_ragged_first_quarter_count_their_spans_up_to_their_ends(
    tmp_path: Path,
) -> None:
    """A window starting inside a quarter hour reads that quarter's traces from spans, up to
    the last of those traces' ends, not to now; a trace recorded without an end keeps the
    read open, so its failure hours later still counts."""
    first = HOUR - timedelta(hours=10)
    window = q.Window(first + timedelta(minutes=10))
    with SpanStore(tmp_path / "ragged.duckdb") as store:
        # Records first: a span arriving after its trace's record does not widen the record.
        store.ingest(
            [
                trace_rec("open", started_at=iso(first + timedelta(minutes=12)), ended_at=None,
                          duration_ms=None),
                trace_rec("ended", started_at=iso(first + timedelta(minutes=13)),
                          ended_at=iso(first + timedelta(minutes=14)), duration_ms=60_000.0),
            ]
        )  # fmt: skip
        late = first + timedelta(hours=7)
        store.ingest(
            [
                span("ended", "ok", started_at=iso(first + timedelta(minutes=13)),
                     ended_at=iso(first + timedelta(minutes=14)), duration_ms=60_000.0),
                span("ended", "quick", started_at=iso(first + timedelta(minutes=13)),
                     ended_at=iso(first + timedelta(minutes=13)), status="error",
                     error_type="Quick", error_message="quick"),
                span("open", "late", started_at=iso(late), ended_at=iso(late),
                     status="error", error_type="Late", error_message="late"),
            ]
        )  # fmt: skip
        assert complete_until(store, "trace_counts") == COVERED_QUARTER
        failing = q.trace_count(q.TraceFilters(window=window, status="error"))
        assert (
            int(failing.run(store).iloc[0, 0]) == 2 == int(failing.clickhouse.run(store).iloc[0, 0])
        )
        over_time = q.errors_over_time(window, 900)
        got = over_time.run(store)
        pd.testing.assert_frame_equal(got, over_time.clickhouse.run(store), check_dtype=False)
        assert int(got["failing_traces"].sum()) == 2


def test_trace_counts_read_traces_while_the_rollups_cover_nothing(store: SpanStore) -> None:
    """A store whose trace rollups are not built (yet): every trace is read from the traces."""
    expected = {label: sql.run(store) for label, sql in rolled_up_queries(q.Window()).items()}
    for name in ("trace_counts", "trace_agent_counts", "trace_error_counts"):
        store._cursor.execute(f"DELETE FROM {name}")
        store._cursor.execute("UPDATE rollups SET complete_until = NULL WHERE name = ?", [name])
    for label, sql in rolled_up_queries(q.Window()).items():
        pd.testing.assert_frame_equal(sql.run(store), expected[label], check_dtype=False, obj=label)
    assert_rollups_agree(store)


def test_prune_and_reopen_keep_them_true(store: SpanStore, tmp_path: Path) -> None:
    store.prune(HOUR - timedelta(hours=12, minutes=30))
    assert_rollups_agree(store)
    path = store.path
    store.close()
    with SpanStore(path) as again:
        again.ingest(spans_between(HOUR - timedelta(hours=6), NOW, 50, seed=3))
        assert_rollups_agree(again)
    with SpanStore(path, read_only=True) as reader:
        assert_rollups_agree(reader)


def test_a_new_hour_is_summarised_by_the_next_write(
    store: SpanStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = HOUR + timedelta(hours=2, minutes=30)
    monkeypatch.setattr(store_rollup, "utc_now", lambda: later)
    store.ingest(spans_between(later - timedelta(minutes=5), later, 10, seed=4))
    assert complete_until(store, "latency_hours") == HOUR + timedelta(hours=2)
    current = store.query("SELECT count(*) FROM span_hours WHERE hour = ?", [HOUR]).iloc[0, 0]
    assert current > 0  # what was the current hour is rolled up now
    assert_rollups_agree(store)


def test_exact_percentiles_are_a_query_away_and_estimates_say_so(store: SpanStore) -> None:
    for name, _what, _key, _where in _LATENCY_GROUPS:
        assert "estimated" in QUERIES[f"{name}_estimated"].description
        assert (
            f"within {ESTIMATE_MAX_RELATIVE_ERROR:.1%}" in QUERIES[f"{name}_estimated"].description
        )
        assert "exact" in QUERIES[name].description
        assert "quantile_cont" in QUERIES[name].sql
    exact = store.query(QUERIES["latency_by_tool"].sql, q.window_params(q.Window()))
    durations = store.query(
        "SELECT tool_name, quantile_cont(duration_ms, 0.95) AS p95 FROM spans "
        "WHERE span_type = 'function' AND duration_ms IS NOT NULL GROUP BY 1"
    ).set_index("tool_name")
    assert exact.set_index("tool_name")["p95_ms"].sort_index().tolist() == pytest.approx(
        durations["p95"].sort_index().tolist()
    )


def test_slowest_spans_keep_the_top_of_each_hour_and_are_read_from_it(store: SpanStore) -> None:
    # A dense covered hour: 300 tool calls with few distinct durations (ties broken by ids),
    # more than the rollup keeps per hour, span type, tool and model.
    hour = COVERED - timedelta(hours=3)
    rng = random.Random(7)
    dense = []
    for n in range(300):
        start = hour + timedelta(seconds=rng.uniform(0, 3599))
        duration = rng.choice((10.0, 250.0, 4000.0))
        dense.append(
            span(
                f"td-{n // 10}", f"sd-{n}", span_type="function", tool_name="lookup",
                started_at=iso(start), ended_at=iso(start + timedelta(milliseconds=duration)),
                duration_ms=duration,
            )
        )  # fmt: skip
    store.ingest(dense)
    kept = store.query(
        "SELECT count(*) FROM slowest_spans WHERE hour = ? AND tool_name = 'lookup'", [hour]
    ).iloc[0, 0]
    assert kept == store_rollup.SLOWEST_KEEP
    assert_rollups_agree(store)
    window = q.Window(hour - timedelta(hours=1), hour + timedelta(hours=2))
    for sql in (
        q.slowest_spans(window, limit=store_rollup.SLOWEST_KEEP),
        q.slowest_spans(window, "tool_name", "lookup"),
    ):
        assert sql.clickhouse is not None
        pd.testing.assert_frame_equal(sql.run(store), sql.clickhouse.run(store), check_dtype=False)
    # The covered hour's answer is the rollup's rows: a changed row changes it.
    sql = q.slowest_spans(window, "tool_name", "lookup", limit=3)
    store._cursor.execute(
        "UPDATE slowest_spans SET duration_ms = 99999 WHERE span_id = ?",
        [sql.clickhouse.run(store)["span_id"].iloc[0]],
    )
    assert sql.run(store)["duration_ms"].iloc[0] == 99999
    assert sql.clickhouse.run(store)["duration_ms"].iloc[0] == 4000.0


def dense_hour(store: SpanStore, hour: datetime, prefix: str = "tf", seed: int = 29) -> None:
    """120 traces (`prefix`-0 ...) with one model call each, spread over `hour`: more than
    trace_costs keeps of an hour."""
    rng = random.Random(seed)
    calls = []
    for n in range(120):
        start = hour + timedelta(seconds=rng.uniform(0, 3590))
        tokens = (rng.randint(1, 5000), rng.randint(1, 500))
        calls.append(
            span(
                f"{prefix}-{n}", f"s{prefix}-{n}", span_type="generation",
                model=rng.choice(MODELS[:2]),
                input_tokens=tokens[0], output_tokens=tokens[1], total_tokens=sum(tokens),
                started_at=iso(start), ended_at=iso(start + timedelta(seconds=1)),
                duration_ms=1000.0,
            )
        )  # fmt: skip
    store.ingest(calls)


def test_costliest_traces_keep_the_top_of_each_hour_and_fall_back_for_edited_prices(
    store: SpanStore,
) -> None:
    # A dense covered hour: 120 traces with a model call each, more than trace_costs keeps.
    hour = COVERED - timedelta(hours=5)
    dense_hour(store, hour, "tc", 11)
    kept = store.query("SELECT count(*) FROM trace_costs WHERE hour = ?", [hour]).iloc[0, 0]
    assert kept == store_rollup.TRACE_COST_KEEP
    window = q.Window(hour - timedelta(hours=2), hour + timedelta(hours=3))
    top = q.top_traces_by_cost(window, DEFAULTS, limit=store_rollup.TRACE_COST_KEEP)
    assert top.clickhouse is not None
    pd.testing.assert_frame_equal(top.run(store), top.clickhouse.run(store), check_dtype=False)
    # A late call lifts the cheapest trace of the hour to the top: its start hour reopens.
    cheapest = top.clickhouse.run(store)["trace_id"].iloc[-1]
    late = span(
        cheapest, "sc-late", span_type="generation", model="gpt-4o", input_tokens=10**7,
        output_tokens=1, total_tokens=10**7 + 1, started_at=iso(hour + timedelta(minutes=70)),
        ended_at=iso(hour + timedelta(minutes=71)), duration_ms=60000.0,
    )  # fmt: skip
    store.ingest([late])
    assert complete_until(store, "trace_costs") == COVERED
    assert top.run(store)["trace_id"].iloc[0] == cheapest
    assert_rollups_agree(store)
    # Edited prices read every trace of the window from its spans.
    edited = q.top_traces_by_cost(window, PRICES)
    assert edited.clickhouse is None and "trace_costs" not in edited.text
    # The covered hour's answer is the rollup's rows: a changed row changes it.
    store._cursor.execute("UPDATE trace_costs SET cost = 1e6 WHERE trace_id = 'tc-7'")
    assert top.run(store)["trace_id"].iloc[0] == "tc-7"
    assert top.clickhouse.run(store)["trace_id"].iloc[0] != "tc-7"


def test_costliest_traces_read_the_quarters_after_the_last_rolled_up_hour(
    store: SpanStore,
) -> None:
    # trace_costs an hour behind trace_cost_quarters, as the writer has them in the first
    # quarter of an hour: the last hour's traces come from the quarters' kept rows.
    hour = COVERED - timedelta(hours=1)
    dense_hour(store, hour, "tq", 13)
    writer = store_rollup.Rollups()
    writer._drop_rows_from(store._cursor, store_rollup.TRACE_COSTS_ROLLUP, hour)
    writer._record(store._cursor, store_rollup.TRACE_COSTS_ROLLUP, hour)
    assert complete_until(store, "trace_cost_quarters") >= COVERED
    tops = [
        q.top_traces_by_cost(q.Window(), DEFAULTS),
        q.top_traces_by_cost(q.Window(hour - timedelta(hours=2, minutes=10)), DEFAULTS),
        q.top_traces_by_cost(
            q.Window(hour - timedelta(hours=3), hour + timedelta(minutes=40)), DEFAULTS
        ),
    ]
    for top in tops:
        assert top.clickhouse is not None
        pd.testing.assert_frame_equal(top.run(store), top.clickhouse.run(store), check_dtype=False)
    # The answer is the quarters' kept rows: a changed row changes it.
    first = store.query(
        "SELECT trace_id FROM trace_cost_quarters WHERE quarter = ? ORDER BY cost LIMIT 1", [hour]
    )["trace_id"].iloc[0]
    store._cursor.execute("UPDATE trace_cost_quarters SET cost = 1e6 WHERE trace_id = ?", [first])
    for top in tops:
        assert top.run(store)["trace_id"].iloc[0] == first
        assert top.clickhouse.run(store)["trace_id"].iloc[0] != first
    # Quarters behind the hours (or covering nothing) are not read: the time after the hours
    # comes from spans.
    for behind in (hour - timedelta(hours=2), None):
        writer._drop_rows_from(store._cursor, store_rollup.TRACE_COST_QUARTERS_ROLLUP, behind)
        writer._record(store._cursor, store_rollup.TRACE_COST_QUARTERS_ROLLUP, behind)
        for top in tops:
            pd.testing.assert_frame_equal(
                top.run(store), top.clickhouse.run(store), check_dtype=False
            )


def test_costliest_traces_take_a_ragged_first_hour_from_its_kept_rows_when_they_settle_it(
    store: SpanStore,
) -> None:
    hour = COVERED - timedelta(hours=5)
    dense_hour(store, hour)
    dense_hour(store, hour + timedelta(hours=1))
    window = q.Window(hour + timedelta(minutes=30), hour + timedelta(hours=2))
    top = q.top_traces_by_cost(window, DEFAULTS)
    assert top.clickhouse is not None
    got = top.run(store)
    pd.testing.assert_frame_equal(got, top.clickhouse.run(store), check_dtype=False)
    # Settled: the 20th of two dense hours ranks above the first hour's 50th kept trace, so
    # the first hour's answer is its kept rows (a changed kept row changes it).
    kept = store.query(
        "SELECT trace_id FROM trace_costs WHERE hour = ? AND started_at >= ? ORDER BY cost",
        [hour, window.start],
    )["trace_id"]
    cheapest_kept = kept.iloc[0]
    assert cheapest_kept not in set(got["trace_id"])
    store._cursor.execute("UPDATE trace_costs SET cost = 1e6 WHERE trace_id = ?", [cheapest_kept])
    assert top.run(store)["trace_id"].iloc[0] == cheapest_kept
    # A kept trace that started before the window stays out of it.
    before = store.query(
        "SELECT trace_id FROM trace_costs WHERE hour = ? AND started_at < ? LIMIT 1",
        [hour, window.start],
    )["trace_id"].iloc[0]
    store._cursor.execute("UPDATE trace_costs SET cost = 2e6 WHERE trace_id = ?", [before])
    assert before not in set(top.run(store)["trace_id"])


@pytest.mark.parametrize("limit", [20, store_rollup.TRACE_COST_KEEP])
def test_costliest_traces_cost_a_ragged_first_hour_from_spans_when_its_kept_rows_do_not_settle_it(
    store: SpanStore, limit: int
) -> None:
    # One dense hour, the window from its middle: its kept rows that started in the window
    # may rank below traces the hour did not keep, so the answer is costed from the spans.
    hour = COVERED - timedelta(hours=5)
    dense_hour(store, hour)
    window = q.Window(hour + timedelta(minutes=55), hour + timedelta(hours=3))
    in_window = store.query(
        "SELECT count(*) FROM trace_costs WHERE hour = ? AND started_at >= ?",
        [hour, window.start],
    ).iloc[0, 0]
    assert in_window < limit  # fewer than the answer asks for: the kept rows cannot settle it
    top = q.top_traces_by_cost(window, DEFAULTS, limit=limit)
    assert top.clickhouse is not None
    got = top.run(store)
    pd.testing.assert_frame_equal(got, top.clickhouse.run(store), check_dtype=False)
    assert len(got) > in_window
