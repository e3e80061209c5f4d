"""The session count of the sessions page (all time) reads the writer's `sessions` table: it
must equal the distinct group ids of the traces whatever was written (records after their
spans, a repeated record naming another session, JSONL files, a reopened store, rows written
with own SQL then rebuilt) and after a prune."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from agentoscope.dashboard import queries as q
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store import sessions as sessions_module
from support.store_spans import span, store_rows, trace_rec


def sessions_shown(store: SpanStore) -> int:
    return int(q.session_count(q.Window()).run(store).iloc[0, 0])


def sessions_in_traces(store: SpanStore) -> int:
    found = store.query("SELECT count(DISTINCT group_id) FROM traces")
    return int(found.iloc[0, 0])


def at(day: int) -> str:
    return f"2026-01-{day:02d}T00:00:00.000000+00:00"


@pytest.fixture
def store(tmp_path: Path) -> SpanStore:
    with SpanStore(tmp_path / "sessions.duckdb") as opened:
        yield opened


def test_the_count_follows_every_kind_of_write(store: SpanStore, tmp_path: Path) -> None:
    # Spans first: their trace row is inferred and has no session yet.
    store.ingest([span("t1", "s1", started_at=at(1), ended_at=at(1))])
    assert sessions_shown(store) == 0
    # The trace record arrives and names its session; two more traces share another one.
    store.ingest([trace_rec("t1", group_id="chat-a", started_at=at(1), ended_at=at(1))])
    store.ingest(
        [
            trace_rec("t2", group_id="chat-b", started_at=at(2), ended_at=at(2)),
            trace_rec("t3", group_id="chat-b", started_at=at(3), ended_at=at(3)),
            trace_rec("t4", started_at=at(3), ended_at=at(3)),  # in no session
        ]
    )
    assert sessions_shown(store) == 2 == sessions_in_traces(store)
    # A second record of a stored trace is ignored, and so is the session it names; a new
    # trace of a known session adds no row.
    store.ingest([trace_rec("t2", group_id="chat-z", started_at=at(2), ended_at=at(2))])
    store.ingest([trace_rec("t6", group_id="chat-a", started_at=at(6), ended_at=at(6))])
    assert sessions_shown(store) == 2 == sessions_in_traces(store)
    # A JSONL file writes through the same path (the clean file's and the line-by-line one's).
    path = tmp_path / "more.jsonl"
    path.write_text(
        json.dumps(trace_rec("t5", group_id="chat-c", started_at=at(5), ended_at=at(5))) + "\n"
    )
    store.ingest_jsonl(path)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        json.dumps(trace_rec("t7", group_id="chat-d", started_at=at(7), ended_at=at(7)))
        + "\n{not json\n"
        + json.dumps(trace_rec("t8", group_id="chat-c", started_at=at(8), ended_at=at(8)))
        + "\n"
    )
    store.ingest_jsonl(broken)
    assert sessions_shown(store) == 4 == sessions_in_traces(store)
    # A prune that deletes the only traces of chat-b drops that session; chat-a keeps a trace.
    store.prune(datetime(2026, 1, 4))
    assert sessions_shown(store) == 3 == sessions_in_traces(store)
    store.ingest([trace_rec("t9", group_id="chat-b", started_at=at(9), ended_at=at(9))])
    assert sessions_shown(store) == 4 == sessions_in_traces(store)


def test_a_reopened_store_knows_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "reopened.duckdb"
    with SpanStore(path) as store:
        store.ingest([trace_rec("t1", group_id="chat-a", started_at=at(1), ended_at=at(1))])
    with SpanStore(path) as store:  # a new writer loads the index from the table
        store.ingest(
            [
                trace_rec("t2", group_id="chat-a", started_at=at(2), ended_at=at(2)),
                trace_rec("t3", group_id="chat-b", started_at=at(3), ended_at=at(3)),
            ]
        )
        assert sessions_shown(store) == 2 == sessions_in_traces(store)
    assert store_rows(path, "SELECT count(*) AS n FROM sessions") == [{"n": 2}]


def test_a_rolled_back_write_leaves_no_session(store: SpanStore) -> None:
    store.ingest([trace_rec("t1", group_id="chat-a", started_at=at(1), ended_at=at(1))])
    bad = trace_rec("t2", group_id="chat-b", started_at=at(2), ended_at=at(2))
    with pytest.raises(Exception):  # noqa: B017 (any failure rolls the write back)
        store.write(store.prepare([bad]), None)  # type: ignore[arg-type]
    # chat-b's insert was rolled back: the index must not believe it stored.
    store.ingest([bad])
    assert sessions_shown(store) == 2 == sessions_in_traces(store)


def test_rows_written_with_own_sql_count_after_a_rebuild(store: SpanStore) -> None:
    store.ingest([trace_rec("t1", group_id="chat-a", started_at=at(1), ended_at=at(1))])
    cursor = store._cursor
    cursor.execute(
        "INSERT INTO traces (trace_id, group_id, started_at) "
        "SELECT 'bulk-' || i, 'bulk-' || (i % 5), TIMESTAMP '2026-01-02' FROM range(20) t(i)"
    )
    store.rebuild_rollups()
    assert sessions_shown(store) == 6 == sessions_in_traces(store)
    # The writer's index was built again too: a bulk session is known, a new one added.
    store.ingest(
        [
            trace_rec("t2", group_id="bulk-3", started_at=at(3), ended_at=at(3)),
            trace_rec("t3", group_id="chat-new", started_at=at(3), ended_at=at(3)),
        ]
    )
    assert sessions_shown(store) == 7 == sessions_in_traces(store)


def test_the_index_merges_its_recent_keys(
    store: SpanStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_module, "RECENT_MAX", 3)
    for batch in range(6):
        store.ingest(
            [trace_rec(f"t{batch}-{i}", group_id=f"chat-{(batch * 2 + i) % 9}") for i in range(4)]
        )
    assert sessions_shown(store) == 9 == sessions_in_traces(store)


def test_a_window_or_a_search_still_counts_traces(store: SpanStore) -> None:
    store.ingest(
        [
            trace_rec("t1", group_id="chat-a", started_at=at(1), ended_at=at(1)),
            trace_rec("t2", group_id="help-b", started_at=at(9), ended_at=at(9)),
        ]
    )
    assert int(q.session_count(q.Window(), "chat").run(store).iloc[0, 0]) == 1
    window = q.Window(start=datetime(2026, 1, 5))
    assert int(q.session_count(window).run(store).iloc[0, 0]) == 1
