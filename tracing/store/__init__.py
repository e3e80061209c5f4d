"""The span store: DuckDB (embedded, the default) or ClickHouse (a server, or chdb in-process),
chosen by a store URL (`open_store`); schema and migrations, ingest (records, Arrow, JSONL files),
rollups, the read-only SQL guard, the named queries, and the client of `agentoscope serve`."""

from __future__ import annotations

from ..lazy import lazy_getattr

_SPAN_STORE = ".span_store"
__getattr__ = lazy_getattr(
    __name__,
    {
        "DEFAULT_STORE_PATH": ".url",
        "STORE_ENV": ".url",
        "StoreURL": ".url",
        "StoreURLError": ".url",
        "open_store": ".url",
        "parse_store_url": ".url",
        "store_url": ".url",
        "ClickHouseStore": ".clickhouse_store",
        "PruneResult": _SPAN_STORE,
        "SpanStore": _SPAN_STORE,
        "default_store_path": _SPAN_STORE,
        "IngestResult": ".ingest",
        "PreparedBatch": ".ingest",
        "JsonlIngestReport": ".jsonl",
        "ReadOnlyQueryError": ".guard",
        "StoreLockedError": ".connection",
        "StoreNotFoundError": ".connection",
        "StoreSchemaError": ".schema",
        "StoreClient": ".client",
        "StoreClientError": ".client",
        "QueryLimits": ".limits",
        "QueryLimitError": ".limits",
        "DEFAULT_PRICES": ".prices",
        "ModelPrice": ".prices",
        "prices_match_defaults": ".prices",
    },
)

__all__ = [
    "DEFAULT_PRICES",
    "DEFAULT_STORE_PATH",
    "STORE_ENV",
    "ClickHouseStore",
    "IngestResult",
    "JsonlIngestReport",
    "ModelPrice",
    "PreparedBatch",
    "PruneResult",
    "QueryLimitError",
    "QueryLimits",
    "ReadOnlyQueryError",
    "SpanStore",
    "StoreClient",
    "StoreClientError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreSchemaError",
    "StoreURL",
    "StoreURLError",
    "default_store_path",
    "open_store",
    "parse_store_url",
    "prices_match_defaults",
    "store_url",
]
