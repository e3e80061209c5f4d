"""Output guardrails on the streaming transcript. Each time an item's transcript has grown by
`debounce_text_length` characters, the active agent's guardrails (and the run config's) run on
it in a background task, each in a `guardrail` span. A trip interrupts the response (audio cut
at what was played, response cancelled), says so with a `guardrail_tripped` event, and tells
the model which guardrail tripped, as the SDK does."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from agentoscope.tracing import error_from_exception

from ..guardrail import OutputGuardrail, OutputGuardrailResult
from .events import RealtimeError, RealtimeGuardrailTripped
from .model_inputs import RealtimeModelSendInterrupt, RealtimeModelSendUserInput

if TYPE_CHECKING:
    from .agent import RealtimeAgent
    from .session import RealtimeSession


class OutputGuardrailRunner:
    def __init__(self, session: RealtimeSession) -> None:
        self._session = session
        self._texts: dict[str, str] = {}
        self._runs: dict[str, int] = {}
        self._interrupted: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def _debounce(self) -> int:
        settings = self._session.run_config.get("guardrails_settings") or {}
        return settings.get("debounce_text_length", 100)

    def interrupted(self, response_id: str) -> bool:
        return response_id in self._interrupted

    def on_delta(
        self, response_id: str, item_id: str, delta: str, agent: RealtimeAgent[Any]
    ) -> str:
        """Add a delta; returns the item's transcript so far."""
        text = self._texts.get(item_id, "") + delta
        self._texts[item_id] = text
        runs = self._runs.get(item_id, 0)
        if len(text) >= (runs + 1) * self._debounce and self._guardrails(agent):
            self._runs[item_id] = len(text) // self._debounce
            task = asyncio.create_task(self._check(text, response_id, agent))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return text

    def response_ended(self, response_id: str) -> None:
        self._texts.clear()
        self._runs.clear()
        self._interrupted.discard(response_id)

    def _guardrails(self, agent: RealtimeAgent[Any]) -> list[OutputGuardrail]:
        found: list[OutputGuardrail] = []
        for guardrail in [
            *agent.output_guardrails,
            *(self._session.run_config.get("output_guardrails") or []),
        ]:
            if all(guardrail is not other for other in found):
                found.append(guardrail)
        return found

    async def _check(self, text: str, response_id: str, agent: RealtimeAgent[Any]) -> None:
        session = self._session
        tripped: list[OutputGuardrailResult] = []
        for guardrail in self._guardrails(agent):
            if response_id in self._interrupted or session.is_closed:
                return
            span = session.tracer.guardrail_span(guardrail.get_name(), response_id)
            span.start()
            try:
                result = await guardrail.run(session.context_wrapper, agent, text)  # type: ignore[arg-type]
            except Exception as error:
                span.set_error(error_from_exception(error))
                span.finish()
                await session.put_event(
                    RealtimeError(
                        error={"message": f"guardrail {guardrail.get_name()!r} failed: {error!r}"},
                        info=session.event_info,
                    )
                )
                continue
            span.span_data.triggered = result.output.tripwire_triggered
            span.finish()
            if result.output.tripwire_triggered:
                tripped.append(result)
        if not tripped or response_id in self._interrupted or session.is_closed:
            return
        self._interrupted.add(response_id)
        await session.put_event(
            RealtimeGuardrailTripped(
                guardrail_results=tripped, message=text, info=session.event_info
            )
        )
        names = ", ".join(result.guardrail.get_name() for result in tripped)
        try:
            await session.send_model_event(RealtimeModelSendInterrupt(force_response_cancel=True))
            await session.send_model_event(
                RealtimeModelSendUserInput(user_input=f"guardrail triggered: {names}")
            )
        except Exception as error:
            await session.put_event(
                RealtimeError(
                    error={"message": f"could not interrupt the response: {error!r}"},
                    info=session.event_info,
                )
            )

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
