"""basic/hello_world: one agent, one answer, with Runner.run_sync, inside a trace of our own
with a custom span around the run."""

from agents import Agent, Runner, custom_span, gen_trace_id, trace

from ._record import client, install, responses_model, save


def main() -> None:
    openai_client = client()
    agent = Agent(
        name="Assistant",
        instructions="You only respond in haikus.",
        model=responses_model(openai_client),
    )
    recorder = install()
    trace_id = gen_trace_id()
    with trace("Haiku workflow", trace_id=trace_id, group_id="thread-1"):
        with custom_span("compose", {"topic": "recursion"}):
            result = Runner.run_sync(agent, "Tell me about recursion in programming.")
    save(
        recorder,
        final=result.final_output,
        trace_id_is_ours=recorder.traces == [trace_id],
        last_agent=result.last_agent.name,
    )


if __name__ == "__main__":
    main()
