"""Run some tracing code with the JSONL, DuckDB and OTLP processors attached (real ones: a file,
a store, the OTel SDK's in-memory exporter behind our OTLP mapping) and return what each sink
holds, as text a reader would see."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentoscope import tracing


def visible(sink: str) -> str:
    """JSON escapes ('/' from pandas, quotes of JSON in JSON, newlines) undone."""
    return sink.replace("\\/", "/").replace("\\n", "\n").replace('\\"', '"')


def sink_texts(tmp_path: Path, make_spans: Callable[[], None]) -> dict[str, str]:
    from agentoscope.tracing import DuckDBProcessor, OTLPProcessor

    memory = InMemorySpanExporter()
    jsonl = tracing.JSONLProcessor(tmp_path / "spans.jsonl")
    duck = DuckDBProcessor(tmp_path / "traces.duckdb")
    otlp = OTLPProcessor(exporter=memory, capture_content=True)
    tracing.set_trace_processors([jsonl, duck, otlp])
    make_spans()
    tracing.flush_traces()
    assert duck.store is not None
    spans = duck.store.query("SELECT * FROM spans").to_json(orient="records", date_format="iso")
    traces = duck.store.query("SELECT * FROM traces").to_json(orient="records", date_format="iso")
    otel = [
        json.dumps(
            {
                "name": span.name,
                "attributes": dict(span.attributes or {}),
                "events": [dict(event.attributes or {}) for event in span.events],
                "status": span.status.description,
            },
            default=str,
        )
        for span in memory.get_finished_spans()
    ]
    assert otel, "the OTLP processor exported nothing"
    texts = {
        "jsonl": (tmp_path / "spans.jsonl").read_text(),
        "duckdb spans": spans,
        "duckdb traces": traces,
        "otlp": "\n".join(otel),
    }
    return {name: visible(text) for name, text in texts.items()}
