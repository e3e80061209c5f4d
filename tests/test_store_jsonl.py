"""JSONL files into the store: malformed lines reported as file:line and counted, good lines kept,
re-ingest adds nothing, directories, and the fast and line-by-line paths agreeing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agentoscope.tracing.schema import MalformedLine
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.jsonl import FAST_PATH_MAX_LINE_BYTES
from support.store_spans import span, store_rows, trace_rec


def _write(path: Path, lines: list[bytes | dict]) -> Path:
    with open(path, "wb") as handle:
        for line in lines:
            handle.write(line if isinstance(line, bytes) else orjson.dumps(line) + b"\n")
    return path


def _good_records(trace_id: str = "t1", count: int = 3) -> list[dict]:
    return [trace_rec(trace_id)] + [span(trace_id, f"{trace_id}-s{n}") for n in range(count)]


def test_malformed_lines_are_reported_with_file_and_line_and_good_lines_kept(
    tmp_path: Path,
) -> None:
    good = _good_records()
    source = _write(
        tmp_path / "mixed.jsonl",
        [
            good[0],
            b"{not json\n",  # line 2
            good[1],
            b'{"v": 1, "kind": "span", "trace_id": "t1"}\n',  # line 4: no span_id
            b"\n",  # blank lines are not records and not errors
            good[2],
            b'{"v": 1, "kind": "metric", "trace_id": "t1"}\n',  # line 7
            b'{"v": 99, "kind": "span", "trace_id": "t1", "span_id": "x"}\n',  # line 8
            b"[1, 2]\n",  # line 9
            good[3],
        ],
    )
    seen: list[MalformedLine] = []
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        report = store.ingest_jsonl(source, on_malformed=seen.append)
    assert (report.spans, report.traces, report.malformed_count) == (3, 1, 5)
    assert report.fast_files == 0  # the file had bad lines: read line by line
    assert [(m.line, m.path) for m in report.malformed] == [
        (n, str(source)) for n in (2, 4, 7, 8, 9)
    ]
    assert seen == report.malformed
    assert str(report.malformed[0]).startswith(f"{source}:2: invalid JSON")
    assert "missing 'span_id'" in report.malformed[1].reason
    assert "unknown record kind 'metric'" in report.malformed[2].reason
    assert "newer than this reader" in report.malformed[3].reason
    assert "5 malformed lines" in str(report)
    ids = {r["span_id"] for r in store_rows(path, "SELECT span_id FROM spans")}
    assert ids == {"t1-s0", "t1-s1", "t1-s2"}


def test_a_torn_last_line_is_skipped_quietly(tmp_path: Path) -> None:
    good = _good_records()
    source = _write(tmp_path / "torn.jsonl", [*good, b'{"v": 1, "kind": "sp'])
    with SpanStore(tmp_path / "s.duckdb") as store:
        report = store.ingest_jsonl(source)
    assert (report.spans, report.traces, report.malformed_count) == (3, 1, 0)


def test_wrong_types_in_a_field_send_the_file_line_by_line(tmp_path: Path) -> None:
    """DuckDB's reader refuses a file with `"input_tokens": "many"`; the line reader keeps the
    record and stores what it can."""
    odd = span("t1", "odd", input_tokens="many")
    source = _write(tmp_path / "odd.jsonl", [*_good_records(), odd])
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        report = store.ingest_jsonl(source)
    assert (report.spans, report.malformed_count, report.fast_files) == (4, 0, 0)
    (row,) = store_rows(path, "SELECT input_tokens FROM spans WHERE span_id = 'odd'")
    assert row["input_tokens"] is None


def test_staging_puts_the_insertion_order_setting_back(tmp_path: Path) -> None:
    """The fast path stages rows in parse order (a database-wide setting): after a file it
    took and after one it refused, the setting is as it was."""
    clean = _write(tmp_path / "clean.jsonl", _good_records())
    refused = _write(tmp_path / "odd.jsonl", [span("t2", "odd", input_tokens="many")])
    with SpanStore(tmp_path / "s.duckdb") as store:
        for source, fast in ((clean, 1), (refused, 0)):
            assert store.ingest_jsonl(source).fast_files == fast
            setting = "SELECT current_setting('preserve_insertion_order') AS kept"
            assert bool(store.query(setting).iloc[0, 0]) is True


def test_a_line_longer_than_the_reader_buffer_is_stored_whole(tmp_path: Path) -> None:
    """DuckDB reads in buffers of FAST_PATH_MAX_LINE_BYTES (so it can parse a file in
    parallel); a longer record is still stored whole, by whichever path takes it."""
    text = "x" * (FAST_PATH_MAX_LINE_BYTES + 1024)
    big = span("t1", "big", span_type="function", data={"type": "function", "output": text})
    source = _write(tmp_path / "big.jsonl", [*_good_records(), big])
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        report = store.ingest_jsonl(source)
    assert (report.spans, report.traces, report.malformed_count) == (4, 1, 0)
    (row,) = store_rows(
        path, "SELECT length(data->>'output') AS n FROM spans WHERE span_id = 'big'"
    )
    assert row["n"] == len(text)


def test_reingesting_files_adds_no_duplicates(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.jsonl", _good_records("t1"))
    second = _write(tmp_path / "b.jsonl", [*_good_records("t1"), *_good_records("t2")])
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        one = store.ingest_jsonl(first)
        two = store.ingest_jsonl([first, second])
    assert (one.spans, one.traces, one.duplicates) == (3, 1, 0)
    assert (two.files, two.spans, two.traces, two.duplicates) == (2, 3, 1, 8)
    counts = store_rows(
        path, "SELECT (SELECT count(*) FROM spans) s, (SELECT count(*) FROM traces) t"
    )
    assert counts == [{"s": 6, "t": 2}]


def test_a_file_repeating_records_stores_them_once(tmp_path: Path) -> None:
    source = _write(tmp_path / "twice.jsonl", _good_records() * 2)
    with SpanStore(tmp_path / "s.duckdb") as store:
        report = store.ingest_jsonl(source)
    assert (report.spans, report.traces, report.duplicates, report.fast_files) == (3, 1, 4, 1)


def test_a_directory_means_its_jsonl_files(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    _write(spool / "one.jsonl", _good_records("t1"))
    _write(spool / "two.jsonl", _good_records("t2"))
    (spool / "notes.txt").write_text("not a record file")
    with SpanStore(tmp_path / "s.duckdb") as store:
        report = store.ingest_jsonl(spool)
    assert (report.files, report.spans, report.traces) == (2, 6, 2)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store, pytest.raises(FileNotFoundError, match="nope"):
        store.ingest_jsonl(tmp_path / "nope.jsonl")


def test_fast_and_line_by_line_paths_store_the_same_rows(tmp_path: Path) -> None:
    records = [
        trace_rec("t1", workflow_name="Flow", metadata={"k": "v"}),
        span(
            "t1",
            "root",
            span_type="agent",
            name="Planner",
            started_at="2026-01-01T01:00:00.000001+00:00",
            ended_at="2026-01-01T01:00:09+00:00",
            duration_ms=8999.999,
        ),
        span(
            "t1",
            "child",
            parent_id="root",
            span_type="generation",
            model="m",
            input_tokens=3,
            output_tokens=4,
            total_tokens=7,
            data={"type": "generation", "input": [{"role": "user", "content": "ünïcode ✓"}]},
            error={"message": "x", "data": None},
            status="error",
            error_type="x",
        ),
    ]
    clean = _write(tmp_path / "clean.jsonl", records)
    dirty = _write(tmp_path / "dirty.jsonl", [*records, b"garbage\n"])
    fast, slow = tmp_path / "fast.duckdb", tmp_path / "slow.duckdb"
    with SpanStore(fast) as store:
        assert store.ingest_jsonl(clean).fast_files == 1
    with SpanStore(slow) as store:
        assert store.ingest_jsonl(dirty).fast_files == 0
    for table in ("spans", "traces"):
        query = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert store_rows(fast, query) == store_rows(slow, query)
    rows = {r["span_id"]: r for r in store_rows(fast, "SELECT * FROM spans")}
    assert rows["child"]["agent_name"] == "Planner"  # filled from its parent in the file
    assert "ünïcode ✓" in rows["child"]["data"]


def test_times_in_other_offsets_take_the_fast_path_and_land_as_utc(tmp_path: Path) -> None:
    records = [
        span(
            "t1",
            "zoned",
            started_at="2026-01-01T12:00:00+02:00",
            ended_at="2026-01-01T12:00:01+02:00",
        ),
        span("t1", "zulu", started_at="2026-01-01T09:00:00.5Z", ended_at="2026-01-01T09:00:01Z"),
        span("t1", "naive", started_at="2026-01-01T09:30:00", ended_at="2026-01-01T09:30:01"),
    ]
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        assert store.ingest_jsonl(_write(tmp_path / "zones.jsonl", records)).fast_files == 1
    rows = store_rows(path, "SELECT span_id, started_at, ended_at FROM spans ORDER BY span_id")
    assert [(r["span_id"], str(r["started_at"]), str(r["ended_at"])) for r in rows] == [
        ("naive", "2026-01-01 09:30:00", "2026-01-01 09:30:01"),
        ("zoned", "2026-01-01 10:00:00", "2026-01-01 10:00:01"),
        ("zulu", "2026-01-01 09:00:00.500000", "2026-01-01 09:00:01"),
    ]
