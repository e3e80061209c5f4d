"""`agentoscope dashboard`: start the Streamlit trace explorer on this machine."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

STORE_ENV = "AGENTOSCOPE_STORE"
SERVER_ENV = "AGENTOSCOPE_SERVER"
TOKEN_ENV = "AGENTOSCOPE_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="open the trace explorer (traces, span trees, tokens and cost, latency, errors, SQL)",
        description=(
            "Start the Streamlit trace explorer. It reads a store file (read-only) or a running "
            "`agentoscope serve`; with a file another process is writing, it says so and waits."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--store",
        metavar="PATH",
        help="store: a DuckDB file, clickhouse://user:password@host:8123/db or chdb:///folder "
        f"(default: env {STORE_ENV}, else ./.agentoscope/traces.duckdb)",
    )
    source.add_argument(
        "--server",
        metavar="URL",
        help=f"read from `agentoscope serve` at URL instead (default: env {SERVER_ENV})",
    )
    parser.add_argument("--token", help=f"bearer token for --server (default: env {TOKEN_ENV})")
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; the dashboard has no login, so think "
        "twice before exposing it)",
    )
    parser.set_defaults(handler=run_dashboard)


def dashboard_env(args: argparse.Namespace, base: dict[str, str] | None = None) -> dict[str, str]:
    """The Streamlit process's environment: where to read, the way dashboard/data.py expects."""
    env = dict(os.environ if base is None else base)
    if args.store:
        from agentoscope.tracing.store.url import parse_store_url

        # A ClickHouse URL goes as given; a DuckDB file (a path or duckdb:///path) as an
        # absolute path, so the Streamlit process, in another directory, finds the same file.
        url = parse_store_url(args.store)
        env[STORE_ENV] = (
            str(url.path.resolve()) if url.engine == "duckdb" and url.path else args.store
        )
        env.pop(SERVER_ENV, None)  # an explicit --store wins over a server from the environment
    elif args.server:
        env[SERVER_ENV] = args.server
    if args.token:
        env[TOKEN_ENV] = args.token
    return env


def streamlit_command(args: argparse.Namespace) -> list[str]:
    from agentoscope.dashboard import APP_PATH

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.headless=true",
        f"--server.address={args.host}",
        f"--server.port={args.port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
    ]


def preflight(env: dict[str, str]) -> str:
    """What will be read, plus a warning on stderr when it cannot be read yet (the page then
    explains and waits, so this never stops the start)."""
    server = env.get(SERVER_ENV, "").strip()
    if server:
        from agentoscope.tracing.store.client import StoreClient, StoreClientError

        client = StoreClient(server, token=env.get(TOKEN_ENV) or None, timeout=5)
        try:
            client.health()
        except StoreClientError as error:
            _warn(f"{error}; is `agentoscope serve` running?")
        finally:
            client.close()
        return f"server {server}"
    from agentoscope.tracing.store import (
        SpanStore,
        StoreLockedError,
        StoreNotFoundError,
        default_store_path,
        store_url,
    )

    url = store_url(env.get(STORE_ENV) or None)
    if url.is_clickhouse:
        return f"store {url.describe()}"
    path = default_store_path(env.get(STORE_ENV) or None).resolve()
    try:
        SpanStore(path, read_only=True).close()
    except StoreNotFoundError:
        _warn(f"no store at {path} yet; the dashboard shows how to make one")
    except StoreLockedError as error:
        _warn(f"{error}\nThe dashboard will open the store as soon as it is free.")
    return f"store {path}"


def _warn(message: str) -> None:
    print(f"agentoscope dashboard: {message}", file=sys.stderr, flush=True)


def run_dashboard(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("streamlit") is None:
        _warn("Streamlit is not installed: pip install 'agentoscope[dashboard]'")
        return 2
    env = dashboard_env(args)
    reading = preflight(env)
    if args.host not in LOOPBACK:
        _warn(f"listening on {args.host}: anyone who can reach it can read your traces")
    url_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(
        f"agentoscope dashboard: http://{url_host}:{args.port} (reading {reading}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    command = streamlit_command(args)
    sys.stdout.flush()
    # Become Streamlit: Ctrl-C and SIGTERM then reach the server itself, and no child is left
    # behind when this process is stopped.
    os.execve(command[0], command, env)
    return 0  # not reached
