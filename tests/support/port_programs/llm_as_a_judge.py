"""agent_patterns/llm_as_a_judge: a generator writes, an evaluator (structured output with a
Literal) judges, and the loop goes on until it passes, feeding back through to_input_list()."""

import asyncio
from dataclasses import dataclass
from typing import Literal

from agents import Agent, ItemHelpers, Runner, TResponseInputItem, trace

from ._record import client, install, responses_model, save


@dataclass
class EvaluationFeedback:
    feedback: str
    score: Literal["pass", "needs_improvement", "fail"]


async def main() -> None:
    openai_client = client()
    model = responses_model(openai_client)
    generator = Agent(name="story_outline_generator", instructions="Write an outline.", model=model)
    evaluator = Agent[None](
        name="evaluator",
        instructions="Judge the outline.",
        output_type=EvaluationFeedback,
        model=model,
    )
    recorder = install()
    input_items: list[TResponseInputItem] = [
        {"content": "A story about a lighthouse", "role": "user"}
    ]
    outlines: list[str] = []
    scores: list[str] = []
    with trace("LLM as a judge"):
        while True:
            story = await Runner.run(generator, input_items)
            input_items = story.to_input_list()
            outlines.append(ItemHelpers.text_message_outputs(story.new_items))
            judged = await Runner.run(evaluator, input_items)
            result: EvaluationFeedback = judged.final_output
            scores.append(result.score)
            if result.score == "pass":
                break
            input_items.append({"content": f"Feedback: {result.feedback}", "role": "user"})
    save(recorder, outlines=outlines, scores=scores, inputs=len(input_items))
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
