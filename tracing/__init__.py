"""Agentoscope tracing: traces and spans compatible with the OpenAI Agents SDK, processors that
fan out to the console, JSONL, OTLP and a DuckDB store, and SQL over the store.

Importing this package is light: DuckDB, pyarrow and OpenTelemetry load only when the store or
OTLP processors are used.
"""

from __future__ import annotations

from .clock import iso_from_ns, ns_from_iso
from .create import (
    agent_span,
    custom_span,
    function_span,
    generation_span,
    guardrail_span,
    handoff_span,
    mcp_tools_span,
    response_span,
    speech_group_span,
    speech_span,
    task_span,
    trace,
    transcription_span,
    turn_span,
)
from .ids import gen_group_id, gen_span_id, gen_trace_id
from .lazy import lazy_getattr
from .processor import TracingProcessor
from .processors.batching import BatchingProcessor, Exporter, stats
from .processors.configure import configure
from .processors.console import ConsoleExporter, ConsoleProcessor
from .processors.jsonl import JSONLExporter, JSONLProcessor
from .provider import (
    TraceProvider,
    add_trace_processor,
    flush_traces,
    get_trace_provider,
    set_trace_processors,
    set_tracing_disabled,
    shutdown_tracing,
)
from .records import span_record, trace_record
from .schema import (
    RECORD_VERSION,
    SPAN_RECORD_FIELDS,
    TRACE_RECORD_FIELDS,
    MalformedLine,
    check_record,
    read_jsonl,
)
from .scope import get_current_span, get_current_trace
from .sensitive import DataPolicy, get_data_policy, mask_secrets, set_data_policy
from .span_data import (
    AgentSpanData,
    CustomSpanData,
    FunctionSpanData,
    GenerationSpanData,
    GuardrailSpanData,
    HandoffSpanData,
    MCPListToolsSpanData,
    ResponseSpanData,
    SpanData,
    SpeechGroupSpanData,
    SpeechSpanData,
    TaskSpanData,
    TranscriptionSpanData,
    TurnSpanData,
)
from .spans import NoOpSpan, Span, SpanError, error_from_exception
from .traces import NoOpTrace, Trace
from .tree import render_trace

# Heavy parts load on first use: `from agentoscope.tracing import SpanStore` imports DuckDB then.
__getattr__ = lazy_getattr(
    __name__,
    {
        "SpanStore": ".store.span_store",
        "StoreLockedError": ".store.connection",
        "ClickHouseExporter": ".processors.clickhouse",
        "ClickHouseProcessor": ".processors.clickhouse",
        "DuckDBExporter": ".processors.duckdb",
        "DuckDBProcessor": ".processors.duckdb",
        "OTLPExporter": ".processors.otlp",
        "OTLPProcessor": ".processors.otlp",
        "StoreClient": ".store.client",
        "instrument_openai_agents": ".processors.dropin",
    },
    # The named queries kept their documented spelling, `from agentoscope.tracing import queries`.
    modules={"queries": ".store.queries"},
)


__all__ = [
    "RECORD_VERSION",
    "SPAN_RECORD_FIELDS",
    "TRACE_RECORD_FIELDS",
    "AgentSpanData",
    "BatchingProcessor",
    "ClickHouseExporter",
    "ClickHouseProcessor",
    "ConsoleExporter",
    "ConsoleProcessor",
    "CustomSpanData",
    "DataPolicy",
    "DuckDBExporter",
    "DuckDBProcessor",
    "Exporter",
    "FunctionSpanData",
    "GenerationSpanData",
    "GuardrailSpanData",
    "HandoffSpanData",
    "JSONLExporter",
    "JSONLProcessor",
    "MCPListToolsSpanData",
    "MalformedLine",
    "NoOpSpan",
    "NoOpTrace",
    "OTLPExporter",
    "OTLPProcessor",
    "ResponseSpanData",
    "Span",
    "SpanData",
    "SpanError",
    "SpanStore",
    "SpeechGroupSpanData",
    "SpeechSpanData",
    "StoreClient",
    "StoreLockedError",
    "TaskSpanData",
    "Trace",
    "TraceProvider",
    "TracingProcessor",
    "TranscriptionSpanData",
    "TurnSpanData",
    "add_trace_processor",
    "agent_span",
    "check_record",
    "configure",
    "custom_span",
    "error_from_exception",
    "flush_traces",
    "function_span",
    "gen_group_id",
    "gen_span_id",
    "gen_trace_id",
    "generation_span",
    "get_current_span",
    "get_current_trace",
    "get_data_policy",
    "get_trace_provider",
    "guardrail_span",
    "handoff_span",
    "instrument_openai_agents",
    "iso_from_ns",
    "mask_secrets",
    "mcp_tools_span",
    "ns_from_iso",
    "read_jsonl",
    "render_trace",
    "response_span",
    "set_data_policy",
    "set_trace_processors",
    "set_tracing_disabled",
    "shutdown_tracing",
    "span_record",
    "speech_group_span",
    "speech_span",
    "stats",
    "task_span",
    "trace",
    "trace_record",
    "transcription_span",
    "turn_span",
]
