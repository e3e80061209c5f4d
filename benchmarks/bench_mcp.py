"""MCP tool calls through agentoscope.runtime.mcp against our FastMCP test server, and the same
calls through the official SDK's agents.mcp, over stdio and streamable HTTP (127.0.0.1).

    .venv/bin/python benchmarks/bench_mcp.py [--calls 200] [--reps 3]

Per transport and client: the time to connect (start the server process for stdio), and the
median over repetitions of call_tool("add") round trips per second and list_tools() per second.
The server is the same process kind on both sides, so the difference is the client's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.mcp_servers import HttpMCPServer, stdio_params  # noqa: E402


def _servers(kind: str, url: str | None) -> list[tuple[str, Any]]:
    import agents.mcp as sdk

    import agentoscope.runtime.mcp as ours

    if kind == "stdio":
        return [
            ("ours", lambda: ours.MCPServerStdio(stdio_params())),
            ("SDK", lambda: sdk.MCPServerStdio(stdio_params())),
        ]
    params: Any = {"url": url}
    return [
        ("ours", lambda: ours.MCPServerStreamableHttp(params)),
        ("SDK", lambda: sdk.MCPServerStreamableHttp(params)),
    ]


async def _measure(make: Any, calls: int) -> tuple[float, float, float]:
    server = make()
    started = time.perf_counter()
    await server.connect()
    connect_s = time.perf_counter() - started
    try:
        await server.call_tool("add", {"a": 1, "b": 2})  # warm up (the client lists once)
        started = time.perf_counter()
        for _ in range(calls):
            await server.call_tool("add", {"a": 1, "b": 2})
        call_rate = calls / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(calls // 4):
            await server.list_tools()
        list_rate = (calls // 4) / (time.perf_counter() - started)
    finally:
        await server.cleanup()
    return connect_s, call_rate, list_rate


async def main(calls: int, reps: int) -> None:
    print(f"{'transport':<16}{'client':<6}{'connect s':>10}{'calls/s':>10}{'lists/s':>10}")
    with HttpMCPServer("streamable-http") as http:
        for kind, url in (("stdio", None), ("streamable-http", http.url)):
            results: dict[str, list[tuple[float, float, float]]] = {}
            for _ in range(reps):
                for name, make in _servers(kind, url):
                    results.setdefault(name, []).append(await _measure(make, calls))
            for name, rows in results.items():
                connect = statistics.median(r[0] for r in rows)
                call_rate = statistics.median(r[1] for r in rows)
                list_rate = statistics.median(r[2] for r in rows)
                print(f"{kind:<16}{name:<6}{connect:>10.2f}{call_rate:>10.0f}{list_rate:>10.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.reps))
