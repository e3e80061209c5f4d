"""Human in the loop with a policy: only large refunds wait; one call is rejected with a message,
another approved for good (always_approve), and the run goes on to its answer."""

import asyncio

from agents import Agent, Runner, function_tool

from ._record import client, install, responses_model, save

ran: list[str] = []


async def large(ctx, params, call_id) -> bool:
    return params.get("amount", 0) > 100


@function_tool(needs_approval=large)
def refund(order: str, amount: int) -> str:
    """Refund an order."""
    ran.append(f"refund:{order}")
    return f"refunded {amount} on {order}"


@function_tool(needs_approval=True)
def close_account(user: str) -> str:
    """Close an account."""
    ran.append(f"close:{user}")
    return f"closed {user}"


async def main() -> None:
    openai_client = client()
    agent = Agent(
        name="Back office",
        tools=[refund, close_account],
        model=responses_model(openai_client),
    )
    recorder = install()
    result = await Runner.run(agent, "Refund 30 on order 1 and 500 on order 2, close bob")
    rounds = []
    while result.interruptions:
        state = result.to_state()
        names = []
        for item in result.interruptions:
            names.append(item.name)
            if item.name == "close_account":
                state.reject(item, rejection_message="Accounts are closed by a manager.")
            else:
                state.approve(item, always_approve=True)
        rounds.append(names)
        result = await Runner.run(agent, state)
    save(
        recorder,
        rounds=rounds,
        ran=ran,
        final=result.final_output,
        outputs=[i.output for i in result.new_items if i.type == "tool_call_output_item"],
        item_types=[i.type for i in result.new_items],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
