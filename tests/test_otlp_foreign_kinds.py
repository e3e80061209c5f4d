"""Foreign OpenInference and GenAI spans, sent by the real OpenTelemetry SDK exporter to a running
`serve`, land in DuckDB with sensible types: every model call (chat, embeddings, EMBEDDING) in the
token columns, retrievers and rerankers as tool calls under their name, evaluators as guardrails,
a root CHAIN as the run, and a handoff made as a tool call as a handoff."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from openinference.semconv.trace import OpenInferenceSpanKindValues as Kind
from openinference.semconv.trace import RerankerAttributes, SpanAttributes
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from support.serve import running_service

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
OP = "gen_ai.operation.name"

# (span name, attributes) -> (span_type, tool_name, model, input, output, total tokens)
OPENINFERENCE_CHILDREN: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    (
        "embed query",
        {
            KIND: Kind.EMBEDDING.value,
            SpanAttributes.EMBEDDING_MODEL_NAME: "text-embedding-3-small",
            SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 8,
            SpanAttributes.LLM_TOKEN_COUNT_TOTAL: 8,
        },
        ("generation", None, "text-embedding-3-small", 8, None, 8),
    ),
    (
        "vector search",
        {KIND: Kind.RETRIEVER.value},
        ("function", "vector search", None, None, None, None),
    ),
    (
        "rerank",
        {KIND: Kind.RERANKER.value, RerankerAttributes.RERANKER_MODEL_NAME: "rerank-v3"},
        ("function", "rerank", "rerank-v3", None, None, None),
    ),
    (
        "ChatCompletion",
        {
            KIND: Kind.LLM.value,
            SpanAttributes.LLM_MODEL_NAME: "gpt-4o",
            SpanAttributes.INPUT_VALUE: "Summarise the forecast",
            SpanAttributes.OUTPUT_VALUE: "Rain, then sun.",
            SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 100,
            SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: 20,
        },
        ("generation", None, "gpt-4o", 100, 20, 120),
    ),
    (
        "get_weather",
        {
            KIND: Kind.TOOL.value,
            SpanAttributes.TOOL_NAME: "get_weather",
            SpanAttributes.INPUT_VALUE: '{"city": "Lisbon"}',
            SpanAttributes.OUTPUT_VALUE: "18C, light rain",
        },
        ("function", "get_weather", None, None, None, None),
    ),
    ("lookup_order", {KIND: Kind.TOOL.value}, ("function", "lookup_order", None, None, None, None)),
    ("handoff to Writer", {KIND: Kind.TOOL.value}, ("handoff", None, None, None, None, None)),
    (
        "transfer_to_billing",
        {KIND: Kind.TOOL.value, SpanAttributes.TOOL_NAME: "transfer_to_billing"},
        ("handoff", None, None, None, None, None),
    ),
    ("pii check", {KIND: Kind.GUARDRAIL.value}, ("guardrail", None, None, None, None, None)),
    ("relevance", {KIND: Kind.EVALUATOR.value}, ("guardrail", None, None, None, None, None)),
    ("format answer", {KIND: Kind.CHAIN.value}, ("custom", None, None, None, None, None)),
]
GENAI_SPANS: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    (
        "embeddings text-embedding-3-large",
        {
            OP: "embeddings",
            "gen_ai.request.model": "text-embedding-3-large",
            "gen_ai.usage.input_tokens": 42,
        },
        ("generation", None, "text-embedding-3-large", 42, None, None),
    ),
    (
        "chat gpt-4o-mini",
        {
            OP: "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 7,
            "gen_ai.usage.output_tokens": 3,
        },
        ("generation", None, "gpt-4o-mini", 7, 3, 10),
    ),
    (
        "speech_to_text whisper-1",
        {OP: "speech_to_text", "gen_ai.request.model": "whisper-1", "gen_ai.usage.input_tokens": 5},
        ("transcription", None, "whisper-1", 5, None, None),
    ),
    (
        "execute_tool transfer_to_refunds",
        {
            OP: "execute_tool",
            "gen_ai.tool.name": "transfer_to_refunds",
            "gen_ai.agent.name": "Desk",
        },
        ("handoff", None, None, None, None, None),
    ),
]


def _value(found: Any) -> Any:
    return None if pd.isna(found) else found


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    store = tmp_path_factory.mktemp("foreign") / "store.duckdb"
    with running_service(store, grpc_port=None, decode_workers=0) as service:
        provider = TracerProvider(resource=Resource.create({"service.name": "rag-app"}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{service.http_url}/v1/traces"))
        )
        tracer = provider.get_tracer("rag.app")
        with tracer.start_as_current_span("rag pipeline", attributes={KIND: Kind.CHAIN.value}):
            with tracer.start_as_current_span(
                "Researcher", attributes={KIND: Kind.AGENT.value, SpanAttributes.AGENT_NAME: "R"}
            ):
                for name, attributes, _ in OPENINFERENCE_CHILDREN:
                    with tracer.start_as_current_span(name, attributes=attributes):
                        pass
        with tracer.start_as_current_span("genai app", attributes={OP: "invoke_workflow"}):
            for name, attributes, _ in GENAI_SPANS:
                with tracer.start_as_current_span(name, attributes=attributes):
                    pass
        provider.force_flush()
        provider.shutdown()
        return {
            "spans": service.query("SELECT * FROM spans"),
            "handoffs": service.query("SELECT * FROM handoffs ORDER BY to_agent"),
            "tool_calls": service.query(
                "SELECT tool_name, input, output FROM tool_calls ORDER BY tool_name"
            ),
            "generations": service.query(
                "SELECT model, input::VARCHAR AS input, output::VARCHAR AS output "
                "FROM generations ORDER BY model"
            ),
            "usage": service.query(
                "SELECT model, sum(input_tokens) AS input_tokens FROM token_usage GROUP BY model"
            ),
        }


@pytest.mark.parametrize(
    ("name", "expected"),
    [(name, expected) for name, _, expected in OPENINFERENCE_CHILDREN + GENAI_SPANS],
)
def test_foreign_span_lands_typed_with_tokens_and_tool_name(
    stored: dict[str, pd.DataFrame], name: str, expected: tuple[Any, ...]
) -> None:
    spans = stored["spans"].set_index("name")
    row = spans.loc[name]
    found = (
        row["span_type"],
        _value(row["tool_name"]),
        _value(row["model"]),
        _value(row["input_tokens"]),
        _value(row["output_tokens"]),
        _value(row["total_tokens"]),
    )
    assert found == expected


def test_roots_are_runs_and_agents_keep_their_name(stored: dict[str, pd.DataFrame]) -> None:
    spans = stored["spans"].set_index("name")
    assert spans.loc["rag pipeline"]["span_type"] == "task"
    assert spans.loc["genai app"]["span_type"] == "task"
    assert (spans.loc["Researcher"]["span_type"], spans.loc["Researcher"]["agent_name"]) == (
        "agent",
        "R",
    )


def test_handoffs_view_reads_both_ends(stored: dict[str, pd.DataFrame]) -> None:
    handoffs = stored["handoffs"]
    pairs = zip(handoffs["from_agent"], handoffs["to_agent"], strict=True)
    assert [(_value(source), target) for source, target in pairs] == [
        (None, "Writer"),
        (None, "billing"),
        ("Desk", "refunds"),
    ]


def test_every_model_call_counts_in_token_usage(stored: dict[str, pd.DataFrame]) -> None:
    usage = dict(zip(stored["usage"]["model"], stored["usage"]["input_tokens"], strict=True))
    assert usage == {
        "text-embedding-3-small": 8,
        "gpt-4o": 100,
        "text-embedding-3-large": 42,
        "gpt-4o-mini": 7,
        "whisper-1": 5,
    }
    assert "vector search" in set(stored["tool_calls"]["tool_name"])


def test_their_inputs_and_outputs_show_in_the_views(stored: dict[str, pd.DataFrame]) -> None:
    tools = stored["tool_calls"].set_index("tool_name")
    assert (tools.loc["get_weather"]["input"], tools.loc["get_weather"]["output"]) == (
        '{"city": "Lisbon"}',
        "18C, light rain",
    )
    generations = stored["generations"].set_index("model")
    assert json.loads(generations.loc["gpt-4o"]["input"]) == "Summarise the forecast"
    assert json.loads(generations.loc["gpt-4o"]["output"]) == "Rain, then sun."
    # Nothing captured, nothing made up.
    assert _value(generations.loc["gpt-4o-mini"]["input"]) is None


def test_the_core_kind_table_names_openinference_kinds() -> None:
    """The core's OpenInference table (the ClickHouse view's too) uses the package's kinds."""
    from openinference.semconv.trace import OpenInferenceSpanKindValues

    from agentoscope.tracing.schema import FOREIGN_TYPE_FROM_OI_KIND

    known = {kind.value for kind in OpenInferenceSpanKindValues}
    assert set(FOREIGN_TYPE_FROM_OI_KIND) <= known
    assert FOREIGN_TYPE_FROM_OI_KIND["EMBEDDING"] == "generation"
