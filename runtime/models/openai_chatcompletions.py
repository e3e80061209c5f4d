"""A model on the Chat Completions API (`client.chat.completions.create`), streaming included.

This is the API most OpenAI-compatible servers speak (vLLM, Ollama, LiteLLM proxy, Azure...).
Input items are converted to chat messages and the reply back to Responses items, so the rest of
the runtime never sees the difference. Each call opens one `generation` span with the model, its
configuration, the messages in and out (when data may be recorded) and usage. Streamed chunks are
turned into Responses API stream events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletion
from openai.types.responses import ResponseStreamEvent

from agentoscope.tracing import generation_span

from ..exceptions import ModelBehaviorError
from ..items import ModelResponse
from .chatcmpl_converter import (
    convert_response_format,
    convert_tool_choice,
    items_to_messages,
    message_for_trace,
    message_to_output_items,
    tools_to_chat,
)
from .chatcmpl_stream import ChatStreamConverter
from .interface import Model, ModelTracing
from .openai_shared import (
    logger,
    merge_extra_args,
    model_config_for_trace,
    omit_if_none,
    span_error,
    timeout_param,
    usage_from_openai,
)

if TYPE_CHECKING:
    from ..agent_output import AgentOutputSchemaBase
    from ..handoffs import Handoff
    from ..items import TResponseInputItem
    from ..model_settings import ModelSettings
    from ..tool import Tool


class OpenAIChatCompletionsModel(Model):
    """`model` on any server that speaks Chat Completions, through `openai_client`."""

    def __init__(self, model: str, openai_client: AsyncOpenAI) -> None:
        self.model = model
        self._client = openai_client
        self._warned: set[str] = set()

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any | None = None,
    ) -> ModelResponse:
        self._warn_unsupported(previous_response_id, conversation_id, prompt)
        with self._span(model_settings, tracing) as span:
            try:
                kwargs = self._create_kwargs(
                    system_instructions, input, model_settings, tools, output_schema, handoffs
                )
                if tracing.include_data():
                    span.span_data.input = kwargs["messages"]
                completion: ChatCompletion = await self._client.chat.completions.create(**kwargs)
                usage = usage_from_openai(completion.usage)
                span.span_data.usage = usage.to_span_usage()
                if not completion.choices:
                    raise ModelBehaviorError(
                        f"The chat completion {completion.id} has no choices (a provider error?)"
                    )
                message = completion.choices[0].message
                if tracing.include_data():
                    span.span_data.output = [message_for_trace(message)]
                output = message_to_output_items(message)
                _raise_if_truncated_to_nothing(completion.choices[0].finish_reason, output)
            except Exception as error:
                span.set_error(span_error("Error getting response", error, tracing))
                raise
        return ModelResponse(
            output=output,
            usage=usage,
            response_id=None,
            request_id=getattr(completion, "_request_id", None),
            raw_usage=(
                completion.usage.model_dump(mode="json")
                if model_settings.preserve_raw_usage and completion.usage is not None
                else None
            ),
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any | None = None,
    ) -> AsyncIterator[ResponseStreamEvent]:
        self._warn_unsupported(previous_response_id, conversation_id, prompt)
        with self._span(model_settings, tracing) as span:
            try:
                kwargs = self._create_kwargs(
                    system_instructions, input, model_settings, tools, output_schema, handoffs
                )
                kwargs["stream"] = True
                # Usage arrives in a last chunk only when asked for; traces need it.
                include_usage = model_settings.include_usage
                if include_usage is not False:
                    kwargs["stream_options"] = {"include_usage": True}
                if tracing.include_data():
                    span.span_data.input = kwargs["messages"]
                stream = await self._client.chat.completions.create(**kwargs)
                converter = ChatStreamConverter(self.model, model_settings.tool_choice)
                try:
                    async for event in converter.events(stream):
                        if event.type == "response.completed":
                            # Recorded before yielding: a consumer may stop at the last event.
                            usage = converter.usage or usage_from_openai(None)
                            span.span_data.usage = usage.to_span_usage()
                            if tracing.include_data():
                                span.span_data.output = [converter.message_for_trace()]
                            _raise_if_truncated_to_nothing(
                                converter.finish_reason, event.response.output
                            )
                        yield event
                finally:
                    await stream.close()
            except Exception as error:
                span.set_error(span_error("Error streaming response", error, tracing))
                raise

    def _span(self, model_settings: ModelSettings, tracing: ModelTracing) -> Any:
        return generation_span(
            model=self.model,
            model_config=model_config_for_trace(model_settings, tracing, self._client.base_url),
            disabled=tracing.is_disabled(),
        )

    def _create_kwargs(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
    ) -> dict[str, Any]:
        messages = items_to_messages(input)
        if system_instructions:
            messages.insert(0, {"role": "system", "content": system_instructions})
        converted_tools = tools_to_chat(tools, handoffs)
        reasoning = model_settings.reasoning
        effort = (
            reasoning.get("effort")
            if isinstance(reasoning, dict)
            else getattr(reasoning, "effort", None)
        )
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "tools": converted_tools or omit,
            "tool_choice": convert_tool_choice(model_settings.tool_choice),
            # The API rejects parallel_tool_calls without tools.
            "parallel_tool_calls": (
                omit_if_none(model_settings.parallel_tool_calls) if converted_tools else omit
            ),
            "response_format": convert_response_format(output_schema),
            "temperature": omit_if_none(model_settings.temperature),
            "top_p": omit_if_none(model_settings.top_p),
            "frequency_penalty": omit_if_none(model_settings.frequency_penalty),
            "presence_penalty": omit_if_none(model_settings.presence_penalty),
            "max_tokens": omit_if_none(model_settings.max_tokens),
            "reasoning_effort": omit_if_none(effort),
            "verbosity": omit_if_none(model_settings.verbosity),
            "metadata": omit_if_none(model_settings.metadata),
            "store": omit_if_none(model_settings.store),
            "prompt_cache_retention": omit_if_none(model_settings.prompt_cache_retention),
            "top_logprobs": omit_if_none(model_settings.top_logprobs),
            "logprobs": True if model_settings.top_logprobs is not None else omit,
            "extra_headers": model_settings.extra_headers,
            "extra_query": model_settings.extra_query,
            "extra_body": model_settings.extra_body,
            "timeout": timeout_param(model_settings.timeout),
        }
        merge_extra_args(kwargs, model_settings.extra_args)
        return kwargs

    def _warn_unsupported(
        self, previous_response_id: str | None, conversation_id: str | None, prompt: Any
    ) -> None:
        """Server-side conversation state and stored prompts are Responses API features; the
        full history is always sent here, so they are ignored with one warning each."""
        for name, value in (
            ("previous_response_id", previous_response_id),
            ("conversation_id", conversation_id),
            ("prompt", prompt),
        ):
            if value is not None and name not in self._warned:
                self._warned.add(name)
                logger.warning(
                    "OpenAIChatCompletionsModel ignores %s (a Responses API feature); use "
                    "OpenAIResponsesModel for it.",
                    name,
                )


def _raise_if_truncated_to_nothing(finish_reason: str | None, output: list[Any]) -> None:
    """A completion cut by the token limit before any text or tool call has no answer in it;
    say so instead of handing the run an empty turn."""
    if finish_reason == "length" and not output:
        raise ModelBehaviorError(
            "The chat completion stopped at the token limit (finish_reason='length') before "
            "producing any text or tool call; raise ModelSettings.max_tokens."
        )
