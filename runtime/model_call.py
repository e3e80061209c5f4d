"""Resolving an agent's model and calling it, plain or streamed. The model opens its own
generation/response span; this module only feeds it and collects the response."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from openai.types.responses import Response

from .agent import Agent
from .agent_output import AgentOutputSchemaBase
from .exceptions import ModelBehaviorError, UserError
from .handoffs import Handoff
from .items import ModelResponse, TResponseInputItem
from .model_settings import ModelSettings
from .models.interface import Model, ModelProvider, ModelTracing
from .run_config import CallModelData, ModelInputData, RunConfig
from .run_context import RunContextWrapper
from .stream_events import RawResponsesStreamEvent, StreamEvent
from .usage import Usage

_default_provider: ModelProvider | None = None


def default_model_provider() -> ModelProvider:
    """A MultiProvider, made on first use (it is the OpenAI models' module, loaded lazily)."""
    global _default_provider
    if _default_provider is None:
        try:
            from .models.multi_provider import MultiProvider
        except ImportError as exc:
            raise UserError(
                "No model provider: pass a Model instance (e.g. ScriptedModel) as Agent.model "
                "or RunConfig.model, or set RunConfig.model_provider"
            ) from exc
        _default_provider = MultiProvider()
    return _default_provider


def resolve_model(agent: Agent[Any], run_config: RunConfig, cache: dict[int, Model]) -> Model:
    """RunConfig.model wins over Agent.model; names go through the model provider. One
    resolution per agent per run."""
    cached = cache.get(id(agent))
    if cached is not None:
        return cached
    choice = run_config.model if run_config.model is not None else agent.model
    if isinstance(choice, Model):
        model = choice
    else:
        provider = run_config.model_provider or default_model_provider()
        model = provider.get_model(choice)
    cache[id(agent)] = model
    return model


async def filter_model_input(
    run_config: RunConfig,
    agent: Agent[Any],
    context: RunContextWrapper[Any],
    instructions: str | None,
    input_items: list[TResponseInputItem],
) -> tuple[str | None, list[TResponseInputItem]]:
    """Apply RunConfig.call_model_input_filter, if any."""
    model_filter = run_config.call_model_input_filter
    if model_filter is None:
        return instructions, input_items
    data = CallModelData(
        model_data=ModelInputData(input=list(input_items), instructions=instructions),
        agent=agent,
        context=context.context,
    )
    result = model_filter(data)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, ModelInputData):
        raise UserError("call_model_input_filter must return a ModelInputData")
    return result.instructions, list(result.input)


async def call_model(
    model: Model,
    *,
    instructions: str | None,
    input_items: list[TResponseInputItem],
    settings: ModelSettings,
    tools: list[Any],
    output_schema: AgentOutputSchemaBase | None,
    handoffs: list[Handoff],
    tracing: ModelTracing,
    previous_response_id: str | None,
    conversation_id: str | None,
    prompt: Any | None,
    emit: Callable[[StreamEvent], None] | None,
) -> ModelResponse:
    """One model call. With `emit`, the model streams and every raw event is passed on; the
    response is what its `response.completed` event carries."""
    if emit is None:
        return await model.get_response(
            instructions,
            input_items,
            settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        )
    final: Response | None = None
    async for event in model.stream_response(
        instructions,
        input_items,
        settings,
        tools,
        output_schema,
        handoffs,
        tracing,
        previous_response_id=previous_response_id,
        conversation_id=conversation_id,
        prompt=prompt,
    ):
        emit(RawResponsesStreamEvent(data=event))
        if event.type == "response.completed":
            final = event.response
    if final is None:
        raise ModelBehaviorError("The model's stream ended without a response.completed event")
    return ModelResponse(
        output=list(final.output),
        usage=Usage.from_openai(final.usage),
        response_id=final.id,
    )
