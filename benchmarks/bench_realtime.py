"""What a realtime session costs per server event: a WebSocket server on 127.0.0.1 streams one
long spoken response (transcript and audio deltas, 20 ms of 24 kHz PCM each), the session turns
every event into session events, history and spans.

    .venv/bin/python benchmarks/bench_realtime.py [--deltas 2000] [--reps 5]

Rows: the session with tracing off | with a JSONL processor | with a JSONL processor and the
sensitive-audio switch (audio bytes kept for the speech span). Each: µs per server event,
events/s, and how many times faster than real time the audio went through (a session must keep
far ahead of 1x). Cases run round-robin; the median of the repetitions is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from agentoscope import tracing
from agentoscope.runtime.realtime import (
    OpenAIRealtimeWebSocketModel,
    RealtimeAgent,
    RealtimeRunConfig,
    RealtimeRunner,
)
from support.fake_realtime import (
    FakeRealtimeServer,
    Step,
    response_created,
    response_done,
    spoken_message,
)

CHUNK = bytes(960)  # 20 ms of 24 kHz 16-bit mono


async def one_run(deltas: int, config: RealtimeRunConfig) -> tuple[float, int]:
    """(seconds from the first server event to the end of the response, server events)."""
    events = [
        response_created("resp_1"),
        *spoken_message("resp_1", "item_1", ["word "] * deltas, [CHUNK] * deltas),
        response_done("resp_1"),
    ]
    async with FakeRealtimeServer() as server:
        server.script(Step("response.create", events))
        runner = RealtimeRunner(
            RealtimeAgent(name="Bench"), model=OpenAIRealtimeWebSocketModel(), config=config
        )
        async with await runner.run(model_config={"url": server.url, "api_key": "k"}) as session:
            await session.send_message("Talk")
            started = None
            async for event in session:
                if event.type == "agent_start":
                    started = time.perf_counter()
                if event.type == "agent_end":
                    break
            assert started is not None
            return time.perf_counter() - started, len(events)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deltas", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases: dict[str, tuple[RealtimeRunConfig, bool]] = {
            "tracing off": ({"tracing_disabled": True}, False),
            "JSONL": ({}, True),
            "JSONL + audio on spans": ({"trace_include_sensitive_audio_data": True}, True),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        count = 0
        for rep in range(args.reps):
            for name, (config, jsonl) in cases.items():
                processors: list[Any] = (
                    [tracing.JSONLProcessor(Path(tmp) / f"{rep}-{len(times[name])}.jsonl")]
                    if jsonl
                    else []
                )
                tracing.set_trace_processors(processors)
                elapsed, count = asyncio.run(one_run(args.deltas, config))
                times[name].append(elapsed)
                for processor in processors:
                    processor.shutdown()
                tracing.set_trace_processors([])
    audio_s = args.deltas * 0.02
    print(
        f"{count} server events per response ({args.deltas} audio + transcript deltas, "
        f"{audio_s:.0f} s of audio), median of {args.reps}"
    )
    print("| case | µs per server event | events/s | x real time |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median / count * 1e6:.1f} | {count / median:,.0f} | "
            f"{audio_s / median:,.0f}x |"
        )


if __name__ == "__main__":
    main()
