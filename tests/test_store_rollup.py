"""The per-day rollup (`agent_days`): the error rate per agent per day reads whole days from it,
and every way the store changes keeps its answer equal to grouping the spans themselves."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store import rollup as store_rollup
from agentoscope.tracing.store.queries import run
from support.rollup_oracles import NAMED_FROM_SPANS
from support.store_spans import span, store_rows

# What the rollup stands in for: the same figures grouped from every span in the window.
FROM_SPANS = NAMED_FROM_SPANS["error_rate_per_agent_per_day"]
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days_ago: float, hours: float = 12) -> datetime:
    """A moment `days_ago` days before today's midnight (UTC), plus `hours`."""
    return TODAY - timedelta(days=days_ago) + timedelta(hours=hours)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def agent_run(
    trace: str, agent: str, start: datetime, *, failed: bool = False, tool_fails: bool = False
) -> list[dict[str, Any]]:
    """An agent span and a tool call inside it (the agent's name carried, as our core does)."""
    end = start + timedelta(seconds=2)
    error = {"status": "error", "error_type": "E", "error_message": "boom"}
    return [
        span(
            trace, f"{trace}-a", span_type="agent", name=agent, agent_name=agent,
            started_at=iso(start), ended_at=iso(end), **(error if failed else {}),
        ),
        span(
            trace, f"{trace}-f", parent_id=f"{trace}-a", span_type="function", name="lookup",
            tool_name="lookup", agent_name=agent, started_at=iso(start + timedelta(seconds=1)),
            ended_at=iso(end), **(error if tool_fails else {}),
        ),
    ]  # fmt: skip


def workload() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for day in range(6, -1, -1):
        for n in range(4):
            agent = "Triage" if n % 2 else "Billing"
            records += agent_run(
                f"t{day}-{n}", agent, at(day, hours=2 + n), failed=n == 3, tool_fails=n >= 2
            )
    return records


def assert_rollup_agrees(store: SpanStore) -> pd.DataFrame:
    """The named query equals the grouping over spans, over windows of every shape: whole days,
    partial days at either end, all time, and nothing."""
    windows = [
        ("-infinity", "infinity"),
        (iso(at(3, hours=0)), "infinity"),
        (iso(at(5, hours=7)), iso(at(1, hours=3))),
        (iso(at(30)), iso(at(2, hours=0))),
        (iso(at(4, hours=1)), iso(at(4, hours=1))),
    ]
    for since, until in windows:
        expected = store.query(FROM_SPANS, {"since": since, "until": until})
        got = run(store, "error_rate_per_agent_per_day", since=since, until=until)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    return run(store, "error_rate_per_agent_per_day", since="-infinity")


def complete_until(store: SpanStore) -> date | None:
    value = store.query("SELECT complete_until FROM rollups").iloc[0, 0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def rolled_up(store: SpanStore, day: datetime) -> dict[str, tuple[int, int, int]]:
    rows = store.query(
        "SELECT agent_name, runs, failed_runs, errors FROM agent_days WHERE day = ?", [day.date()]
    )
    return {row.agent_name: (row.runs, row.failed_runs, row.errors) for row in rows.itertuples()}


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's "today" is the one these tests were written against, even across midnight."""
    monkeypatch.setattr(store_rollup, "utc_today", lambda: TODAY.date())


@pytest.fixture
def store(tmp_path: Path) -> SpanStore:
    with SpanStore(tmp_path / "rollup.duckdb") as opened:
        opened.ingest(workload())
        yield opened


def test_whole_past_days_are_read_from_the_rollup(store: SpanStore) -> None:
    assert complete_until(store) == TODAY.date()
    # Six past days of two agents are summarised; today is grouped from spans when queried.
    assert store.query("SELECT count(DISTINCT day), count(*) FROM agent_days").iloc[0].tolist() == [
        6,
        12,
    ]
    assert rolled_up(store, at(3)) == {"Billing": (2, 0, 1), "Triage": (2, 1, 2)}
    rates = assert_rollup_agrees(store)
    assert rates["runs"].sum() == 28 and rates["errors"].sum() == 21
    assert len(rates) == 14  # seven days, two agents


def test_a_late_span_for_a_summarised_day_is_counted(store: SpanStore) -> None:
    store.ingest(agent_run("late", "Triage", at(3, hours=20), failed=True, tool_fails=True))
    assert rolled_up(store, at(3))["Triage"] == (3, 2, 4)
    assert complete_until(store) == TODAY.date()
    assert_rollup_agrees(store)


def test_a_duplicate_batch_leaves_the_rollup_alone(store: SpanStore) -> None:
    before = store.query("SELECT * FROM agent_days ORDER BY ALL")
    assert store.ingest(workload()).spans == 0
    pd.testing.assert_frame_equal(store.query("SELECT * FROM agent_days ORDER BY ALL"), before)


def test_agent_names_filled_in_later_reach_the_rollup(store: SpanStore) -> None:
    # Foreign spans (plain OpenTelemetry) name no agent: a failing span from a host whose clock
    # is a few minutes behind starts before midnight, under a parent that starts after it and
    # arrives last. Filling the agent in changes the day before the new parent's day.
    agent = at(2, hours=23.9)
    midnight = at(1, hours=0)
    failing = span(
        "x", "x-fail", parent_id="x-step", span_type="function", name="lookup",
        status="error", error_type="E", started_at=iso(midnight - timedelta(minutes=1)),
        ended_at=iso(midnight),
    )  # fmt: skip
    store.ingest(
        [
            span(
                "x", "x-a", span_type="agent", name="Triage", agent_name="Triage",
                started_at=iso(agent), ended_at=iso(midnight + timedelta(minutes=9)),
            ),
            failing,
        ]
    )  # fmt: skip
    errors_before = rolled_up(store, at(2))["Triage"][2]
    store.ingest(
        [
            span(
                "x", "x-step", parent_id="x-a", span_type="custom", name="step",
                started_at=iso(midnight + timedelta(minutes=1)),
                ended_at=iso(midnight + timedelta(minutes=2)),
            )
        ]
    )  # fmt: skip
    assert rolled_up(store, at(2))["Triage"][2] == errors_before + 1
    assert_rollup_agrees(store)


def test_jsonl_files_old_and_malformed_keep_it_true(store: SpanStore, tmp_path: Path) -> None:
    clean = tmp_path / "old.jsonl"
    clean.write_text("".join(json.dumps(r) + "\n" for r in agent_run("j1", "Billing", at(5))))
    torn = tmp_path / "torn.jsonl"
    lines = [json.dumps(r) for r in agent_run("j2", "Billing", at(4), failed=True)]
    torn.write_text(lines[0] + "\n{not json\n" + lines[1] + "\n")
    report = store.ingest_jsonl([clean, torn])
    assert (report.spans, report.fast_files, report.malformed_count) == (4, 1, 1)
    assert rolled_up(store, at(5))["Billing"] == (3, 0, 1)
    assert rolled_up(store, at(4))["Billing"] == (3, 1, 2)
    assert_rollup_agrees(store)


def test_prune_rebuilds_it_from_what_is_left(store: SpanStore) -> None:
    # A trace that began before the cutoff loses its spans on later days too.
    store.ingest(
        [
            span(
                "long", "long-a", span_type="agent", name="Triage", agent_name="Triage",
                started_at=iso(at(4, hours=23)), ended_at=iso(at(1)),
            ),
            span(
                "long", "long-f", parent_id="long-a", span_type="function", agent_name="Triage",
                status="error", started_at=iso(at(2)), ended_at=iso(at(1)),
            ),
        ]
    )  # fmt: skip
    store.ingest([{"v": 1, "kind": "trace", "trace_id": "long", "started_at": iso(at(4, 23))}])
    assert rolled_up(store, at(2))["Triage"][2] == 3
    store.prune(at(3, hours=0))
    first_day = store.query("SELECT min(day) FROM agent_days").iloc[0, 0]
    assert pd.Timestamp(first_day).date() == at(3).date()
    assert rolled_up(store, at(2))["Triage"][2] == 2
    assert_rollup_agrees(store)


def test_a_new_day_is_summarised_by_the_next_write(
    store: SpanStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rolled_up(store, TODAY) == {}
    tomorrow = (TODAY + timedelta(days=1)).date()
    monkeypatch.setattr(store_rollup, "utc_today", lambda: tomorrow)
    store.ingest(agent_run("next", "Billing", TODAY + timedelta(days=1, hours=1)))
    assert complete_until(store) == tomorrow
    assert rolled_up(store, TODAY) == {"Billing": (2, 0, 1), "Triage": (2, 1, 2)}
    assert_rollup_agrees(store)


def test_the_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "reopen.duckdb"
    with SpanStore(path) as first:
        first.ingest(workload())
    with SpanStore(path) as second:
        second.ingest(agent_run("again", "Billing", at(6), failed=True))
        assert rolled_up(second, at(6))["Billing"] == (3, 1, 2)
        assert_rollup_agrees(second)


def test_a_store_from_before_the_rollup_gets_it_when_opened_read_write(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    with SpanStore(path) as store:
        store.ingest(workload())
        cursor = store._cursor
        for statement in (
            "DROP TABLE agent_days",
            "DROP TABLE latency_hours",
            "DROP TABLE span_hours",
            "DROP TABLE trace_counts",
            "DROP TABLE trace_agent_counts",
            "DROP TABLE trace_error_counts",
            "DROP TABLE span_quarters",
            "DROP TABLE slowest_spans",
            "DROP TABLE trace_costs",
            "DROP TABLE trace_cost_quarters",
            "DROP TABLE sessions",
            "DROP TABLE rollups",
            "DELETE FROM schema_version WHERE version >= 2",
        ):
            cursor.execute(statement)
    with SpanStore(path) as store:
        assert store.schema_version == 9
        assert len(store.query("SELECT * FROM agent_days")) == 12
        assert_rollup_agrees(store)
    assert [row["version"] for row in store_rows(path, "SELECT version FROM schema_version")] == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
    ]


def test_rebuild_after_writing_spans_with_ones_own_sql(store: SpanStore) -> None:
    store._cursor.execute("UPDATE spans SET status = 'error' WHERE span_type = 'agent'")
    with pytest.raises(AssertionError):
        assert_rollup_agrees(store)
    store.rebuild_rollups()
    assert rolled_up(store, at(3)) == {"Billing": (2, 2, 3), "Triage": (2, 2, 3)}
    assert_rollup_agrees(store)


def test_a_rollup_that_cannot_catch_up_does_not_fail_the_write(
    store: SpanStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store._cursor.execute("DROP TABLE agent_days")  # summarising a day now fails
    monkeypatch.setattr(store_rollup, "utc_today", lambda: (TODAY + timedelta(days=1)).date())
    with caplog.at_level("WARNING", logger="agentoscope.tracing"):
        result = store.ingest(agent_run("today", "Billing", TODAY + timedelta(hours=1)))
    assert result.spans == 2
    assert "could not bring the rollups up to date" in caplog.text
    assert store.query("SELECT count(*) FROM spans").iloc[0, 0] == 58
