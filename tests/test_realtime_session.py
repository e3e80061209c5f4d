"""Realtime sessions driven through `OpenAIRealtimeWebSocketModel` against a real WebSocket server
on 127.0.0.1 that speaks the Realtime protocol from a script: tool round trips, handoffs,
output guardrails, interruptions, history and the span tree."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentoscope.runtime import (
    GuardrailFunctionOutput,
    RunContextWrapper,
    function_tool,
    output_guardrail,
)
from agentoscope.runtime.realtime import (
    OpenAIRealtimeWebSocketModel,
    RealtimeAgent,
    RealtimeModelConfig,
    RealtimePlaybackTracker,
    RealtimeRunConfig,
    RealtimeRunner,
    RealtimeSession,
)
from agentoscope.tracing import add_trace_processor, span_record
from support.collect import CollectingProcessor
from support.fake_realtime import (
    FakeRealtimeServer,
    Step,
    response_created,
    response_done,
    spoken_message,
    spoken_response,
    tool_response,
)
from support.realtime_checks import events_until, nth, span_tree, spans_of

PCM_200MS = bytes(9600)  # 24 kHz, 16-bit mono


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@function_tool
def lookup_invoice(number: str) -> str:
    """Find an invoice."""
    raise RuntimeError("invoice database is down")


def broken_tool() -> Any:
    @function_tool(failure_error_function=None)
    def charge_card(amount: int) -> str:
        """Charge the card."""
        raise ValueError("card declined")

    return charge_card


billing = RealtimeAgent(
    name="Billing", instructions="You handle billing.", tools=[lookup_invoice, broken_tool()]
)
assistant = RealtimeAgent(
    name="Assistant",
    instructions="You help with the weather.",
    tools=[get_weather],
    handoffs=[billing],
)


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer() as fake:
        yield fake


@pytest.fixture
def spans() -> CollectingProcessor:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    return collector


def connect(server: FakeRealtimeServer, **extra: Any) -> RealtimeModelConfig:
    return {"url": server.url, "api_key": "sk-test-realtime-key-0001", **extra}  # type: ignore[typeddict-item]


async def open_session(
    server: FakeRealtimeServer,
    agent: RealtimeAgent[Any] = assistant,
    config: RealtimeRunConfig | None = None,
    **model_config: Any,
) -> RealtimeSession:
    runner = RealtimeRunner(agent, model=OpenAIRealtimeWebSocketModel(), config=config)
    return await runner.run(model_config=connect(server, **model_config))


async def test_tool_call_round_trip(server: FakeRealtimeServer, spans: CollectingProcessor) -> None:
    server.script(
        Step(
            "response.create",
            tool_response("resp_1", "item_c1", "call_1", "get_weather", {"city": "Paris"}),
        ),
        Step(
            "response.create",
            spoken_response("resp_2", "item_m2", "It is sunny in Paris.", PCM_200MS),
        ),
    )
    async with await open_session(server) as session:
        await session.send_message("What is the weather in Paris?")
        events = await events_until(session, nth("agent_end", 2))
        history = session.history
    await server.wait_closed()

    kinds = [e.type for e in events]
    assert "error" not in kinds
    assert kinds.count("tool_start") == kinds.count("tool_end") == 1
    tool_end = next(e for e in events if e.type == "tool_end")
    assert (tool_end.tool.name, tool_end.arguments, tool_end.output) == (
        "get_weather",
        '{"city": "Paris"}',
        "sunny in Paris",
    )
    audio = [e for e in events if e.type == "audio"]
    assert b"".join(e.audio.data for e in audio) == PCM_200MS
    assert [e.item_id for e in events if e.type == "audio_end"] == ["item_m2"]

    # What went over the wire: the session, the question, the tool's output, two responses.
    assert server.received_types() == [
        "session.update",
        "conversation.item.create",
        "response.create",
        "conversation.item.create",
        "response.create",
    ]
    assert server.of_type("conversation.item.create")[1]["item"] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "sunny in Paris",
    }
    session_config = server.received[0]["session"]
    assert session_config["instructions"] == "You help with the weather."
    assert [t["name"] for t in session_config["tools"]] == ["get_weather", "transfer_to_billing"]
    assert session_config["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session_config["audio"]["output"]["voice"] == "ash"
    assert server.request_path == "/v1/realtime?model=gpt-realtime"
    assert server.request_headers["authorization"] == "Bearer sk-test-realtime-key-0001"
    assert server.client_close_code == 1000

    # History: the question, the call with its output, the answer with its transcript.
    assert [(item.type, getattr(item, "role", None)) for item in history] == [
        ("message", "user"),
        ("function_call", None),
        ("message", "assistant"),
    ]
    assert history[0].content[0].text == "What is the weather in Paris?"
    assert (history[1].status, history[1].output) == ("completed", "sunny in Paris")
    assert history[2].content[0].transcript == "It is sunny in Paris."
    assert session.context_wrapper.usage.requests == 2
    assert session.context_wrapper.usage.input_tokens == 60

    assert span_tree(spans.ended_spans) == [
        "agent Assistant",
        "  response",
        "  function get_weather",
        "  response",
        "    speech",
    ]
    (trace,) = spans.ended_traces
    assert trace.name == "Realtime session"
    assert trace.group_id == session.session_id
    responses = spans_of(spans.ended_spans, "response")
    first = span_record(responses[0])
    assert (first["model"], first["input_tokens"], first["output_tokens"]) == (
        "gpt-realtime",
        30,
        12,
    )
    assert first["cached_input_tokens"] == 4
    assert first["data"]["response_id"] == "resp_1"
    assert responses[1].span_data.usage["output_tokens_details"]["audio_tokens"] == 8
    (function,) = spans_of(spans.ended_spans, "function")
    assert (function.span_data.input, function.span_data.output) == (
        '{"city": "Paris"}',
        "sunny in Paris",
    )
    (speech,) = spans_of(spans.ended_spans, "speech")
    assert speech.span_data.input == "It is sunny in Paris."
    assert speech.span_data.output is None  # no audio bytes without the sensitive-audio switch
    assert speech.span_data.output_format == "pcm16"


async def test_handoff_updates_the_session_then_the_new_agent_answers(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    server.script(
        Step(
            "response.create",
            tool_response("resp_1", "item_c1", "call_1", "transfer_to_billing", {}),
        ),
        Step("response.create", spoken_response("resp_2", "item_m2", "Billing here.", PCM_200MS)),
    )
    async with await open_session(server) as session:
        await session.send_message("I have a billing question")
        events = await events_until(session, nth("agent_end", 2))
        assert session.current_agent is billing

    handoff = next(e for e in events if e.type == "handoff")
    assert (handoff.from_agent.name, handoff.to_agent.name) == ("Assistant", "Billing")
    starts = [e.agent.name for e in events if e.type == "agent_start"]
    ends = [e.agent.name for e in events if e.type == "agent_end"]
    assert starts == ["Assistant", "Billing"] and ends == ["Assistant", "Billing"]

    # The new instructions and tools reach the server before the handoff's output, which
    # starts the new agent's response.
    assert server.received_types()[3:] == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]
    update = server.received[3]["session"]
    assert update["instructions"] == "You handle billing."
    assert [t["name"] for t in update["tools"]] == ["lookup_invoice", "charge_card"]
    assert server.received[4]["item"]["output"] == json.dumps({"assistant": "Billing"})

    assert span_tree(spans.ended_spans) == [
        "agent Assistant",
        "  response",
        "  handoff Assistant -> Billing",
        "agent Billing",
        "  response",
        "    speech",
    ]
    agents = spans_of(spans.ended_spans, "agent")
    assert agents[0].span_data.tools == ["get_weather"]
    assert agents[0].span_data.handoffs == ["Billing"]
    assert agents[1].span_data.tools == ["lookup_invoice", "charge_card"]


async def test_tool_that_raises_sends_an_error_to_the_model_and_marks_its_span(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    server.script(
        Step(
            "response.create",
            tool_response("resp_1", "item_c1", "call_1", "lookup_invoice", {"number": "7"}),
        ),
        Step(
            "response.create",
            tool_response("resp_2", "item_c2", "call_2", "charge_card", {"amount": 5}),
        ),
        Step("response.create", spoken_response("resp_3", "item_m3", "Sorry, that failed.")),
    )
    async with await open_session(server, billing) as session:
        await session.send_message("Pay invoice 7")
        events = await events_until(session, nth("agent_end", 3))

    outputs = [e["item"]["output"] for e in server.of_type("conversation.item.create")[1:]]
    # Neither exception's text reaches the model: it may hold internals or secrets.
    assert outputs == ["An error occurred while running the tool. Please try again."] * 2
    errors = [e.error["message"] for e in events if e.type == "error"]
    # The decorated tool's own failure function handled the first; the second had none.
    assert errors == ["tool 'charge_card' raised ValueError: card declined"]
    lookup, charge = spans_of(spans.ended_spans, "function")
    assert lookup.error["data"]["type"] == "RuntimeError"
    assert lookup.error["data"]["error"] == "invoice database is down"
    assert charge.error["data"] == {"type": "ValueError", "tool_name": "charge_card"}
    assert [e.type for e in events].count("tool_end") == 2
    assert session.history[-1].content[0].transcript == "Sorry, that failed."


@output_guardrail
def no_secrets(ctx: RunContextWrapper[Any], agent: Any, text: str) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(
        output_info={"length": len(text)}, tripwire_triggered="secret" in text
    )


async def test_output_guardrail_trips_on_the_streaming_transcript_and_interrupts(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    guarded = RealtimeAgent(
        name="Assistant", instructions="Be careful.", output_guardrails=[no_secrets]
    )
    server.script(
        Step(
            "response.create",
            [
                response_created("resp_1"),
                *spoken_message(
                    "resp_1", "item_a", ["The password ", "is secret"], [PCM_200MS], done=False
                ),
            ],
        ),
        Step("response.cancel", [response_done("resp_1", status="cancelled")]),
        Step(
            "response.create",
            spoken_response("resp_2", "item_b", "I cannot share that.", PCM_200MS),
        ),
    )
    config: RealtimeRunConfig = {"guardrails_settings": {"debounce_text_length": 10}}
    async with await open_session(server, guarded, config) as session:
        await session.send_message("What is the password?")
        events = await events_until(session, nth("agent_end", 2))

    (tripped,) = [e for e in events if e.type == "guardrail_tripped"]
    assert tripped.message == "The password is secret"
    assert [r.guardrail.get_name() for r in tripped.guardrail_results] == ["no_secrets"]
    assert tripped.guardrail_results[0].output.output_info == {"length": 22}
    # The response was cut (truncate at what was heard, then cancel), the model told why, and
    # the next response came only after the cancelled one was done.
    types = server.received_types()
    assert types.index("conversation.item.truncate") < types.index("response.cancel")
    feedback = server.of_type("conversation.item.create")[1]["item"]
    assert feedback["content"] == [
        {"type": "input_text", "text": "guardrail triggered: no_secrets"}
    ]
    assert types[-1] == "response.create" and types.count("response.create") == 2
    assert [e.item_id for e in events if e.type == "audio_interrupted"] == ["item_a"]

    checks = spans_of(spans.ended_spans, "guardrail")
    assert [(g.span_data.name, g.span_data.triggered) for g in checks] == [
        ("no_secrets", False),
        ("no_secrets", True),
    ]
    assert span_tree(spans.ended_spans) == [
        "agent Assistant",
        "  response",
        "    speech",
        "  guardrail no_secrets",
        "  guardrail no_secrets",
        "  response",
        "    speech",
    ]
    cancelled = span_record(spans_of(spans.ended_spans, "response")[0])
    assert cancelled["status"] == "ok"  # a cancelled response is not a failure


async def test_user_speech_interrupts_playback_and_truncates_at_what_was_heard(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    tracker = RealtimePlaybackTracker()
    server.script(
        Step(
            "response.create",
            [
                response_created("resp_1"),
                *spoken_message(
                    "resp_1", "item_a", ["Once upon ", "a time"], [PCM_200MS, PCM_200MS], done=False
                ),
            ],
        ),
        Step(
            "input_audio_buffer.append",
            [
                {
                    "type": "input_audio_buffer.speech_started",
                    "audio_start_ms": 900,
                    "item_id": "item_u",
                }
            ],
        ),
        Step("response.cancel", [response_done("resp_1", status="cancelled")]),
    )
    config: RealtimeRunConfig = {
        # The server is told not to cancel by itself, so the client must.
        "model_settings": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}
    }
    async with await open_session(server, assistant, config, playback_tracker=tracker) as session:
        await session.send_message("Tell me a story")
        await events_until(session, nth("audio", 2))
        tracker.on_play_ms("item_a", 0, 150.0)  # the user heard 150 ms, then spoke
        await session.send_audio(b"\x01\x00" * 480)
        events = await events_until(session, nth("agent_end", 1))
        await events_until(session, nth("history_updated", 1))  # the truncated item, refetched

    assert [(e.item_id, e.content_index) for e in events if e.type == "audio_interrupted"] == [
        ("item_a", 0)
    ]
    (truncate,) = server.of_type("conversation.item.truncate")
    assert truncate == {
        "type": "conversation.item.truncate",
        "item_id": "item_a",
        "content_index": 0,
        "audio_end_ms": 150,
    }
    types = server.received_types()
    assert types.index("conversation.item.truncate") < types.index("response.cancel")
    assert server.of_type("conversation.item.retrieve") == [
        {"type": "conversation.item.retrieve", "item_id": "item_a"}
    ]
    assert server.received[0]["session"]["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "interrupt_response": False,
    }
    # The interrupted answer stays in the history with what was said of it.
    assert session.history[-1].item_id == "item_a"
    assert session.history[-1].content[0].transcript == "Once upon a time"
    (transcription,) = spans_of(spans.ended_spans, "transcription")
    assert transcription.span_data.output is None  # the server never transcribed that audio


async def test_server_cancelling_by_itself_gets_no_cancel(server: FakeRealtimeServer) -> None:
    server.script(
        Step(
            "response.create",
            [
                response_created("resp_1"),
                *spoken_message("resp_1", "item_a", ["Hi"], [PCM_200MS], done=False),
            ],
        ),
        Step(
            "input_audio_buffer.append",
            [
                {
                    "type": "input_audio_buffer.speech_started",
                    "audio_start_ms": 10,
                    "item_id": "item_u",
                },
                response_done("resp_1", status="cancelled"),
            ],
        ),
    )
    async with await open_session(server) as session:  # default: semantic_vad, interrupt_response
        await session.send_message("Hello")
        await events_until(session, nth("audio", 1))
        await session.send_audio(b"\x01\x00" * 480)
        await events_until(session, nth("agent_end", 1))
        await events_until(session, nth("history_updated", 1))
    assert "response.cancel" not in server.received_types()
    (truncate,) = server.of_type("conversation.item.truncate")
    assert 0 <= truncate["audio_end_ms"] <= 200  # at most what had arrived


async def test_audio_turn_history_and_sensitive_audio_on_spans(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    voice = b"\x02\x00" * 2400
    server.script(
        Step(
            "input_audio_buffer.commit",
            [
                {
                    "type": "input_audio_buffer.committed",
                    "item_id": "item_u1",
                    "previous_item_id": None,
                },
                {
                    "type": "conversation.item.added",
                    "previous_item_id": None,
                    "item": {
                        "id": "item_u1",
                        "type": "message",
                        "role": "user",
                        "status": "completed",
                        "content": [{"type": "input_audio", "transcript": None}],
                    },
                },
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": "item_u1",
                    "content_index": 0,
                    "transcript": "what's the weather",
                    "usage": {"type": "duration", "seconds": 0.2},
                },
                *spoken_response("resp_1", "item_m1", "Ask me about a city.", PCM_200MS),
            ],
        ),
    )
    config: RealtimeRunConfig = {"trace_include_sensitive_audio_data": True}
    async with await open_session(server, assistant, config) as session:
        await session.send_audio(voice[:2400])
        await session.send_audio(voice[2400:], commit=True)
        events = await events_until(session, nth("agent_end", 1))

    assert not [e for e in events if e.type == "error"]
    appended = b"".join(
        base64.b64decode(e["audio"]) for e in server.of_type("input_audio_buffer.append")
    )
    assert appended == voice
    added = [e.item.item_id for e in events if e.type == "history_added"]
    assert added[:2] == ["item_u1", "item_m1"]
    user = session.history[0]
    assert (user.role, user.content[0].type, user.content[0].transcript) == (
        "user",
        "input_audio",
        "what's the weather",
    )
    (transcription,) = spans_of(spans.ended_spans, "transcription")
    assert transcription.span_data.output == "what's the weather"
    assert base64.b64decode(transcription.span_data.input) == voice
    assert transcription.span_data.model == "gpt-4o-mini-transcribe"
    (speech,) = spans_of(spans.ended_spans, "speech")
    assert base64.b64decode(speech.span_data.output) == PCM_200MS
    assert span_tree(spans.ended_spans) == [
        "agent Assistant",
        "  transcription",
        "  response",
        "    speech",
    ]


async def test_failed_transcription_marks_the_transcription_span(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    server.script(
        Step(
            "input_audio_buffer.commit",
            [
                {
                    "type": "input_audio_buffer.committed",
                    "item_id": "item_u1",
                    "previous_item_id": None,
                },
                {
                    "type": "conversation.item.input_audio_transcription.failed",
                    "item_id": "item_u1",
                    "content_index": 0,
                    "error": {
                        "type": "transcription_error",
                        "code": "audio_unintelligible",
                        "message": "Audio unintelligible",
                    },
                },
                *spoken_response("resp_1", "item_m1", "Sorry, could you repeat that?"),
            ],
        ),
    )
    async with await open_session(server) as session:
        await session.send_audio(b"\x00\x00" * 2400, commit=True)
        events = await events_until(session, nth("agent_end", 1))
    (error,) = [e.error for e in events if e.type == "error"]
    assert (error["type"], error["code"], error["item_id"]) == (
        "transcription_failed",
        "audio_unintelligible",
        "item_u1",
    )
    (heard,) = spans_of(spans.ended_spans, "transcription")
    assert heard.error == {
        "message": "transcription of the user's audio failed: Audio unintelligible",
        "data": {"type": "transcription_failed"},
    }
    (response,) = spans_of(spans.ended_spans, "response")
    assert response.error is None
