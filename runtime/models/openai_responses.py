"""A model on the OpenAI Responses API (`client.responses.create`), streaming included.

Each call opens one `response` span (as the SDK's model does) with the call's usage and, when
data may be recorded, the input and the `Response` object. Retries on 429/5xx are the `openai`
client's own (`max_retries`, honouring `retry-after`); failures land on the span and propagate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI, omit
from openai.types.responses import Response, ResponseStreamEvent

from agentoscope.tracing import response_span

from ..exceptions import ModelBehaviorError, UserError
from ..hosted_wire import check_hosted_tools, hosted_tool_param
from ..items import ItemHelpers, ModelResponse
from ..model_settings import MCPToolChoice
from ..tool import FileSearchTool, FunctionTool, WebSearchTool
from .chatcmpl_converter import FAKE_RESPONSES_ID
from .interface import Model, ModelTracing
from .openai_shared import (
    merge_extra_args,
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

_TERMINAL_FAILURES = frozenset({"response.failed", "response.incomplete", "error"})
_HOSTED_TOOL_CHOICES = frozenset(
    {
        "web_search",
        "web_search_preview",
        "file_search",
        "code_interpreter",
        "image_generation",
        "computer",
        "computer_use_preview",
        "shell",
    }
)


@dataclasses.dataclass(frozen=True)
class ResponseReference:
    """What a response span keeps when data may not be recorded: the ids, not the content."""

    id: str
    model: str


class OpenAIResponsesModel(Model):
    """`model` on any server that speaks the Responses API, through `openai_client`."""

    def __init__(self, model: str, openai_client: AsyncOpenAI) -> None:
        self.model = model
        self._client = openai_client

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
        with response_span(disabled=tracing.is_disabled()) as span:
            try:
                kwargs = self._create_kwargs(
                    system_instructions,
                    input,
                    model_settings,
                    tools,
                    output_schema,
                    handoffs,
                    previous_response_id=previous_response_id,
                    conversation_id=conversation_id,
                    prompt=prompt,
                    stream=False,
                )
                response: Response = await self._client.responses.create(**kwargs)
                usage = usage_from_openai(response.usage)
                span.span_data.usage = usage.to_span_usage()
                _record_response(span, response, input, tracing)
                _raise_if_unfinished(response)
            except Exception as error:
                span.set_error(span_error("Error getting response", error, tracing))
                raise
        return ModelResponse(
            output=list(response.output),
            usage=usage,
            response_id=response.id,
            request_id=getattr(response, "_request_id", None),
            raw_usage=_raw_usage(response, model_settings),
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
        with response_span(disabled=tracing.is_disabled()) as span:
            try:
                kwargs = self._create_kwargs(
                    system_instructions,
                    input,
                    model_settings,
                    tools,
                    output_schema,
                    handoffs,
                    previous_response_id=previous_response_id,
                    conversation_id=conversation_id,
                    prompt=prompt,
                    stream=True,
                )
                stream = await self._client.responses.create(**kwargs)
                failure: ModelBehaviorError | None = None
                try:
                    async for event in stream:
                        if event.type == "response.completed":
                            # Recorded before yielding: a consumer may stop at the last event.
                            usage = usage_from_openai(event.response.usage)
                            span.span_data.usage = usage.to_span_usage()
                            _record_response(span, event.response, input, tracing)
                        elif event.type in _TERMINAL_FAILURES:
                            # A failed or cut response still spent tokens: keep its usage.
                            failed_response = getattr(event, "response", None)
                            if failed_response is not None:
                                usage = usage_from_openai(failed_response.usage)
                                span.span_data.usage = usage.to_span_usage()
                            failure = _stream_failure(event)
                            span.set_error(span_error("Error streaming response", failure, tracing))
                        yield event
                        if failure is not None:
                            break
                finally:
                    await stream.close()
                if failure is not None:
                    raise failure
            except Exception as error:
                if span.error is None:
                    span.set_error(span_error("Error streaming response", error, tracing))
                raise

    def _create_kwargs(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
        stream: bool,
    ) -> dict[str, Any]:
        converted_tools, includes = convert_tools(tools, handoffs, model=self.model)
        if model_settings.response_include:
            includes.extend(i for i in model_settings.response_include if i not in includes)
        if model_settings.top_logprobs is not None:
            includes.append("message.output_text.logprobs")
        text = response_text_param(output_schema, model_settings.verbosity)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "input": clean_input_items(input),
            "instructions": omit_if_none(system_instructions),
            "tools": converted_tools or omit,
            "tool_choice": convert_tool_choice(model_settings.tool_choice),
            # The API rejects parallel_tool_calls without tools.
            "parallel_tool_calls": (
                omit_if_none(model_settings.parallel_tool_calls) if converted_tools else omit
            ),
            "include": includes or omit,
            "text": text,
            "temperature": omit_if_none(model_settings.temperature),
            "top_p": omit_if_none(model_settings.top_p),
            "truncation": omit_if_none(model_settings.truncation),
            "max_output_tokens": omit_if_none(model_settings.max_tokens),
            "top_logprobs": omit_if_none(model_settings.top_logprobs),
            "reasoning": omit_if_none(model_settings.reasoning),
            "metadata": omit_if_none(model_settings.metadata),
            "store": omit_if_none(model_settings.store),
            "prompt_cache_retention": omit_if_none(model_settings.prompt_cache_retention),
            "prompt_cache_options": omit_if_none(model_settings.prompt_cache_options),
            "context_management": omit_if_none(model_settings.context_management),
            "previous_response_id": omit_if_none(previous_response_id),
            "conversation": omit_if_none(conversation_id),
            "prompt": omit_if_none(prompt),
            "stream": True if stream else omit,
            "extra_headers": model_settings.extra_headers,
            "extra_query": model_settings.extra_query,
            "extra_body": model_settings.extra_body,
            "timeout": timeout_param(model_settings.timeout),
        }
        merge_extra_args(kwargs, model_settings.extra_args)
        return kwargs


def clean_input_items(input: str | list[TResponseInputItem]) -> list[Any]:
    """The input list for the Responses API. Items made by a Chat Completions model carry a
    placeholder id and `provider_data` the API would reject; both are dropped here."""
    items = ItemHelpers.input_to_new_input_list(input)
    cleaned: list[Any] = []
    for item in items:
        if isinstance(item, dict) and (
            item.get("id") == FAKE_RESPONSES_ID or "provider_data" in item
        ):
            trimmed = {k: v for k, v in item.items() if k != "provider_data"}
            if trimmed.get("id") == FAKE_RESPONSES_ID:
                del trimmed["id"]
            cleaned.append(trimmed)
        else:
            cleaned.append(item)
    return cleaned


def convert_tools(
    tools: Sequence[Tool], handoffs: Sequence[Handoff], *, model: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Tool params for the Responses API, and the `include` values some hosted tools need."""
    converted: list[dict[str, Any]] = []
    includes: list[str] = []
    check_hosted_tools(list(tools))
    for tool in tools:
        if isinstance(tool, FunctionTool):
            converted.append(
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.params_json_schema,
                    "strict": tool.strict_json_schema,
                }
            )
        elif isinstance(tool, WebSearchTool):
            web: dict[str, Any] = {
                "type": "web_search",
                "search_context_size": tool.search_context_size,
            }
            if tool.user_location is not None:
                web["user_location"] = tool.user_location
            if tool.filters is not None:
                web["filters"] = tool.filters
            for name in ("external_web_access", "search_content_types", "image_settings"):
                if (value := getattr(tool, name)) is not None:
                    web[name] = value
            converted.append(web)
            if tool.search_content_types and "image" in tool.search_content_types:
                includes.append("web_search_call.results")
        elif isinstance(tool, FileSearchTool):
            search: dict[str, Any] = {
                "type": "file_search",
                "vector_store_ids": tool.vector_store_ids,
            }
            for name in ("max_num_results", "ranking_options", "filters"):
                if (value := getattr(tool, name)) is not None:
                    search[name] = value
            converted.append(search)
            if tool.include_search_results:
                includes.append("file_search_call.results")
        else:
            param, include = hosted_tool_param(tool, model=model)
            converted.append(param)
            if include is not None:
                includes.append(include)
    for handoff in handoffs:
        converted.append(
            {
                "type": "function",
                "name": handoff.tool_name,
                "description": handoff.tool_description,
                "parameters": handoff.input_json_schema,
                "strict": handoff.strict_json_schema,
            }
        )
    return converted, includes


def convert_tool_choice(tool_choice: Any) -> Any:
    """ModelSettings.tool_choice as the Responses API's `tool_choice`."""
    if tool_choice is None:
        return omit
    if isinstance(tool_choice, MCPToolChoice):
        return {"type": "mcp", "server_label": tool_choice.server_label, "name": tool_choice.name}
    if tool_choice in ("auto", "required", "none"):
        return tool_choice
    if tool_choice in _HOSTED_TOOL_CHOICES:
        return {"type": tool_choice}
    if isinstance(tool_choice, str):
        return {"type": "function", "name": tool_choice}
    raise UserError(f"Unsupported tool_choice: {tool_choice!r}")


def response_text_param(output_schema: AgentOutputSchemaBase | None, verbosity: Any) -> Any:
    """The `text` parameter: a strict JSON-schema format for structured output, and verbosity."""
    text: dict[str, Any] = {}
    if output_schema is not None and not output_schema.is_plain_text():
        text["format"] = {
            "type": "json_schema",
            "name": "final_output",
            "schema": output_schema.json_schema(),
            "strict": output_schema.is_strict_json_schema(),
        }
    if verbosity is not None:
        text["verbosity"] = verbosity
    return text or omit


def _record_response(span: Any, response: Response, input: Any, tracing: ModelTracing) -> None:
    if tracing.include_data():
        span.span_data.response = response
        span.span_data.input = input
    else:
        span.span_data.response = ResponseReference(response.id, response.model)


def _raise_if_unfinished(response: Response) -> None:
    if response.status == "failed":
        message = response.error.message if response.error else "no details"
        raise ModelBehaviorError(f"The model response {response.id} failed: {message}")
    if response.status == "incomplete":
        details = response.incomplete_details
        reason = details.reason if details else None
        raise ModelBehaviorError(
            f"The model response {response.id} is incomplete (reason: {reason or 'unknown'})"
        )


def _stream_failure(event: Any) -> ModelBehaviorError:
    if event.type == "error":
        return ModelBehaviorError(
            f"The response stream reported an error: {event.message} (code {event.code})"
        )
    response = event.response
    try:
        _raise_if_unfinished(response)
    except ModelBehaviorError as error:
        return error
    return ModelBehaviorError(f"The response stream ended with {event.type}")


def _raw_usage(response: Response, model_settings: ModelSettings) -> dict[str, Any] | None:
    if model_settings.preserve_raw_usage and response.usage is not None:
        return response.usage.model_dump(mode="json")
    return None
