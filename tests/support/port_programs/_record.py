"""Shared by the port programs: a trace processor that notes span types, written to $RECORD.

Written against `agents`, like the programs; the port test rewrites it too."""

import json
import os

from agents import OpenAIResponsesModel, TracingProcessor, set_trace_processors
from openai import AsyncOpenAI

PROVIDER_CALLS = {"web_search", "file_search", "code_interpreter", "image_generation"}


class SpanTypes(TracingProcessor):
    def __init__(self) -> None:
        self.types: list[str] = []
        self.traces: list[str] = []

    def on_trace_start(self, trace) -> None:
        self.traces.append(trace.trace_id)

    def on_trace_end(self, trace) -> None:
        pass

    def on_span_start(self, span) -> None:
        pass

    def on_span_end(self, span) -> None:
        data = span.span_data
        kind = f"custom:{data.name}" if data.type == "custom" else data.type
        if getattr(data, "source", None) in ("tool_input", "tool_output"):
            kind = f"guardrail:{data.source}"  # tool guardrails: traced by agentoscope only
        if data.type == "function" and data.name in PROVIDER_CALLS:
            kind = "function:provider"  # the provider's own tool calls: agentoscope only
        self.types.append(kind)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


def install() -> SpanTypes:
    recorder = SpanTypes()
    set_trace_processors([recorder])  # replaces any default exporter: nothing leaves the host
    return recorder


def save(recorder: SpanTypes, **outputs) -> None:
    with open(os.environ["RECORD"], "w") as f:
        json.dump({"span_types": recorder.types, "traces": len(set(recorder.traces)), **outputs}, f)


def client() -> AsyncOpenAI:
    """The client of the local OpenAI-speaking server the test started."""
    return AsyncOpenAI(base_url=os.environ["BASE_URL"], api_key="test-key")


def responses_model(openai_client: AsyncOpenAI) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(model="gpt-4o", openai_client=openai_client)
