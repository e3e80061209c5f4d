"""The OpenInference attributes of our spans: what Arize Phoenix and other OpenInference readers
show as a span's kind, its input and output, and a model call's messages.

Every attribute name comes from the `openinference-semantic-conventions` package, so a rename
upstream shows up here as an import error rather than as spans that silently lose their content.

Content (messages, `input.value`/`output.value` of model calls, tools, agents and the workflow)
is added only when the caller passes it, that is when content capture is on; the span kind and
the names of agents, tools and handoffs are not user text and are always sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from openinference.semconv.trace import (
    MessageAttributes,
    MessageContentAttributes,
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolCallAttributes,
)

from .genai_messages import to_genai_messages

SPAN_KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
_JSON = OpenInferenceMimeTypeValues.JSON.value
_TEXT = OpenInferenceMimeTypeValues.TEXT.value

# Our span type -> OpenInference span kind (anything else, the workflow root included: CHAIN).
SPAN_KINDS: dict[str, str] = {
    "agent": OpenInferenceSpanKindValues.AGENT.value,
    "generation": OpenInferenceSpanKindValues.LLM.value,
    "response": OpenInferenceSpanKindValues.LLM.value,
    "transcription": OpenInferenceSpanKindValues.LLM.value,
    "speech": OpenInferenceSpanKindValues.LLM.value,
    "function": OpenInferenceSpanKindValues.TOOL.value,
    "handoff": OpenInferenceSpanKindValues.TOOL.value,
    "guardrail": OpenInferenceSpanKindValues.GUARDRAIL.value,
}
CHAIN = OpenInferenceSpanKindValues.CHAIN.value


def span_kind(span_type: str) -> str:
    return SPAN_KINDS.get(span_type, CHAIN)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def _is_json_document(text: str) -> bool:
    """A JSON object or array in a string (tool arguments, say): readers then render it."""
    if not text.startswith(("{", "[")):
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def set_value(attrs: dict[str, Any], direction: str, value: Any) -> None:
    """`input.value`/`output.value` and its mime type: text as is, anything else as JSON."""
    if value is None:
        return
    if direction == "input":
        value_key, mime_key = SpanAttributes.INPUT_VALUE, SpanAttributes.INPUT_MIME_TYPE
    else:
        value_key, mime_key = SpanAttributes.OUTPUT_VALUE, SpanAttributes.OUTPUT_MIME_TYPE
    if isinstance(value, str):
        attrs[value_key] = value
        attrs[mime_key] = _JSON if _is_json_document(value) else _TEXT
    else:
        attrs[value_key] = _json(value)
        attrs[mime_key] = _JSON


def _text_of(part: Mapping[str, Any]) -> str | None:
    content = part.get("content")
    return content if part.get("type") == "text" and isinstance(content, str) else None


def message_attributes(prefix: str, messages: list[dict[str, Any]], attrs: dict[str, Any]) -> None:
    """`{prefix}.{i}.message.*` for messages in the GenAI parts schema (`to_genai_messages`)."""
    for index, message in enumerate(messages):
        base = f"{prefix}.{index}."
        attrs[base + MessageAttributes.MESSAGE_ROLE] = str(message.get("role") or "user")
        parts = [part for part in message.get("parts") or () if isinstance(part, Mapping)]
        texts = [text for text in map(_text_of, parts) if text is not None]
        if len(texts) == 1:
            attrs[base + MessageAttributes.MESSAGE_CONTENT] = texts[0]
        else:
            for number, text in enumerate(texts):
                content = f"{base}{MessageAttributes.MESSAGE_CONTENTS}.{number}."
                attrs[content + MessageContentAttributes.MESSAGE_CONTENT_TYPE] = "text"
                attrs[content + MessageContentAttributes.MESSAGE_CONTENT_TEXT] = text
        calls = [part for part in parts if part.get("type") == "tool_call"]
        for number, call in enumerate(calls):
            call_base = f"{base}{MessageAttributes.MESSAGE_TOOL_CALLS}.{number}."
            if call.get("id") is not None:
                attrs[call_base + ToolCallAttributes.TOOL_CALL_ID] = str(call["id"])
            if call.get("name") is not None:
                attrs[call_base + ToolCallAttributes.TOOL_CALL_FUNCTION_NAME] = str(call["name"])
            arguments = call.get("arguments")
            if arguments is not None:
                attrs[call_base + ToolCallAttributes.TOOL_CALL_FUNCTION_ARGUMENTS_JSON] = (
                    arguments if isinstance(arguments, str) else _json(arguments)
                )
        for part in parts:
            if part.get("type") != "tool_call_response":
                continue
            if part.get("id") is not None:
                attrs[base + MessageAttributes.MESSAGE_TOOL_CALL_ID] = str(part["id"])
            response = part.get("response")
            if response is not None and not texts:
                attrs[base + MessageAttributes.MESSAGE_CONTENT] = (
                    response if isinstance(response, str) else _json(response)
                )


def model_content(data: Mapping[str, Any], attrs: dict[str, Any]) -> None:
    """A model call's messages and raw input/output (content capture on)."""
    model_input, model_output = data.get("input"), data.get("output")
    if model_input is not None:
        set_value(attrs, "input", model_input)
        message_attributes(
            SpanAttributes.LLM_INPUT_MESSAGES, to_genai_messages(model_input, "user"), attrs
        )
    if model_output is not None:
        set_value(attrs, "output", model_output)
        message_attributes(
            SpanAttributes.LLM_OUTPUT_MESSAGES,
            to_genai_messages(model_output, "assistant"),
            attrs,
        )
