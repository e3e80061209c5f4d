"""Helpers for tests of OTLP export and `agentoscope serve`: free ports, a store service in this
process or in a subprocess, a processor that keeps records, and one trace with every span type."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from agentoscope import tracing
from agentoscope.tracing.serve.service import StoreService

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def running_service(store: Path, **options: Any) -> Iterator[StoreService]:
    """A started StoreService on free ports (HTTP and gRPC unless overridden)."""
    options.setdefault("http_port", 0)
    options.setdefault("grpc_port", 0)
    service = StoreService(store, **options).start()
    try:
        yield service
    finally:
        service.stop()


class RecordKeeper(tracing.BatchingProcessor):
    """Keeps every record it is given: what the other processors saw, to compare with."""

    def __init__(self) -> None:
        super().__init__(schedule_delay=0.05)
        self.records: list[dict[str, Any]] = []

    def export(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)


def every_span_type_records() -> list[dict[str, Any]]:
    """The records `make_every_span_type` makes, as every processor is given them."""
    keeper = RecordKeeper()
    tracing.set_trace_processors([keeper])
    try:
        make_every_span_type()
        tracing.flush_traces()
    finally:
        tracing.set_trace_processors([])
    return keeper.records


# The factories of every span type, each with content and the fields its mapping uses.
def make_every_span_type(workflow: str = "every type") -> str:
    """One trace with a span of every factory type (and an error); returns the trace id."""
    with tracing.trace(workflow, group_id="group_every", metadata={"tenant": "t1"}) as current:
        with tracing.agent_span(
            "Planner", handoffs=["Writer"], tools=["lookup"], output_type="Plan"
        ):
            with tracing.generation_span(
                input=[{"role": "user", "content": "plan a trip"}],
                output=[{"role": "assistant", "content": "sure"}],
                model="gpt-4o-mini",
                model_config={"temperature": 0.2, "max_tokens": 100},
                usage={
                    "input_tokens": 12,
                    "output_tokens": 7,
                    "input_tokens_details": {"cached_tokens": 2},
                    "output_tokens_details": {"reasoning_tokens": 3},
                },
            ):
                pass
            with tracing.response_span(
                response={
                    "id": "resp_123",
                    "model": "gpt-5",
                    "usage": {"input_tokens": 20, "output_tokens": 5, "total_tokens": 25},
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": "ok"}],
                        }
                    ],
                }
            ):
                pass
            with tracing.function_span(
                "lookup", input='{"city": "Paris"}', output="sunny", call_id="call_1"
            ):
                pass
            with tracing.function_span("broken_tool", input="{}") as failing:
                failing.set_error({"message": "tool exploded", "data": {"type": "ValueError"}})
            with tracing.guardrail_span("no_pii", triggered=True, source="input"):
                pass
            with tracing.handoff_span("Planner", "Writer"):
                pass
            with tracing.custom_span("cache lookup", {"hit": True, "keys": ["a", "b"]}):
                pass
            with tracing.mcp_tools_span("files", ["read", "write"]):
                pass
        with tracing.speech_group_span(input="read this aloud"):
            with tracing.transcription_span(model="whisper-1", output="hello there"):
                pass
            with tracing.speech_span(model="tts-1", input="hello there"):
                pass
    return current.trace_id


EVERY_FACTORY_TYPE = {
    "agent",
    "generation",
    "response",
    "function",
    "handoff",
    "guardrail",
    "custom",
    "mcp_tools",
    "transcription",
    "speech",
    "speech_group",
}


@contextmanager
def serve_subprocess(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`agentoscope serve ARGS` in a subprocess; stopped (SIGTERM, then kill) at the end."""
    command = [str(VENV_BIN / "agentoscope"), "serve", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(
    url: str, process: subprocess.Popen[str] | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    def healthy() -> Any:
        if process is not None and process.poll() is not None:
            output = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"serve exited {process.returncode}: {output}")
        try:
            response = httpx.get(f"{url}/health", timeout=1.0)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    return wait_until(healthy, timeout, f"{url}/health")
