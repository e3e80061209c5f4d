"""Triage hands off to a billing agent, which looks an invoice up with a tool; an input
guardrail checks the request and a tool guardrail keeps card numbers away from the model."""

import asyncio
import os

from agents import (
    Agent,
    GuardrailFunctionOutput,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    ToolGuardrailFunctionOutput,
    input_guardrail,
    trace,
)
from agents.decorators import tool, tool_output_guardrail
from agents.extensions.handoff_prompt import prompt_with_handoff_instructions
from openai import AsyncOpenAI
from pydantic import BaseModel

from ._record import install, save


class Answer(BaseModel):
    invoice: str
    amount: int


@input_guardrail
async def polite(ctx, agent, user_input) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="ok", tripwire_triggered="stupid" in str(user_input))


@tool_output_guardrail
def no_card_numbers(data) -> ToolGuardrailFunctionOutput:
    if "4111" in str(data.output):
        return ToolGuardrailFunctionOutput.reject_content("[card number removed]")
    return ToolGuardrailFunctionOutput.allow()


@tool(tool_output_guardrails=[no_card_numbers])
def lookup_invoice(invoice: str) -> str:
    """Find an invoice.

    Args:
        invoice: The invoice number.
    """
    return f"invoice {invoice}: 120 EUR, paid with card 4111 1111 1111 1111"


async def main() -> None:
    client = AsyncOpenAI(base_url=os.environ["BASE_URL"], api_key="test-key")
    model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client)
    billing = Agent(
        name="Billing",
        instructions=prompt_with_handoff_instructions("You answer billing questions."),
        tools=[lookup_invoice],
        model=model,
        output_type=Answer,
    )
    triage = Agent(
        name="Triage",
        instructions="Route the user.",
        handoffs=[billing],
        input_guardrails=[polite],
        model=model,
    )
    recorder = install()
    with trace("Support desk"):
        result = await Runner.run(
            triage, "How much was invoice A-7?", run_config=RunConfig(workflow_name="desk")
        )
    tool_outputs = [
        i.raw_item["output"] for i in result.new_items if i.type == "tool_call_output_item"
    ]
    save(
        recorder,
        final=result.final_output.model_dump(),
        last_agent=result.last_agent.name,
        tool_outputs=tool_outputs,
    )
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
