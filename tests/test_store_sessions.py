"""The session count of the sessions page (all time) reads the writer's `sessions` table: it
must equal the distinct group ids of the traces whatever was written (records after their
spans, a repeated record naming another session, JSONL files) and after a prune."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from agentoscope.dashboard import queries as q
from agentoscope.tracing.store import SpanStore
from support.store_spans import span, trace_rec


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
    # A second record of a stored trace is ignored, and so is the session it names.
    store.ingest([trace_rec("t2", group_id="chat-z", started_at=at(2), ended_at=at(2))])
    assert sessions_shown(store) == 2 == sessions_in_traces(store)
    # A JSONL file writes through the same path.
    path = tmp_path / "more.jsonl"
    path.write_text(
        json.dumps(trace_rec("t5", group_id="chat-c", started_at=at(5), ended_at=at(5))) + "\n"
    )
    store.ingest_jsonl(path)
    assert sessions_shown(store) == 3 == sessions_in_traces(store)
    # A prune that deletes the only traces of chat-a and chat-b drops those sessions.
    store.prune(datetime(2026, 1, 4))
    assert sessions_shown(store) == 1 == sessions_in_traces(store)


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
