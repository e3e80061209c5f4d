"""The demo's realtime phone line: a caller speaks to a `RealtimeAgent`, which looks the order up
with a tool and hands the billing question to a billing agent. Offline it runs on a
`ScriptedRealtimeModel` (the caller's audio is silence the script "transcribes"); online on
OpenAI's Realtime API in text mode, where the model decides for itself."""

from __future__ import annotations

from typing import Any

from agentoscope.runtime.realtime import (
    OpenAIRealtimeWebSocketModel,
    RealtimeAgent,
    RealtimeModel,
    RealtimeRunConfig,
    RealtimeRunner,
    ScriptedRealtimeModel,
    ScriptedRealtimeTurn,
)

from .demo_workflows import get_invoice, lookup_order

CALLER = "Where is my order A-1003? And I think I was charged twice on invoice INV-77."
MAX_RESPONSES = 6


def phone_agents() -> RealtimeAgent[Any]:
    billing = RealtimeAgent(
        name="Phone billing",
        handoff_description="Charges, invoices and refunds.",
        instructions="You handle billing questions on the phone. Be short.",
        tools=[get_invoice],
    )
    return RealtimeAgent(
        name="Phone agent",
        instructions="You answer the phone for a shop. Look orders up; hand billing to billing.",
        tools=[lookup_order],
        handoffs=[billing],
    )


def scripted_call() -> ScriptedRealtimeModel:
    return ScriptedRealtimeModel(
        [
            ScriptedRealtimeTurn(tool_calls=[("lookup_order", {"order_id": "A-1003"})]),
            ScriptedRealtimeTurn(
                text="Order A-1003 was delivered. Let me pass you to billing for the charge.",
                tool_calls=[("transfer_to_phone_billing", {})],
            ),
            ScriptedRealtimeTurn(tool_calls=[("get_invoice", {"invoice_id": "INV-77"})]),
            ScriptedRealtimeTurn(
                text="Invoice INV-77 was charged twice; the duplicate will be refunded."
            ),
        ],
        user_transcripts=[CALLER],
        model="gpt-realtime",
    )


async def phone_line(online: bool, metadata: dict[str, Any]) -> str:
    """One call; returns what the last agent said."""
    model: RealtimeModel = OpenAIRealtimeWebSocketModel() if online else scripted_call()
    config: RealtimeRunConfig = {
        "model_settings": {
            "output_modalities": ["text"] if online else ["audio"],
            "tracing": {"workflow_name": "Realtime phone line", "metadata": metadata},
        }
    }
    runner = RealtimeRunner(phone_agents(), model=model, config=config)
    said = ""
    async with await runner.run() as session:
        if online:
            await session.send_message(CALLER)
        else:
            await session.send_audio(bytes(24_000), commit=True)  # half a second of the caller
        responses = tools_in_turn = 0
        async for event in session:
            if event.type == "agent_start":
                tools_in_turn = 0
            elif event.type == "raw_model_event" and event.data.type == "function_call":
                tools_in_turn += 1  # tools and handoffs, seen before their response ends
            elif event.type == "agent_end":
                responses += 1
                # An answer without a tool call or handoff ends the call.
                if tools_in_turn == 0 or responses >= MAX_RESPONSES:
                    break
            elif event.type == "error":
                raise RuntimeError(f"realtime phone line: {event.error}")
        for item in reversed(session.history):
            if item.type == "message" and item.role == "assistant":
                said = " ".join(
                    getattr(part, "transcript", None) or getattr(part, "text", None) or ""
                    for part in item.content
                )
                break
    return said
