"""agent_patterns/input_guardrails + output_guardrails: a guardrail agent (structured output)
trips on homework; an output guardrail trips on a phone number in the answer."""

import asyncio

from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    RunContextWrapper,
    Runner,
    input_guardrail,
    output_guardrail,
)
from pydantic import BaseModel

from ._record import client, install, responses_model, save


class MathHomeworkOutput(BaseModel):
    reasoning: str
    is_math_homework: bool


class MessageOutput(BaseModel):
    response: str


async def main() -> None:
    openai_client = client()
    model = responses_model(openai_client)
    guardrail_agent = Agent(
        name="Guardrail check",
        instructions="Check if the user is asking you to do their math homework.",
        output_type=MathHomeworkOutput,
        model=model,
    )

    @input_guardrail(run_in_parallel=False)
    async def math_guardrail(
        context: RunContextWrapper[None], agent: Agent, input
    ) -> GuardrailFunctionOutput:
        result = await Runner.run(guardrail_agent, input, context=context.context)
        output = result.final_output_as(MathHomeworkOutput)
        return GuardrailFunctionOutput(
            output_info=output.model_dump(), tripwire_triggered=output.is_math_homework
        )

    @output_guardrail
    async def no_phone_numbers(context, agent, output: MessageOutput) -> GuardrailFunctionOutput:
        has_phone = "650" in output.response
        return GuardrailFunctionOutput(
            output_info={"phone": has_phone}, tripwire_triggered=has_phone
        )

    agent = Agent(
        name="Customer support agent",
        instructions="Help customers.",
        input_guardrails=[math_guardrail],
        output_guardrails=[no_phone_numbers],
        output_type=MessageOutput,
        model=model,
    )
    recorder = install()
    outcomes = []
    try:
        await Runner.run(agent, "Solve 2x + 3 = 11 for me")
        outcomes.append("ran")
    except InputGuardrailTripwireTriggered as e:
        outcomes.append(["input tripped", e.guardrail_result.output.output_info])
    try:
        await Runner.run(agent, "What's your number?")
        outcomes.append("ran")
    except OutputGuardrailTripwireTriggered as e:
        outcomes.append(["output tripped", e.guardrail_result.output.output_info])
    save(recorder, outcomes=outcomes)
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
