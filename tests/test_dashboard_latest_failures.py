"""The errors page's latest failures find their window from span_quarters (failed spans per
quarter hour) and the failures after its complete_until (from spans): the window must be the
newest quarter from which they hold the `need` newest, and the rows those of the unwindowed
recent_errors query, with failures in the tail, in the rollup, and fewer than need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentoscope.dashboard import queries as q
from agentoscope.dashboard import reads
from agentoscope.tracing.store import SpanStore
from support.store_spans import span

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat() + "+00:00"


def runner(reader: Any) -> reads.Runner:
    return lambda sql: sql.run(reader)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SpanStore:
    path: Path = tmp_path_factory.mktemp("failures") / "failures.duckdb"
    records = []
    # A span every 7 minutes over the last 30 hours, every third failing (failures in the tail
    # after complete_until and in many rolled-up quarters), and one old failure 20 days ago.
    for k in range(260):
        moment = NOW - timedelta(minutes=7 * k, seconds=k % 5)
        failed = k % 3 == 0
        records.append(
            span(
                f"t{k}",
                f"s{k}",
                started_at=iso(moment),
                ended_at=iso(moment + timedelta(seconds=1)),
                status="error" if failed else "ok",
                error_type="Boom" if failed else None,
            )
        )
    old = NOW - timedelta(days=20)
    records.append(
        span("old", "old", started_at=iso(old), ended_at=iso(old), status="error", error_type="X")
    )
    with SpanStore(path) as opened:
        opened.ingest(records)
        yield opened


def quarter_of(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


@pytest.mark.parametrize("need", [1, 3, 5, 20, 60, 87, 88, 200])
@pytest.mark.parametrize("window", [q.Window(), q.Window(start=NOW - timedelta(hours=10))])
def test_the_window_and_the_rows(store: SpanStore, need: int, window: q.Window) -> None:
    run = runner(store)
    complete_until = store.query(
        "SELECT complete_until FROM rollups WHERE name = 'span_quarters'"
    ).iloc[0, 0]
    failures = store.query(
        "SELECT started_at FROM spans WHERE status = 'error' AND started_at >= ? "
        "ORDER BY started_at DESC",
        [window.start or datetime.min],
    )["started_at"].tolist()
    assert any(moment >= complete_until for moment in failures)  # a tail there
    since = reads.failure_since(run, window, need)
    if len(failures) < need:
        assert since is None
    else:
        nth = failures[need - 1].to_pydatetime()
        expected = complete_until if nth >= complete_until else quarter_of(nth)
        if window.start is not None and expected <= window.start:
            expected = None
        assert since == expected
    shown = reads.latest_failures(run, window, need)
    everything = q.named("recent_errors", **q.window_params(window), limit=need).run(store)
    assert shown.to_dict("records") == everything.to_dict("records")
    assert len(shown) == min(need, len(failures))
