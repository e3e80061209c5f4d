"""Processors: `BatchingProcessor` owns a bounded queue and a worker thread and hands batches of
records to an exporter; the console, JSONL, DuckDB, ClickHouse and OTLP processors are a batching
processor with their exporter. `configure()` builds them from arguments and environment variables;
`instrument_openai_agents()` attaches them to the official SDK."""

from __future__ import annotations

from ..lazy import lazy_getattr
from .batching import BatchingProcessor, Exporter, stats
from .configure import build_processors, configure
from .console import ConsoleExporter, ConsoleProcessor
from .jsonl import JSONLExporter, JSONLProcessor

__getattr__ = lazy_getattr(
    __name__,
    {
        "ClickHouseExporter": ".clickhouse",
        "ClickHouseProcessor": ".clickhouse",
        "DuckDBExporter": ".duckdb",
        "DuckDBProcessor": ".duckdb",
        "OTLPExporter": ".otlp",
        "OTLPProcessor": ".otlp",
        "instrument_openai_agents": ".dropin",
    },
)

__all__ = [
    "BatchingProcessor",
    "ClickHouseExporter",
    "ClickHouseProcessor",
    "ConsoleExporter",
    "ConsoleProcessor",
    "DuckDBExporter",
    "DuckDBProcessor",
    "Exporter",
    "JSONLExporter",
    "JSONLProcessor",
    "OTLPExporter",
    "OTLPProcessor",
    "build_processors",
    "configure",
    "instrument_openai_agents",
    "stats",
]
