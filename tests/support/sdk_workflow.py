"""A real `Runner.run` of the official openai-agents SDK, offline, that emits every span type.

Triage (input guardrail) hands off to a specialist that calls a tool (with an output guardrail),
under a user trace that also opens the span types a text-only run never does (response, custom,
mcp_tools, transcription, speech, speech_group).
"""

from __future__ import annotations

from typing import Any

import agents
from agents.testing import ScriptedModel, assistant_message, function_call

SDK_SPAN_TYPES = {
    "task",
    "turn",
    "agent",
    "generation",
    "response",
    "function",
    "handoff",
    "guardrail",
    "custom",
    "mcp_tools",
    "transcription",
    "speech",
    "speech_group",
}


class AdapterLikeScriptedModel(ScriptedModel):
    """The SDK's ScriptedModel opens generation spans without usage; real adapters (chat
    completions, LiteLLM) record model, input, output and usage. This one does too."""

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        with agents.generation_span(
            model="scripted-model", model_config={"temperature": 0}
        ) as span:
            response = await super().get_response(*args, **kwargs)
            usage = response.usage
            span.span_data.usage = {
                "requests": 1,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
                "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 2},
            }
            span.span_data.output = [item.model_dump() for item in response.output]
        return response


@agents.function_tool
def lookup_order(order_id: str) -> str:
    """Look up an order.

    Args:
        order_id: The order number.
    """
    return f"order {order_id}: shipped"


@agents.input_guardrail
def no_secrets(ctx: Any, agent: Any, user_input: Any) -> agents.GuardrailFunctionOutput:
    return agents.GuardrailFunctionOutput(output_info={"checked": True}, tripwire_triggered=False)


@agents.output_guardrail
def polite(ctx: Any, agent: Any, output: Any) -> agents.GuardrailFunctionOutput:
    return agents.GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)


def build_agents() -> agents.Agent:
    usage = agents.Usage(requests=1, input_tokens=20, output_tokens=5, total_tokens=25)
    specialist = agents.Agent(
        name="Orders",
        instructions="Answer order questions.",
        tools=[lookup_order],
        output_guardrails=[polite],
        model=AdapterLikeScriptedModel(
            [
                [function_call("lookup_order", {"order_id": "42"}, call_id="call_1")],
                [assistant_message("Order 42 has shipped.")],
            ],
            default_usage=usage,
        ),
    )
    return agents.Agent(
        name="Triage",
        instructions="Route the user.",
        handoffs=[specialist],
        input_guardrails=[no_secrets],
        model=AdapterLikeScriptedModel(
            [[function_call("transfer_to_orders", {}, call_id="call_h")]],
            default_usage=usage,
        ),
    )


async def run_sdk_workflow() -> tuple[str, Any]:
    """Run the workflow inside a user trace; return the trace id and the run result."""
    with agents.trace("SDK drop-in", group_id="conv-sdk") as sdk_trace:
        result = await agents.Runner.run(build_agents(), "Where is order 42?")
        with agents.response_span(response=None) as response:
            response.span_data.usage = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
        with agents.custom_span("post-process", {"step": 1}):
            pass
        with agents.mcp_tools_span(server="files", result=["read", "write"]):
            pass
        with agents.speech_group_span(input="hello"):
            with agents.transcription_span(model="whisper-1", input="aGk=", output="hi"):
                pass
            with agents.speech_span(model="tts-1", input="hi", output="b64"):
                pass
    return sdk_trace.trace_id, result
