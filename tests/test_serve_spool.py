"""`serve --spool DIR`: JSONL files that agent processes write (rotated or still growing) go into
the store, each record once, across restarts; malformed lines are skipped and counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentoscope import tracing
from agentoscope.tracing.processors.jsonl import JSONLProcessor
from support.serve import RecordKeeper, running_service, wait_until


def _counts(service: Any) -> tuple[int, int]:
    frame = service.query("SELECT count(*) AS n, count(DISTINCT span_id) AS d FROM spans")
    return int(frame["n"][0]), int(frame["d"][0])


def _write_traces(count: int, spans: int) -> None:
    for index in range(count):
        with tracing.trace(f"spooled {index}"):
            for step in range(spans):
                with tracing.function_span(f"step_{step}", input="{}", output="x" * 50):
                    pass
        tracing.flush_traces()  # one batch per trace: the file rotates between batches


def test_rotated_spool_files_are_ingested_once_across_restarts(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    writer = JSONLProcessor(f"{spool}/", max_bytes=4_000, schedule_delay=0.05)
    keeper = RecordKeeper()
    tracing.set_trace_processors([writer, keeper])
    _write_traces(6, 8)
    assert len(list(spool.glob("*.jsonl"))) >= 3  # rotated files, plus the live one
    expected_spans = sum(1 for r in keeper.records if r["kind"] == "span")

    store = tmp_path / "store.duckdb"
    with running_service(
        store, http_port=None, grpc_port=None, spool=spool, spool_interval=0.05
    ) as service:
        wait_until(lambda: _counts(service)[0] == expected_spans, 20, "spooled spans")
        # More lines into the live file, read from where the last pass stopped, while it is
        # rotated (renamed) under the reader: a renamed file keeps its progress.
        files_before = len(list(spool.glob("*.jsonl")))
        _write_traces(4, 3)
        assert len(list(spool.glob("*.jsonl"))) > files_before
        expected_spans += 12
        wait_until(lambda: _counts(service)[0] == expected_spans, 20, "appended spans")
        assert service.spool is not None and service.spool.counts["malformed_lines"] == 0
        assert service.health()["ingest"]["duplicates"] == 0  # no line was read twice

    with running_service(
        store, http_port=None, grpc_port=None, spool=spool, spool_interval=0.05
    ) as service:
        assert service.spool is not None
        assert service.spool.scan_once() == 0  # nothing read twice after a restart
        assert service.spool.counts["records"] == 0
        assert _counts(service) == (expected_spans, expected_spans)
        assert service.health()["ingest"]["duplicates"] == 0
        traces = service.query("SELECT count(*) AS n FROM traces")["n"][0]
    assert traces == 10


def test_growing_file_is_read_up_to_its_last_complete_line(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    keeper = RecordKeeper()
    tracing.set_trace_processors([keeper])
    _write_traces(1, 3)
    lines = [json.dumps(record) for record in keeper.records if record["kind"] == "span"]
    live = spool / "agent.jsonl"
    live.write_text(lines[0] + "\n" + "{not json}\n" + lines[1] + "\n" + lines[2][:25])

    with running_service(
        tmp_path / "store.duckdb", http_port=None, grpc_port=None, spool=spool
    ) as service:
        assert service.spool is not None
        service.spool.scan_once()
        assert _counts(service)[0] == 2
        assert service.spool.counts["malformed_lines"] == 1
        assert service.spool.last_malformed[0].startswith(f"{live}:2: invalid JSON")
        with live.open("a") as handle:  # the writer finishes its line
            handle.write(lines[2][25:] + "\n")
        service.spool.scan_once()
        assert _counts(service) == (3, 3)
        assert service.spool.counts["malformed_lines"] == 1  # not reported again
