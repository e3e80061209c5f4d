"""The store writer of `serve`: requests announced while they decode are committed together with
the ones already queued, nothing waits for requests that are not coming, and a transaction that
takes records from anywhere but the OTLP decoder checks every record."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from typing import Any

import pytest

from agentoscope.tracing.serve.writer import StoreWriter
from agentoscope.tracing.store.ingest import IngestResult, PreparedBatch


class FakeStore:
    """Records each `ingest` call: (span ids, validate)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []

    def ingest(self, records: list[dict[str, Any]], *, validate: bool = True) -> Any:
        self.calls.append(([record["span_id"] for record in records], validate))
        return None


def _records(*ids: str) -> list[dict[str, Any]]:
    return [{"v": 1, "kind": "span", "trace_id": "trace_1", "span_id": i} for i in ids]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def test_announced_requests_share_one_commit(store: FakeStore) -> None:
    writer = StoreWriter(store, max_wait_for_announced=10.0)
    try:
        with ExitStack() as first, ExitStack() as second:
            first.enter_context(writer.incoming())
            second.enter_context(writer.incoming())
            done_first = writer.submit(_records("a"), validate=False)
            first.close()
            time.sleep(0.1)  # the writer has the first job and waits for the second
            assert not done_first.done()
            done_second = writer.submit(_records("b"), validate=False)
        done_first.result(5)
        done_second.result(5)
    finally:
        writer.stop()
    assert store.calls == [(["a", "b"], False)]


def test_nothing_announced_means_no_wait(store: FakeStore) -> None:
    writer = StoreWriter(store, max_wait_for_announced=30.0)
    try:
        # Were it waiting for announced requests, the result would take the writer's 30 s.
        writer.submit(_records("a")).result(5)
    finally:
        writer.stop()


def test_a_request_that_fails_to_decode_does_not_hold_the_others(store: FakeStore) -> None:
    writer = StoreWriter(store, max_wait_for_announced=30.0)
    announced, failed = threading.Event(), threading.Event()

    def failing_request() -> None:
        try:
            with writer.incoming():
                announced.set()
                failed.wait(5)
                raise ValueError("not OTLP")
        except ValueError:
            pass

    thread = threading.Thread(target=failing_request)
    thread.start()
    try:
        announced.wait(5)
        done = writer.submit(_records("a"), validate=False)
        time.sleep(0.1)
        assert not done.done()  # waiting for the announced request
        failed.set()
        done.result(5)  # released by the failure, not by the writer's 30 s wait
    finally:
        thread.join()
        writer.stop()
    assert store.calls == [(["a"], False)]


def test_a_commit_with_records_to_check_checks_all(store: FakeStore) -> None:
    writer = StoreWriter(store, max_wait_for_announced=10.0)
    try:
        with ExitStack() as announced:
            announced.enter_context(writer.incoming())
            decoded = writer.submit(_records("a"), validate=False)
            time.sleep(0.1)
            spooled = writer.submit(_records("b"))  # e.g. from a JSONL spool file
            announced.close()
        decoded.result(5)
        spooled.result(5)
    finally:
        writer.stop()
    assert store.calls == [(["a", "b"], True)]


def _commit_two_together(writer: StoreWriter) -> None:
    with ExitStack() as both:
        both.enter_context(writer.incoming())
        first = writer.submit(_records("a"), validate=False)
        second = writer.submit(_records("b"), validate=False)
    first.result(5)
    second.result(5)


def test_after_a_shared_commit_the_writer_lingers_for_the_next_round(store: FakeStore) -> None:
    writer = StoreWriter(store, max_wait_for_announced=30.0, linger=30.0)
    try:
        _commit_two_together(writer)
        alone = writer.submit(_records("c"), validate=False)
        time.sleep(0.1)
        assert not alone.done()  # its round's other sender is probably on its way
        other = writer.submit(_records("d"), validate=False)
        alone.result(5)
        other.result(5)
    finally:
        writer.stop()
    assert store.calls == [(["a", "b"], False), (["c", "d"], False)]


def test_a_single_sender_never_waits(store: FakeStore) -> None:
    writer = StoreWriter(store, max_wait_for_announced=30.0, linger=30.0)
    try:
        for span_id in "abc":  # each would take the writer's 30 s linger were it waiting
            writer.submit(_records(span_id), validate=False).result(5)
    finally:
        writer.stop()
    assert [ids for ids, _ in store.calls] == [["a"], ["b"], ["c"]]


class FakePreparingStore(FakeStore):
    """Also records each `write` call (the span counts of its prepared batches, which the
    writer combines into one when it can); a batch with `rejected` set fails its transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[list[int]] = []

    def write(self, *prepared: PreparedBatch) -> IngestResult:
        self.writes.append([batch.span_count for batch in prepared])
        if any(batch.rejected for batch in prepared):
            raise RuntimeError("the store refused it")
        spans = sum(batch.span_count for batch in prepared)
        return IngestResult(spans=spans, duplicates=sum(batch.repeated for batch in prepared))


def _prepared(spans: int, repeated: int = 0, fails: bool = False) -> PreparedBatch:
    return PreparedBatch(None, None, None, None, spans, 0, repeated, int(fails))


def test_prepared_batches_share_one_write_and_a_failing_one_is_isolated() -> None:
    store = FakePreparingStore()
    writer = StoreWriter(store, max_wait_for_announced=10.0)
    try:
        with ExitStack() as announced:
            announced.enter_context(writer.incoming())
            first = writer.submit_prepared(_prepared(3, repeated=1))
            spooled = writer.submit(_records("s"))  # records: through `ingest`, as before
            second = writer.submit_prepared(_prepared(2))
        assert first.result(5) == second.result(5) == IngestResult(spans=5, duplicates=1)
        spooled.result(5)
        with ExitStack() as announced:
            announced.enter_context(writer.incoming())
            good = writer.submit_prepared(_prepared(4))
            bad = writer.submit_prepared(_prepared(1, fails=True))
        assert good.result(5) == IngestResult(spans=4)
        with pytest.raises(RuntimeError, match="refused"):
            bad.result(5)
    finally:
        writer.stop()
    assert store.calls == [(["s"], True)]
    assert store.writes == [[5], [5], [4], [1]]
    assert writer.counts == {
        "records": 1 + (4 + 2) + 4,
        "spans": 5 + 4,
        "traces": 0,
        "duplicates": 1,
        "commits": 3,
        "failed_jobs": 1,
    }


class FakeThreadedStore(FakeStore):
    """Also has DuckDB's threads setting; records it at each ingest."""

    def __init__(self) -> None:
        super().__init__()
        self.setting = 4
        self.seen: list[int] = []

    def threads(self, count: int | None = None) -> int:
        if count is not None:
            self.setting = count
        return self.setting

    def ingest(self, records: list[dict[str, Any]], *, validate: bool = True) -> Any:
        self.seen.append(self.setting)
        return super().ingest(records, validate=validate)


def test_duckdb_runs_on_the_write_threads_while_busy_and_gets_them_back() -> None:
    store = FakeThreadedStore()
    writer = StoreWriter(store, write_threads=1)
    try:
        writer.submit(_records("a")).result(5)
        writer.submit(_records("b")).result(5)
        assert store.setting == 1  # still busy, for all it knows
    finally:
        writer.stop()
    assert store.seen == [1, 1]
    assert store.setting == 4
