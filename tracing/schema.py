"""The record schema: the one source of truth for what a span or trace record holds.

Every other place derives from here: `span_record`/`trace_record` build records with these keys
in this order, the store's tables and its JSONL reader take their columns and types from
`SPAN_FIELDS`/`TRACE_FIELDS`, the OTel mapping packs and unpacks the same fields, and
`check_record`/`read_jsonl` decide what counts as a record. Add a field here and every part
follows; a test fails if one does not.

Span record (version 1), in this key order:
    v, kind="span", trace_id, span_id, parent_id, span_type, name, agent_name, tool_name, model,
    started_at, ended_at (ISO-8601 UTC, microseconds), duration_ms, status ("ok"|"error"),
    error_type, error_message, input_tokens, output_tokens, total_tokens, cached_input_tokens,
    reasoning_tokens, triggered (guardrail spans: did the tripwire fire; else None),
    data (span_data.export(), cleaned), error ({message, data} or None), metadata
Trace record (version 1):
    v, kind="trace", trace_id, workflow_name, group_id, metadata, started_at, ended_at, duration_ms
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson

logger = logging.getLogger("agentoscope.tracing")

RECORD_VERSION = 1

JsonType = Literal["string", "integer", "number", "boolean", "object", "timestamp"]

# How the store holds each JSON type (a timestamp is an ISO-8601 string in a record).
_DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "object": "JSON",
    "timestamp": "TIMESTAMP",
}

# How a ClickHouse store holds each (JSON text as String, times as microsecond DateTime64, UTC).
_CLICKHOUSE_TYPES: dict[str, str] = {
    "string": "String",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "Bool",
    "object": "String",
    "timestamp": "DateTime64(6)",
}


@dataclass(frozen=True)
class Field:
    """One key of a record: its JSON type, and how the store keeps it."""

    name: str
    json_type: JsonType
    stored: bool = True  # False: the record's envelope (`v`, `kind`), not a store column
    required: bool = False  # the store column is NOT NULL
    # DuckDB keeps columns in the order a table was created: a field that joined the store's
    # table after the first release stands last there, whatever its place in the record.
    late_column: bool = False

    @property
    def duckdb_type(self) -> str:
        """The store column's type (no constraints)."""
        return _DUCKDB_TYPES[self.json_type]

    @property
    def clickhouse_type(self) -> str:
        """The column's type in a ClickHouse store (Nullable unless required)."""
        kind = _CLICKHOUSE_TYPES[self.json_type]
        return kind if self.required else f"Nullable({kind})"

    @property
    def json_read_type(self) -> str:
        """The type DuckDB reads the field as from a JSONL line (times stay text there)."""
        return "VARCHAR" if self.json_type == "timestamp" else self.duckdb_type


_ENVELOPE = (Field("v", "integer", stored=False), Field("kind", "string", stored=False))
_TOKENS = (
    Field("input_tokens", "integer"),
    Field("output_tokens", "integer"),
    Field("total_tokens", "integer"),
    Field("cached_input_tokens", "integer"),
    Field("reasoning_tokens", "integer"),
)

SPAN_FIELDS: tuple[Field, ...] = (
    *_ENVELOPE,
    Field("trace_id", "string", required=True),
    Field("span_id", "string", required=True),
    Field("parent_id", "string"),
    Field("span_type", "string", required=True),
    Field("name", "string"),
    Field("agent_name", "string"),
    Field("tool_name", "string"),
    Field("model", "string"),
    Field("started_at", "timestamp"),
    Field("ended_at", "timestamp"),
    Field("duration_ms", "number"),
    Field("status", "string"),
    Field("error_type", "string"),
    Field("error_message", "string"),
    *_TOKENS,
    Field("triggered", "boolean", late_column=True),
    Field("data", "object"),
    Field("error", "object"),
    Field("metadata", "object"),
)
TRACE_FIELDS: tuple[Field, ...] = (
    *_ENVELOPE,
    Field("trace_id", "string", required=True),
    Field("workflow_name", "string"),
    Field("group_id", "string"),
    Field("metadata", "object"),
    Field("started_at", "timestamp"),
    Field("ended_at", "timestamp"),
    Field("duration_ms", "number"),
)

SPAN_RECORD_FIELDS: tuple[str, ...] = tuple(field.name for field in SPAN_FIELDS)
TRACE_RECORD_FIELDS: tuple[str, ...] = tuple(field.name for field in TRACE_FIELDS)
TOKEN_FIELDS: tuple[str, ...] = tuple(field.name for field in _TOKENS)

# The span types that are model calls: only they carry token counts, so summing the token
# columns never double counts (task/turn aggregates stay inside `data`). Ordered: the store's
# views spell them in this order.
MODEL_SPAN_TYPES: tuple[str, ...] = ("generation", "response", "transcription", "speech")

# The span type of a span from another OpenTelemetry app: by its GenAI `gen_ai.operation.name`,
# else its OpenInference `openinference.span.kind` (upper case), else "custom".
FOREIGN_TYPE_FROM_OPERATION: dict[str, str] = {
    "chat": "generation",
    "text_completion": "generation",
    "generate_content": "generation",
    "embeddings": "generation",  # a model call: its tokens count like any other
    "invoke_workflow": "task",
    "execute_tool": "function",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "apply_guardrail": "guardrail",
    "handoff": "handoff",
    "speech_to_text": "transcription",
    "text_to_speech": "speech",
}
# OpenInference span kinds (the values of openinference.semconv's OpenInferenceSpanKindValues;
# tests/test_otlp_foreign_kinds.py checks them against the package). A CHAIN is left out: at the
# root of a trace it is the run itself (`task`), below it a generic step (`custom`).
FOREIGN_TYPE_FROM_OI_KIND: dict[str, str] = {
    "LLM": "generation",
    "EMBEDDING": "generation",
    "TOOL": "function",
    # Retrieval and reranking are steps an agent calls like a tool: the tool_calls view and the
    # dashboard's tool pages show them under their name.
    "RETRIEVER": "function",
    "RERANKER": "function",
    "AGENT": "agent",
    "GUARDRAIL": "guardrail",
    # An evaluator checks an input or output as a guardrail does; its verdict stays in data.otel.
    "EVALUATOR": "guardrail",
}


def stored_columns(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """The fields the store keeps as columns, in its table order."""
    stored = [field for field in fields if field.stored]
    return (
        *(field for field in stored if not field.late_column),
        *(field for field in stored if field.late_column),
    )


def record_types() -> dict[str, str]:
    """Every record key (spans and traces) with the type DuckDB reads it as from JSONL."""
    types: dict[str, str] = {}
    for field in (*SPAN_FIELDS, *TRACE_FIELDS):
        types.setdefault(field.name, field.json_read_type)
    return types


# -- reading records back -------------------------------------------------------------------------


@dataclass(frozen=True)
class MalformedLine:
    """A line that is not a record: where it is, why, and the start of its text."""

    path: str
    line: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def _log_malformed(problem: MalformedLine) -> None:
    logger.warning("skipping malformed JSONL line %s", problem)


def check_record(value: Any) -> str | None:
    """Why `value` is not a record we can store, or None if it is one."""
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    kind = value.get("kind")
    if kind not in ("span", "trace"):
        return f"unknown record kind {kind!r} (expected 'span' or 'trace')"
    version = value.get("v")
    if not isinstance(version, int) or version < 1:
        return f"missing or invalid record version 'v': {version!r}"
    if version > RECORD_VERSION:
        return f"record version {version} is newer than this reader ({RECORD_VERSION})"
    for field in ("trace_id", "span_id") if kind == "span" else ("trace_id",):
        problem = _id_problem(value.get(field), field)
        if problem is not None:
            return problem
    return None


def _id_problem(value: Any, field: str) -> str | None:
    if isinstance(value, str):
        return None
    if value is None:
        return f"missing {field!r}"
    return f"{field!r} must be text, got {type(value).__name__} {value!r}"


def read_jsonl(
    path: str | os.PathLike[str],
    on_error: Callable[[MalformedLine], None] | None = _log_malformed,
) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file in order. Lines that are not records go to `on_error`
    (by default a warning naming file and line) and are skipped; the good lines are all yielded.
    A torn last line (no newline at the end, not valid JSON) is what a crash mid-write leaves:
    it is skipped silently."""
    name = os.fspath(path)
    with open(name, "rb") as handle:
        previous: bytes | None = None
        number = 0
        for raw in handle:
            if previous is not None:
                yield from _parse_line(previous, name, number, on_error, last=False)
            previous = raw
            number += 1
        if previous is not None:
            yield from _parse_line(previous, name, number, on_error, last=True)


def _parse_line(
    raw: bytes,
    path: str,
    number: int,
    on_error: Callable[[MalformedLine], None] | None,
    last: bool,
) -> Iterator[dict[str, Any]]:
    complete = raw.endswith(b"\n")
    text = raw.strip()
    if not text:
        return
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if last and not complete:
            logger.debug("%s:%d: torn last line skipped", path, number)
            return
        reason = f"invalid JSON: {error}"
    else:
        problem = check_record(value)
        if problem is None:
            yield value
            return
        reason = problem
    if on_error is not None:
        on_error(MalformedLine(path, number, reason, text[:200].decode("utf-8", "replace")))
