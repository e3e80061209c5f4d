"""`OpenAIRealtimeWebSocketModel`'s connection and its faults, against a real WebSocket server on
127.0.0.1: authentication (API key, client secret, own headers), the URL, refused and dropped
connections, a server closing mid-response, malformed and unknown server events, bad settings.
In every fault the session says what went wrong, and its history and trace are kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentoscope.runtime import UserError, function_tool
from agentoscope.runtime.realtime import (
    OpenAIRealtimeWebSocketModel,
    RealtimeAgent,
    RealtimeConnectionError,
    RealtimeModelOtherEvent,
    RealtimeModelSendRawMessage,
    RealtimeRunner,
    RealtimeSession,
)
from agentoscope.tracing import add_trace_processor, span_record
from support.collect import CollectingProcessor
from support.fake_realtime import (
    FakeRealtimeServer,
    Step,
    response_created,
    spoken_message,
    spoken_response,
)
from support.realtime_checks import events_until, nth, span_tree, spans_of

agent = RealtimeAgent(name="Assistant", instructions="Be brief.")


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer() as fake:
        yield fake


@pytest.fixture
def spans() -> CollectingProcessor:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    return collector


async def session_for(model_config: dict[str, Any], **runner: Any) -> RealtimeSession:
    return await RealtimeRunner(agent, model=OpenAIRealtimeWebSocketModel(), **runner).run(
        model_config=model_config  # type: ignore[arg-type]
    )


async def test_client_secret_from_a_function_and_a_url_with_its_own_query(
    server: FakeRealtimeServer,
) -> None:
    async def mint_client_secret() -> str:
        return "ek_test_client_secret_0123456789"

    url = f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime-mini&tenant=a"
    async with await session_for({"url": url, "api_key": mint_client_secret}):
        pass
    await server.wait_closed()
    assert server.request_path == "/v1/realtime?model=gpt-realtime-mini&tenant=a"
    assert server.request_headers["authorization"] == "Bearer ek_test_client_secret_0123456789"
    assert server.client_close_code == 1000


async def test_own_headers_replace_the_authorization_header(server: FakeRealtimeServer) -> None:
    async with await session_for({"url": server.url, "headers": {"api-key": "azure-key"}}):
        pass
    await server.wait_closed()
    assert server.request_headers["api-key"] == "azure-key"
    assert "authorization" not in server.request_headers


async def test_model_name_goes_to_the_url_and_the_session(server: FakeRealtimeServer) -> None:
    config = {"model_settings": {"model_name": "gpt-realtime-mini", "voice": "marin"}}
    async with await session_for({"url": server.url, "api_key": "k"}, config=config):
        pass
    await server.wait_closed()
    assert server.request_path == "/v1/realtime?model=gpt-realtime-mini"
    session = server.received[0]["session"]
    assert (session["model"], session["audio"]["output"]["voice"]) == ("gpt-realtime-mini", "marin")


async def test_refused_connection_is_a_clear_error_and_the_trace_says_so(
    spans: CollectingProcessor,
) -> None:
    async with FakeRealtimeServer() as gone:
        url = gone.url  # the port is free again once the server is closed
    with pytest.raises(RealtimeConnectionError) as raised:
        async with await session_for({"url": url, "api_key": "k"}):
            pass
    assert "could not connect to the realtime server at ws://127.0.0.1:" in str(raised.value)
    assert isinstance(raised.value.__cause__, OSError)
    assert len(spans.ended_traces) == 1
    (agent_span,) = spans_of(spans.ended_spans, "agent")
    assert agent_span.error["data"]["type"] == "RealtimeConnectionError"


async def test_server_closing_mid_response_raises_and_keeps_history_and_trace(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    server.script(
        Step(
            "response.create",
            [
                response_created("resp_1"),
                *spoken_message(
                    "resp_1", "item_a", ["Half an ans", "wer"], [bytes(4800)], done=False
                ),
            ],
            close=(1011, "overloaded"),
        )
    )
    session = await session_for({"url": server.url, "api_key": "k"})
    with pytest.raises(RealtimeConnectionError) as raised:
        async with session:
            await session.send_message("Question")
            async for _ in session:
                pass
    assert str(raised.value) == (
        f"the realtime server at ws://127.0.0.1:{server.port}/v1/realtime closed the connection "
        "in the middle of a response (code 1011: overloaded)"
    )
    assert [item.role for item in session.history] == ["user", "assistant"]  # type: ignore[union-attr]
    assert session.history[1].content[0].transcript == "Half an answer"  # type: ignore[union-attr]
    assert span_tree(spans.ended_spans) == ["agent Assistant", "  response", "    speech"]
    response = span_record(spans_of(spans.ended_spans, "response")[0])
    assert (response["status"], response["error_type"]) == ("error", "RealtimeConnectionError")
    assert "in the middle of a response" in response["error_message"]
    (agent_span,) = spans_of(spans.ended_spans, "agent")
    assert agent_span.error is not None
    assert len(spans.ended_traces) == 1


async def test_dropped_connection_without_a_close_frame(server: FakeRealtimeServer) -> None:
    server.script(Step("conversation.item.create", [], abort=True))
    session = await session_for({"url": server.url, "api_key": "k"})
    with pytest.raises(RealtimeConnectionError, match=r"closed the connection \(code 1006\)"):
        async with session:
            await session.send_message("Hello?")
            async for _ in session:
                pass


async def test_server_closing_cleanly_between_responses_ends_the_iteration(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    server.script(
        Step("response.create", spoken_response("resp_1", "item_a", "Goodbye.")),
        Step(None, close=(1000, "bye")),
    )
    async with await session_for({"url": server.url, "api_key": "k"}) as session:
        await session.send_message("Bye")
        kinds = [event.type async for event in session if event.type != "raw_model_event"]
    assert kinds[-1] == "agent_end"
    assert spans_of(spans.ended_spans, "response")[0].error is None


async def test_malformed_and_unknown_server_events(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    server.script(
        Step(
            "response.create",
            [
                "this is not json",
                {"type": "response.output_audio.delta", "response_id": "resp_0", "delta": "AAAA"},
                {"no_type": True},
                {"type": "vendor.custom_metrics", "latency_ms": 12},
                *spoken_response("resp_1", "item_a", "Still here."),
            ],
        )
    )
    async with await session_for({"url": server.url, "api_key": "k"}) as session:
        await session.send_message("Hi")
        events = await events_until(session, nth("agent_end", 1), raw=True)

    errors = [event.error["message"] for event in events if event.type == "error"]
    assert errors[0].startswith("malformed server event: not JSON")
    assert errors[1] == (
        "malformed server event 'response.output_audio.delta': content_index: Field required; "
        "item_id: Field required; output_index: Field required"
    )
    assert errors[2].startswith("malformed server event: no 'type' in")
    assert len(errors) == 3  # the unknown type is no error...
    others = [e.data for e in events if e.type == "raw_model_event" and e.data.type == "other"]
    # ...it is passed on as it came
    assert others == [
        RealtimeModelOtherEvent(
            data={
                "type": "vendor.custom_metrics",
                "latency_ms": 12,
                "event_id": others[0].data["event_id"],
            }
        )
    ]
    assert session.history[-1].content[0].transcript == "Still here."  # type: ignore[union-attr]
    (agent_span,) = spans_of(spans.ended_spans, "agent")
    assert agent_span.error["message"].startswith("malformed server event")


async def test_server_error_event_reaches_the_session_and_the_response_span(
    server: FakeRealtimeServer, spans: CollectingProcessor
) -> None:
    error = {
        "type": "server_error",
        "code": "rate_limit_exceeded",
        "message": "Too many requests",
        "event_id": None,
        "param": None,
    }
    server.script(
        Step(
            "response.create",
            [
                response_created("resp_1"),
                {"type": "error", "error": error},
                *spoken_response("resp_1", "item_a", "ok")[1:],
            ],
        )
    )
    async with await session_for({"url": server.url, "api_key": "k"}) as session:
        await session.send_message("Hi")
        events = await events_until(session, nth("agent_end", 1))
    (reported,) = [event.error for event in events if event.type == "error"]
    assert reported["code"] == "rate_limit_exceeded"
    response = span_record(spans_of(spans.ended_spans, "response")[0])
    assert (response["error_type"], response["error_message"]) == (
        "rate_limit_exceeded",
        "Too many requests",
    )


async def test_bad_settings_are_errors_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="No API key for the realtime model"):
        async with await session_for({"url": "ws://127.0.0.1:9/v1/realtime"}):
            pass
    with pytest.raises(UserError, match="must end in /realtime"):
        async with await session_for({"url": "ws://127.0.0.1:9/v1/chat", "api_key": "k"}):
            pass
    with pytest.raises(UserError, match=r"unsupported key.*tool_execution"):
        RealtimeRunner(agent, config={"tool_execution": {}})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(UserError, match=r"model_settings: unsupported key.*temperature"):
        RealtimeRunner(agent, config={"model_settings": {"temperature": 0.2}})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(UserError, match=r"transport_config: unsupported key.*retries"):
        OpenAIRealtimeWebSocketModel(transport_config={"retries": 3})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(UserError, match="debounce_text_length must be an int >= 1"):
        RealtimeRunner(agent, config={"guardrails_settings": {"debounce_text_length": 0}})

    class NotAFunctionTool:
        name = "web_search"

    hosted = RealtimeAgent(name="Searcher", tools=[NotAFunctionTool()])  # type: ignore[list-item]
    with pytest.raises(UserError, match="function tools only; 'web_search'"):
        async with await RealtimeRunner(hosted, model=OpenAIRealtimeWebSocketModel()).run(
            model_config={"url": "ws://127.0.0.1:9/v1/realtime", "api_key": "k"}
        ):
            pass


async def test_send_message_rejects_parts_it_cannot_send(server: FakeRealtimeServer) -> None:
    async with await session_for({"url": server.url, "api_key": "k"}) as session:
        with pytest.raises(UserError, match=r"content\[1\] must be input_text"):
            await session.send_message(
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hi"}, {"type": "input_file"}],  # type: ignore[list-item]
                }
            )
    assert "conversation.item.create" not in server.received_types()


async def test_tool_names_colliding_with_a_handoff_are_an_error(server: FakeRealtimeServer) -> None:
    @function_tool(name_override="transfer_to_billing")
    def impostor() -> str:
        """Pretends to be a handoff."""
        return "no"

    clash = RealtimeAgent(name="Clash", tools=[impostor], handoffs=[RealtimeAgent(name="Billing")])
    with pytest.raises(UserError, match="'transfer_to_billing' is used twice"):
        async with await RealtimeRunner(clash, model=OpenAIRealtimeWebSocketModel()).run(
            model_config={"url": server.url, "api_key": "k"}
        ):
            pass


async def test_attaching_to_a_call_and_sending_a_raw_client_event(
    server: FakeRealtimeServer,
) -> None:
    async with await session_for({"url": server.url, "api_key": "k", "call_id": "rtc_123"}) as s:
        await s.model.send_event(
            RealtimeModelSendRawMessage(
                message={"type": "input_audio_buffer.clear", "other_data": {"event_id": "mine"}}
            )
        )
    await server.wait_closed()
    assert server.request_path == "/v1/realtime?call_id=rtc_123"
    assert server.received[-1] == {"type": "input_audio_buffer.clear", "event_id": "mine"}


async def test_tool_settings_a_session_cannot_honour_are_errors(server: FakeRealtimeServer) -> None:
    @function_tool(needs_approval=True)
    def delete_account() -> str:
        """Delete the caller's account."""
        return "deleted"

    careful = RealtimeAgent(name="Careful", tools=[delete_account])
    with pytest.raises(UserError, match="'delete_account': needs_approval is not supported"):
        async with await RealtimeRunner(careful, model=OpenAIRealtimeWebSocketModel()).run(
            model_config={"url": server.url, "api_key": "k"}
        ):
            pass
