"""`agentoscope serve`: run the store service (a DuckDB file's single owner, or one of several
stateless writers of a ClickHouse store)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from agentoscope.tracing.store.limits import (
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_QUERY_TIMEOUT,
    parse_size,
)

TOKEN_ENV = "AGENTOSCOPE_TOKEN"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="own a store and receive spans over OTLP (HTTP and gRPC) and from a JSONL spool",
        description=(
            "Write one store (a DuckDB file it owns, or a ClickHouse store several serve "
            "processes may share); receive OTLP over HTTP (POST /v1/traces, protobuf or JSON) "
            "and gRPC, and JSONL files from a spool directory; answer read-only SQL (POST "
            "/v1/query) and GET /health. Stops cleanly on SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="store: a DuckDB file, clickhouse://user:password@host:8123/db or chdb:///folder "
        "(default: env AGENTOSCOPE_STORE, else ./.agentoscope/traces.duckdb)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network)",
    )
    parser.add_argument("--http-port", type=int, default=4318, help="OTLP/HTTP port (default 4318)")
    parser.add_argument(
        "--grpc-port", type=int, default=4317, help="OTLP/gRPC port (default 4317; -1 disables)"
    )
    parser.add_argument("--spool", metavar="DIR", help="directory of JSONL files to ingest")
    parser.add_argument(
        "--token",
        help=f"bearer token required for ingest and query (default: env {TOKEN_ENV})",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "a Host name HTTP clients may use besides loopback ones (repeatable; '*' for any). "
            "Requests naming another host are refused, so web pages cannot reach serve by DNS "
            "rebinding"
        ),
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening beyond loopback without a token (anyone reaching it reads the store)",
    )
    parser.add_argument(
        "--query-timeout",
        type=float,
        default=DEFAULT_QUERY_TIMEOUT,
        metavar="SECONDS",
        help=f"stop a query after this long (default {DEFAULT_QUERY_TIMEOUT:g}; 0: no limit)",
    )
    parser.add_argument(
        "--max-result-bytes",
        default=str(DEFAULT_MAX_RESULT_BYTES),
        metavar="SIZE",
        help=(
            f"refuse query results larger than this (default {DEFAULT_MAX_RESULT_BYTES // 2**20} "
            "MiB; 500MB, 1GiB, ...; 0: no limit)"
        ),
    )
    parser.add_argument(
        "--memory-limit",
        default=DEFAULT_MEMORY_LIMIT,
        metavar="SIZE",
        help=(
            f"memory limit (default {DEFAULT_MEMORY_LIMIT}): on DuckDB the store's, for its "
            "queries and writes; on ClickHouse each SQL query's (max_memory_usage). A query "
            "that needs more fails, naming it"
        ),
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help=(
            "close a connection (HTTP or gRPC) that sends nothing for this long, or trickles "
            "its request (default 30)"
        ),
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=2048,
        metavar="N",
        help=(
            "open HTTP connections at once (default 2048); a connection beyond is answered 503 "
            "with Retry-After and closed"
        ),
    )
    parser.add_argument(
        "--max-bytes-in-flight",
        default="128MiB",
        metavar="SIZE",
        help=(
            "OTLP request bytes taken at once (default 128MiB); requests beyond are answered "
            "503 with Retry-After, which OTLP exporters honour"
        ),
    )
    parser.add_argument(
        "--decode-workers",
        type=int,
        default=2,
        metavar="N",
        help=(
            "processes that decode OTLP requests while serve writes (default 2: a request "
            "decodes while the one before it finishes; 0 decodes in serve's own process)"
        ),
    )
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from agentoscope.tracing.serve.service import StoreService
    from agentoscope.tracing.store import StoreLockedError

    logging.getLogger("agentoscope").setLevel(logging.INFO if not args.verbose else logging.DEBUG)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    try:
        max_result = (
            None
            if args.max_result_bytes.strip() in ("0", "")
            else parse_size(args.max_result_bytes, "--max-result-bytes")
        )
        service = StoreService(
            args.store,
            host=args.host,
            http_port=None if args.http_port < 0 else args.http_port,
            grpc_port=None if args.grpc_port < 0 else args.grpc_port,
            spool=args.spool,
            token=token,
            decode_workers=max(0, args.decode_workers),
            allowed_hosts=args.allow_host,
            insecure=args.insecure,
            query_timeout=args.query_timeout or None,
            max_result_bytes=max_result,
            memory_limit=args.memory_limit,
            idle_timeout=args.idle_timeout,
            max_bytes_in_flight=parse_size(args.max_bytes_in_flight, "--max-bytes-in-flight"),
            max_connections=args.max_connections,
        )
    except ValueError as error:  # a setting that cannot work (ServeConfigError)
        print(f"agentoscope serve: {error}", file=sys.stderr)
        return 2
    try:
        service.start()
    except ValueError as error:  # a --memory-limit the store cannot read
        print(f"agentoscope serve: {error}", file=sys.stderr)
        return 2
    except StoreLockedError as error:
        print(f"agentoscope serve: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"agentoscope serve: cannot listen: {error}", file=sys.stderr)
        return 1
    where = getattr(service.store, "path", None) or args.store
    parts = [f"store {where}"]
    if service.http_port is not None:
        parts.append(f"OTLP/HTTP and SQL on {service.http_url}")
    if service.grpc_port is not None:
        parts.append(f"OTLP/gRPC on {args.host}:{service.grpc_port}")
    if service.spool_dir is not None:
        parts.append(f"spool {service.spool_dir}")
    if token:
        parts.append("bearer token required")
    elif service.access.exposed:
        parts.append("NO token (--insecure)")
    print(f"agentoscope serve: ready: {'; '.join(parts)}", file=sys.stderr, flush=True)
    service.serve_forever()
    print(f"agentoscope serve: stopped: {service.health()['ingest']}", file=sys.stderr, flush=True)
    return 0
