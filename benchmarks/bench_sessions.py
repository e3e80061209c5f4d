"""Session throughput: ours next to the official openai-agents SDK, same workload, one run.

    .venv/bin/python benchmarks/bench_sessions.py [--reps 3] [--scale 1.0] [--no-redis]

Pairs (ours vs the SDK's):
  SQLiteSession on a file (ours synchronous=NORMAL, the default; and synchronous=FULL, which is
  what the SDK's connection uses) | SQLiteSession in memory | RedisSession on a real redis-server
  started here on 127.0.0.1 (the SDK's is agents.extensions.memory.RedisSession).
Workloads (each repetition on a fresh session; reads on a 1,000-item history):
  add 1/call: 1,000 add_items calls of one item | add 20/call: 100 calls of 20 items |
  get(20): 500 get_items(20) | get(all): 50 get_items() | 50 tasks: 50 concurrent tasks x 20 adds.
Figures are items (add) or calls (get) per second; the median over round-robin repetitions
(alternating which side goes first), because the machine is shared. With synchronous=FULL every
commit waits for fsync, so those rows mostly measure the disk, and they vary the most.
Ratio = ours / SDK (above 1: ours is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

HISTORY = 1000


def make_item(n: int) -> dict[str, Any]:
    """An assistant message of typical size (~300 bytes of JSON)."""
    text = f"Answer {n}: the forecast for Paris is sunny, 21 degrees, light wind from the west."
    return {
        "id": f"msg_{n:08d}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text * 2, "annotations": []}],
    }


@dataclass
class Backend:
    name: str
    make: Callable[[str], Any]  # session id -> session
    close: Callable[[Any], Awaitable[None]]


@dataclass
class Workload:
    name: str
    unit: str
    prefill: int
    run: Callable[[Any, float], Awaitable[int]]  # (session, scale) -> operations done


async def add_one_per_call(session: Any, scale: float) -> int:
    n = int(1000 * scale)
    for i in range(n):
        await session.add_items([make_item(i)])
    return n


async def add_twenty_per_call(session: Any, scale: float) -> int:
    calls = int(100 * scale)
    for call in range(calls):
        await session.add_items([make_item(call * 20 + i) for i in range(20)])
    return calls * 20


async def get_newest_twenty(session: Any, scale: float) -> int:
    calls = int(500 * scale)
    for _ in range(calls):
        assert len(await session.get_items(20)) == 20
    return calls


async def get_all(session: Any, scale: float) -> int:
    calls = int(50 * scale)
    for _ in range(calls):
        assert len(await session.get_items()) == HISTORY
    return calls


async def fifty_tasks(session: Any, scale: float) -> int:
    per_task = max(1, int(20 * scale))

    async def writer(task: int) -> None:
        for i in range(per_task):
            await session.add_items([make_item(task * 1000 + i)])

    await asyncio.gather(*(writer(task) for task in range(50)))
    return 50 * per_task


WORKLOADS = [
    Workload("add 1/call", "items/s", 0, add_one_per_call),
    Workload("add 20/call", "items/s", 0, add_twenty_per_call),
    Workload("get(20)", "calls/s", HISTORY, get_newest_twenty),
    Workload("get(all)", "calls/s", HISTORY, get_all),
    Workload("50 tasks", "items/s", 0, fifty_tasks),
]


async def _close_sync(session: Any) -> None:
    session.close()


async def _close_async(session: Any) -> None:
    await session.close()


def sqlite_pairs(directory: Path) -> list[tuple[str, Backend, Backend]]:
    import agents

    from agentoscope.runtime.memory import SQLiteSession

    def file_for(session_id: str) -> Path:
        return directory / f"{session_id}.db"

    return [
        (
            "SQLite file",
            Backend("ours", lambda sid: SQLiteSession(sid, file_for(sid)), _close_sync),
            Backend("sdk", lambda sid: agents.SQLiteSession(sid, file_for(sid)), _close_sync),
        ),
        (
            "SQLite file, FULL",
            Backend(
                "ours",
                lambda sid: SQLiteSession(sid, file_for(sid), synchronous="FULL"),
                _close_sync,
            ),
            Backend("sdk", lambda sid: agents.SQLiteSession(sid, file_for(sid)), _close_sync),
        ),
        (
            "SQLite memory",
            Backend("ours", lambda sid: SQLiteSession(sid), _close_sync),
            Backend("sdk", lambda sid: agents.SQLiteSession(sid), _close_sync),
        ),
    ]


def redis_pair(url: str) -> tuple[str, Backend, Backend]:
    from agents.extensions.memory import RedisSession as SDKRedisSession

    from agentoscope.runtime.memory import RedisSession

    return (
        "Redis",
        Backend("ours", lambda sid: RedisSession.from_url(sid, url), _close_async),
        Backend("sdk", lambda sid: SDKRedisSession.from_url(sid, url=url), _close_async),
    )


async def measure(backend: Backend, workload: Workload, scale: float) -> float:
    session = backend.make(f"bench-{uuid.uuid4().hex}")
    try:
        for start in range(0, workload.prefill, 100):
            await session.add_items([make_item(start + i) for i in range(100)])
        began = time.perf_counter()
        operations = await workload.run(session, scale)
        return operations / (time.perf_counter() - began)
    finally:
        await backend.close(session)


async def run(
    reps: int, scale: float, with_redis: bool
) -> list[tuple[str, str, str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as directory:
        pairs = sqlite_pairs(Path(directory))
        server = None
        if with_redis:
            from support.redis_server import RedisServer

            server = RedisServer().start()
            pairs.append(redis_pair(server.url))
        try:
            for pair_name, ours, sdk in pairs:
                for workload in WORKLOADS:
                    results: dict[str, list[float]] = {"ours": [], "sdk": []}
                    for rep in range(reps):
                        # Round-robin, alternating who goes first: both see the same load.
                        for backend in (ours, sdk) if rep % 2 == 0 else (sdk, ours):
                            results[backend.name].append(await measure(backend, workload, scale))
                    rows.append(
                        (
                            pair_name,
                            workload.name,
                            workload.unit,
                            statistics.median(results["ours"]),
                            statistics.median(results["sdk"]),
                        )
                    )
                    print_row(rows[-1], flush=True)
        finally:
            if server is not None:
                server.stop()
    return rows


HEADER = f"{'backend':<18} {'workload':<12} {'unit':<8} {'ours':>10} {'SDK':>10} {'ours/SDK':>9}"


def print_row(row: tuple[str, str, str, float, float], flush: bool = False) -> None:
    backend, workload, unit, ours, sdk = row
    print(
        f"{backend:<18} {workload:<12} {unit:<8} {ours:>10,.0f} {sdk:>10,.0f} {ours / sdk:>8.2f}x",
        flush=flush,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per case (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload size")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis pair")
    args = parser.parse_args(argv)
    print(HEADER)
    print("-" * len(HEADER))
    asyncio.run(run(args.reps, args.scale, not args.no_redis))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
