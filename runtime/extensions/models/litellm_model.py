"""`LitellmModel`: any provider LiteLLM speaks to (Anthropic, Gemini, Mistral, Ollama, ...),
through the `litellm` package (optional: `pip install agentoscope[litellm]`).

LiteLLM answers in the Chat Completions shape, so this is OpenAIChatCompletionsModel with
`litellm.acompletion` in place of the openai client: the same message and tool conversion, the
same streaming, and the same generation spans (model, settings, usage; input/output under the
sensitive-data switch). `MultiProvider` resolves `litellm/<provider>/<model>` names to it.

LiteLLM fetches its model price list from the network when imported unless
LITELLM_LOCAL_MODEL_COST_MAP is set; this module sets it (if unset) to use the list the package
ships, so importing never waits on the network.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from openai import NOT_GIVEN, Omit
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from ...exceptions import UserError
from ...models.interface import Model, ModelProvider
from ...models.openai_chatcompletions import OpenAIChatCompletionsModel


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:
        raise UserError(
            "LitellmModel needs the litellm package: pip install 'agentoscope[litellm]'"
        ) from exc
    return litellm


class _Chunks:
    """LiteLLM's stream as openai ChatCompletionChunk objects, closable like openai's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        async for chunk in self._stream:
            yield ChatCompletionChunk.model_validate(chunk.model_dump())

    async def close(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class _Completions:
    def __init__(self, model: str, base_url: str | None, api_key: str | None) -> None:
        self._model = model
        self._base_url = base_url
        self._api_key = api_key

    async def create(self, **kwargs: Any) -> Any:
        litellm = _litellm()
        call = {
            key: value
            for key, value in kwargs.items()
            if value is not None and value is not NOT_GIVEN and not isinstance(value, Omit)
        }
        call["model"] = self._model
        if self._base_url is not None:
            call["api_base"] = self._base_url
        if self._api_key is not None:
            call["api_key"] = self._api_key
        answer = await litellm.acompletion(**call)
        if call.get("stream"):
            return _Chunks(answer)
        return ChatCompletion.model_validate(answer.model_dump())


class _LitellmClient:
    """Just enough of AsyncOpenAI for OpenAIChatCompletionsModel."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None) -> None:
        self.base_url = base_url or f"litellm:{model.split('/', 1)[0]}"
        self.chat = type("Chat", (), {})()
        self.chat.completions = _Completions(model, base_url, api_key)


class LitellmModel(OpenAIChatCompletionsModel):
    """`LitellmModel(model="anthropic/claude-3-5-sonnet-20240620", api_key=...)`."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None) -> None:
        _litellm()  # fail here, not on the first call, when the package is missing
        super().__init__(model, _LitellmClient(model, base_url, api_key))  # type: ignore[arg-type]


class LitellmProvider(ModelProvider):
    """Makes LitellmModels by name (`<provider>/<model>`), for MultiProvider's `litellm/`."""

    def get_model(self, model_name: str | None) -> Model:
        if not model_name:
            raise UserError("LitellmProvider needs a model name like 'anthropic/claude-3-haiku'")
        return LitellmModel(model_name)


__all__ = ["LitellmModel", "LitellmProvider"]
