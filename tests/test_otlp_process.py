"""Our OTLP exporter runs in a child process: spans reach the endpoint from there, a killed child
fails only the batches it held (the next batch starts a new one), a killed parent leaves no child
behind (a forked copy of the parent included), a fork sends through a child of its own, and a
user-supplied exporter (or `in_process=True`) stays in the agent's process. Real processes, real
sockets."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentoscope import tracing
from agentoscope.tracing import OTLPProcessor
from support.otlp_sink import otlp_sink
from support.serve import wait_until


@dataclass
class GatedEndpoint:
    """An OTLP/HTTP endpoint that answers 200 only once `gate` is set: a batch sent before that
    is in flight (its request read, its answer pending) for as long as the test wants."""

    url: str
    gate: threading.Event
    requests: list[int] = field(default_factory=list)


@contextmanager
def gated_endpoint() -> Iterator[GatedEndpoint]:
    gate = threading.Event()
    requests: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append(1)
            gate.wait()
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender was killed meanwhile

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield GatedEndpoint(
            f"http://127.0.0.1:{server.server_address[1]}/v1/traces", gate, requests
        )
    finally:
        gate.set()
        server.shutdown()
        server.server_close()


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet (it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _make(spans: int, name: str = "sent") -> int:
    with tracing.trace(name):
        for index in range(spans):
            with tracing.custom_span("step", {"i": index}):
                pass
    return spans + 1


def _adds_up(stats: dict[str, int]) -> bool:
    parts = stats["exported"] + stats["dropped"] + stats["failed"] + stats["queued"]
    return stats["created"] == parts


def test_spans_are_sent_from_a_child_process_that_exits_at_shutdown() -> None:
    with otlp_sink() as sink:
        processor = OTLPProcessor(sink.endpoint, schedule_delay=0.05)
        assert processor.in_process is False
        sender = processor.exporter.process
        assert sender is not None and sender.pid is not None and sender.pid != os.getpid()
        pid = sender.pid  # started at set-up
        tracing.set_trace_processors([processor])
        made = _make(300)
        processor.shutdown()
        assert len(sink.spans) == made
        assert {span.name for span in sink.spans} == {"invoke_workflow sent", "step"}
    stats = processor.stats()
    assert stats["exported"] == made and stats["failed"] == 0 and stats["sender_processes"] == 1
    # No thread of this process sent anything; the child is gone once shut down.
    assert not [t for t in threading.enumerate() if t.name.startswith("agentoscope-OTLP-send")]
    assert _gone(pid)


def test_a_killed_sender_process_fails_its_batches_and_the_next_batch_starts_a_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with gated_endpoint() as endpoint:
        processor = OTLPProcessor(endpoint.url, timeout=30, max_batch_size=10, schedule_delay=0.01)
        sender = processor.exporter.process
        assert sender is not None and sender.pid is not None
        first = sender.pid
        tracing.set_trace_processors([processor])
        with caplog.at_level(logging.WARNING, logger="agentoscope.tracing"):
            made = _make(9, "held")  # one batch of 10, held by the endpoint
            wait_until(lambda: endpoint.requests, 20, "the first batch to reach the endpoint")
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: processor.stats()["failed"] == made, 20, "the batch to fail")
            assert "the OTLP sender process exited" in caplog.text
            assert _adds_up(processor.stats())
            endpoint.gate.set()
            made += _make(9, "after")
            assert processor.force_flush(timeout=30)
        stats = processor.stats()
        assert stats["exported"] == 10 and stats["failed"] == 10 and _adds_up(stats)
        assert stats["sender_processes"] == 2 and sender.pid not in (None, first)
        assert "started a new OTLP sender process" in caplog.text
        processor.shutdown()


_PARENT = """
import os, sys, time
from agentoscope import tracing
from agentoscope.tracing import OTLPProcessor

processor = OTLPProcessor(sys.argv[1], timeout=60, max_batch_size=10, schedule_delay=0.01)
tracing.set_trace_processors([processor])
with tracing.trace("held"):
    for _ in range(9):
        with tracing.custom_span("step"):
            pass
forked = os.fork()  # a copy of this process that outlives it
if forked == 0:
    time.sleep(60)
    os._exit(0)
print(processor.exporter.process.pid, forked, flush=True)
time.sleep(60)
"""


def test_a_killed_parent_leaves_no_sender_process_even_with_a_forked_copy_alive() -> None:
    with gated_endpoint() as endpoint:
        parent = subprocess.Popen(
            [sys.executable, "-c", _PARENT, endpoint.url], stdout=subprocess.PIPE, text=True
        )
        forked = 0
        try:
            assert parent.stdout is not None
            sender, forked = (int(pid) for pid in parent.stdout.readline().split())
            wait_until(lambda: endpoint.requests, 20, "a batch to be in flight")
            parent.kill()  # kill -9: nothing of the parent runs
            parent.wait()
            # Its sender sees end of file and exits, well before the batch's 60 s timeout,
            # although the forked copy still runs.
            wait_until(lambda: _gone(sender), 15, "the sender process to exit")
            assert not _gone(forked)
        finally:
            parent.kill()
            if forked:
                os.kill(forked, signal.SIGKILL)


_FORKING = """
import json, os, sys
from agentoscope import tracing
from agentoscope.tracing import OTLPProcessor

processor = OTLPProcessor(sys.argv[1], schedule_delay=0.01)
tracing.set_trace_processors([processor])
parents = processor.exporter.process.pid
forked = os.fork()
if forked == 0:
    with tracing.trace("in the fork"):
        for _ in range(20):
            with tracing.custom_span("step"):
                pass
    processor.force_flush()
    own = processor.exporter.process.pid
    stats = processor.stats()
    processor.shutdown()
    print(json.dumps({"parents": parents, "own": own, "stats": stats}), flush=True)
    os._exit(0)
os.waitpid(forked, 0)
processor.shutdown()
"""


def test_a_forked_process_sends_through_a_sender_process_of_its_own() -> None:
    with otlp_sink() as sink:
        done = subprocess.run(
            [sys.executable, "-c", _FORKING, sink.endpoint],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["own"] not in (None, report["parents"])
        assert report["stats"]["exported"] == 21 and report["stats"]["failed"] == 0
        assert len(sink.spans) == 21


def test_a_user_exporter_and_in_process_true_send_from_this_process() -> None:
    memory = InMemorySpanExporter()
    own = OTLPProcessor(exporter=memory, schedule_delay=0.01)
    assert own.in_process is True and own.exporter.process is None
    with otlp_sink() as sink:
        here = OTLPProcessor(sink.endpoint, in_process=True, schedule_delay=0.01)
        assert here.in_process is True and here.exporter.process is None
        tracing.set_trace_processors([own, here])
        made = _make(5)
        own.shutdown()
        here.shutdown()
        assert len(sink.spans) == made
    assert len(memory.get_finished_spans()) == made
    assert "sender_processes" not in here.stats()


def test_a_record_the_child_cannot_map_fails_alone_and_the_rest_of_its_batch_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from agentoscope.tracing.processors.batching import sample_records
    from agentoscope.tracing.processors.otlp_process import PartlyExported

    good = sample_records()
    bad = {**good[0], "span_id": "span_" + "1" * 24, "started_at": "not a time"}
    with otlp_sink() as sink:
        processor = OTLPProcessor(sink.endpoint, schedule_delay=0.01)
        outcome = processor.exporter.export([good[0], bad, good[1]])
        error = outcome.exception(timeout=30)
        assert isinstance(error, PartlyExported) and error.records_lost == 1
        assert "1 of 3 records could not be mapped" in str(error)
        assert "record 1 of the batch: ValueError" in str(error)
        wait_until(lambda: len(sink.spans) == 2, 20, "the two good records to arrive")
        # Counted as the processor counts a batch: one failed, the rest exported.
        with caplog.at_level(logging.ERROR, logger="agentoscope.tracing"):
            processor._export_batch([good[0], bad, good[1]], processor.exporter.export)
            processor._settle(wait=True)
        assert processor.stats()["failed"] == 1 and processor.stats()["exported"] == 2
        assert "export of 1 of 3 records failed" in caplog.text
        processor.shutdown()
