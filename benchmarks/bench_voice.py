"""Latency and tracing cost of the offline voice pipeline (espeak-ng + PocketSphinx, an agent with
one tool on ScriptedModel).

    .venv/bin/python benchmarks/bench_voice.py [--runs 20] [--streamed-runs 8]

1. End of speech -> first audio byte, single turn: the utterance is complete (an `AudioInput`)
   when `pipeline.run()` is called; the clock stops at the first audio event. Transcription,
   the agent's two model calls and its tool, and espeak-ng's first chunk all sit in between.
2. The same for a streamed session fed in real time (20 ms chunks at the pace of speech): the
   clock starts when the last chunk holding speech is pushed. This includes the silence the
   detector must hear before it ends the turn (`silence_duration_ms`, 300 here), by design.
3. Tracing overhead: the wall time and this process's CPU time (espeak-ng's subprocess not
   counted) of a whole single turn (all audio consumed) traced to a JSONL file, with and
   without the audio kept in the spans, against `tracing_disabled=True`. Cases run
   round-robin; medians are reported.

The utterance is "where is my order" (espeak-ng, 150 words per minute, ~1.1 s), the answer two
sentences. Everything runs after one warm-up run (PocketSphinx loads its model, ~1 s, once).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agentoscope import tracing
from agentoscope.runtime import Agent, function_tool
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from agentoscope.runtime.voice import (
    AudioInput,
    EspeakTTSModel,
    OfflineVoiceModelProvider,
    PocketSphinxSTTModel,
    StreamedAudioInput,
    TTSModelSettings,
    VoicePipeline,
    VoicePipelineConfig,
)

QUESTION = "where is my order"
ANSWER = "Your order A-1003 was delivered this morning. Is there anything else?"
RATE = 24_000
CHUNK = RATE // 50  # 20 ms


@function_tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: The order number.
    """
    return f"{order_id}: delivered"


def agent() -> Agent[Any]:
    turns = [[tool_call("lookup_order", {"order_id": "A-1003"})], [text_message(ANSWER)]]
    return Agent(name="Orders", tools=[lookup_order], model=ScriptedModel(turns))


def pipeline(stt: PocketSphinxSTTModel, **config: Any) -> VoicePipeline:
    return VoicePipeline(
        agent(),
        VoicePipelineConfig(model_provider=OfflineVoiceModelProvider(), **config),
        tts_model=EspeakTTSModel(),
        stt_model=stt,
    )


async def single_turn(stt: PocketSphinxSTTModel, audio: np.ndarray, **config: Any) -> float:
    """Seconds from run() to the first audio event; consumes the whole result."""
    started = time.perf_counter()
    result = await pipeline(stt, **config).run(AudioInput(audio, RATE))
    first = None
    async for event in result.stream():
        if first is None and event.type == "voice_stream_event_audio":
            first = time.perf_counter() - started
    assert first is not None and result.total_output_text == ANSWER
    return first


async def whole_turn(
    stt: PocketSphinxSTTModel, audio: np.ndarray, **config: Any
) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of a whole turn, all audio consumed."""
    started, cpu = time.perf_counter(), time.process_time()
    result = await pipeline(stt, **config).run(AudioInput(audio, RATE))
    async for _event in result.stream():
        pass
    return time.perf_counter() - started, time.process_time() - cpu


async def streamed_turn(stt: PocketSphinxSTTModel, speech: np.ndarray) -> float:
    """Seconds from the last chunk of speech pushed (in real time) to the first audio event."""
    audio = np.concatenate([speech, np.zeros(RATE, dtype=np.int16)])
    # The last chunk whose level reaches the detector's threshold: espeak-ng's audio ends with
    # some quiet of its own, which already counts towards the silence.
    chunks = audio[: audio.size - audio.size % CHUNK].astype(np.float32).reshape(-1, CHUNK) / 32767
    loud = np.sqrt(np.mean(chunks**2, axis=1)) >= 0.01
    last_speech = int(np.nonzero(loud)[0][-1])
    stream = StreamedAudioInput(RATE)
    result = await pipeline(stt, silence_duration_ms=300).run(stream)
    end_of_speech: list[float] = []

    async def feed() -> None:
        start = time.perf_counter()
        for index in range(0, audio.size // CHUNK):
            await stream.add_audio(audio[index * CHUNK : (index + 1) * CHUNK])
            if index == last_speech:
                end_of_speech.append(time.perf_counter())
            # pace the chunks like a microphone would deliver them
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - time.perf_counter()))
        await stream.add_audio(None)

    feeder = asyncio.create_task(feed())
    first = None
    async for event in result.stream():
        if first is None and event.type == "voice_stream_event_audio":
            first = time.perf_counter()
    await feeder
    assert first is not None
    return first - end_of_speech[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def main(runs: int, streamed_runs: int) -> None:
    stt = PocketSphinxSTTModel([QUESTION, "talk to a person"])
    tts = EspeakTTSModel()
    pcm = b"".join([c async for c in tts.run(QUESTION, TTSModelSettings())])
    speech = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
    with tempfile.TemporaryDirectory() as folder:
        jsonl = tracing.JSONLProcessor(Path(folder) / "voice.jsonl")
        tracing.set_trace_processors([jsonl])
        await whole_turn(stt, speech)  # warm-up: loads the recogniser

        first_audio = [await single_turn(stt, speech) for _ in range(runs)]
        streamed = [await streamed_turn(stt, speech) for _ in range(streamed_runs)]

        cases: dict[str, dict[str, Any]] = {
            "tracing disabled": {"tracing_disabled": True},
            "traced, no audio in spans": {"trace_include_sensitive_audio_data": False},
            "traced, audio in spans": {},
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, config in cases.items():
                times[name].append(await whole_turn(stt, speech, **config))
                # The JSONL writer works in the background: let it finish here, so its work is
                # not billed to the next case's turn.
                tracing.flush_traces()
        tracing.flush_traces()
        tracing.set_trace_processors([])
        jsonl.shutdown()

    print(f"offline voice pipeline, utterance {speech.size / RATE:.2f} s, answer {ANSWER!r}\n")
    print("| measure | median | min | max | runs |")
    print("|---|---|---|---|---|")
    for label, values in (
        ("end of speech -> first audio byte (AudioInput)", first_audio),
        ("end of speech -> first audio byte (streamed, real time, 300 ms silence)", streamed),
    ):
        print(
            f"| {label} | {ms(statistics.median(values))} | {ms(min(values))} "
            f"| {ms(max(values))} | {len(values)} |"
        )
    base = statistics.median(wall for wall, _ in times["tracing disabled"])
    base_cpu = statistics.median(cpu for _, cpu in times["tracing disabled"])
    print("\n| whole turn | median wall | ratio | median CPU (this process) | ratio |")
    print("|---|---|---|---|---|")
    for name, turns in times.items():
        wall = statistics.median(w for w, _ in turns)
        cpu = statistics.median(c for _, c in turns)
        print(f"| {name} | {ms(wall)} | {wall / base:.3f} | {ms(cpu)} | {cpu / base_cpu:.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--streamed-runs", type=int, default=8)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.streamed_runs))
