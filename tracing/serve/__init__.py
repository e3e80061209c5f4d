"""`agentoscope serve`: the process that owns a store and takes spans from OTLP/HTTP, OTLP/gRPC
and a spool directory of JSONL files, decodes them in worker processes, writes them through one
writer, and answers read-only SQL."""

from __future__ import annotations

from ..lazy import lazy_getattr

__getattr__ = lazy_getattr(
    __name__,
    {
        "StoreService": ".service",
        "ServiceUnavailable": ".service",
        "StoreWriter": ".writer",
        "WriterStopped": ".writer",
        "SpoolIngester": ".spool",
        "DecodePool": ".workers",
        "AccessPolicy": ".access",
        "ServeConfigError": ".access",
    },
)

__all__ = [
    "AccessPolicy",
    "DecodePool",
    "ServeConfigError",
    "ServiceUnavailable",
    "SpoolIngester",
    "StoreService",
    "StoreWriter",
    "WriterStopped",
]
