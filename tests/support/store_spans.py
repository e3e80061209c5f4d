"""Store test helpers: a trace with every span type from our tracing core, and plain records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from agentoscope import tracing

EVERY_SPAN_TYPE = {
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
    "task",
    "turn",
}
# The trace below opens each type once, plus a second agent and a second (failing) tool call.
EVERY_SPAN_COUNT = len(EVERY_SPAN_TYPE) + 2


class FakeResponse:
    """What a Responses API result looks like to a response span: id, model, usage, output."""

    id = "resp_123"
    model = "gpt-4o-mini"
    output = [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}]
    usage = {
        "input_tokens": 11,
        "output_tokens": 7,
        "total_tokens": 18,
        "input_tokens_details": {"cached_tokens": 3},
        "output_tokens_details": {"reasoning_tokens": 2},
    }


def emit_every_span_type(workflow: str = "Every type") -> str:
    """Run one trace through the real factories that opens each span type once (plus a second
    agent after a handoff, and a failing tool). Returns the trace id."""
    with tracing.trace(workflow, group_id="session-1", metadata={"user": "u1"}) as current:
        with tracing.task_span("run"):
            with tracing.turn_span(1, "Triage"), tracing.agent_span("Triage", tools=["lookup"]):
                with tracing.guardrail_span("no_secrets", triggered=False, source="input"):
                    pass
                with tracing.generation_span(
                    input=[{"role": "user", "content": "where is my order?"}],
                    output=[{"role": "assistant", "content": "let me check"}],
                    model="gpt-4o",
                    usage={"input_tokens": 20, "output_tokens": 5},
                ):
                    pass
                with tracing.function_span("lookup", input='{"order": 42}', output="shipped"):
                    pass
                with tracing.function_span("refund", input="{}") as failing:
                    failing.set_error({"message": "not allowed", "data": {"type": "ValueError"}})
                with tracing.mcp_tools_span(server="files", result=["read", "write"]):
                    pass
                with tracing.handoff_span(from_agent="Triage", to_agent="Voice"):
                    pass
            with tracing.agent_span("Voice"):
                with tracing.response_span(FakeResponse()):
                    pass
                with tracing.speech_group_span(input="hello"):
                    with tracing.transcription_span(model="whisper-1", input="AAAA", output="hi"):
                        pass
                    with tracing.speech_span(model="tts-1", input="hello", output="BBBB"):
                        pass
                with tracing.custom_span("checkpoint", {"step": 3}):
                    pass
        return current.trace_id


def store_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of a closed store file, as dicts (a fresh read-only connection)."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        result = connection.execute(sql)
        names = [column[0] for column in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        connection.close()


def span(trace_id: str, span_id: str, **fields: Any) -> dict[str, Any]:
    """A span record with defaults for what a test does not care about."""
    record: dict[str, Any] = {
        "v": 1,
        "kind": "span",
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_id": None,
        "span_type": "custom",
        "name": span_id,
        "agent_name": None,
        "tool_name": None,
        "model": None,
        "started_at": "2026-01-01T00:00:00.000000+00:00",
        "ended_at": "2026-01-01T00:00:01.000000+00:00",
        "duration_ms": 1000.0,
        "status": "ok",
        "error_type": None,
        "error_message": None,
        "input_tokens": None,
        "output_tokens": None,
        "total_tokens": None,
        "cached_input_tokens": None,
        "reasoning_tokens": None,
        "data": {"type": "custom", "name": span_id, "data": {}},
        "error": None,
        "metadata": None,
    }
    record.update(fields)
    return record


def trace_rec(trace_id: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": 1,
        "kind": "trace",
        "trace_id": trace_id,
        "workflow_name": "wf",
        "group_id": None,
        "metadata": None,
        "started_at": "2026-01-01T00:00:00.000000+00:00",
        "ended_at": "2026-01-01T00:00:05.000000+00:00",
        "duration_ms": 5000.0,
    }
    record.update(fields)
    return record
