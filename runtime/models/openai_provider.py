"""`OpenAIProvider`: model names -> OpenAI models on one `AsyncOpenAI` client.

The client is made on the first `get_model()`, not at construction, so building a provider (or a
RunConfig holding one) needs no API key; OPENAI_API_KEY / OPENAI_BASE_URL are read then. Any
OpenAI-compatible server works through `base_url` (use `use_responses=False` for servers that
speak only Chat Completions).
"""

from __future__ import annotations

import os

from openai import AsyncOpenAI

from ..exceptions import UserError
from .interface import Model, ModelProvider
from .openai_chatcompletions import OpenAIChatCompletionsModel
from .openai_responses import OpenAIResponsesModel

DEFAULT_MODEL_ENV = "OPENAI_DEFAULT_MODEL"
FALLBACK_DEFAULT_MODEL = "gpt-4.1"


def get_default_model() -> str:
    """The model used when none is named: $OPENAI_DEFAULT_MODEL, else gpt-4.1."""
    return os.environ.get(DEFAULT_MODEL_ENV, "").strip() or FALLBACK_DEFAULT_MODEL


class OpenAIProvider(ModelProvider):
    """Makes `OpenAIResponsesModel`s (or, with `use_responses=False`,
    `OpenAIChatCompletionsModel`s) sharing one client."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        organization: str | None = None,
        project: str | None = None,
        use_responses: bool | None = None,
    ) -> None:
        if openai_client is not None and any(
            value is not None for value in (api_key, base_url, organization, project)
        ):
            raise UserError(
                "Pass either openai_client or api_key/base_url/organization/project, not both: "
                "the client already carries its own settings."
            )
        self._client = openai_client
        self._owns_client = openai_client is None
        self._api_key = api_key
        self._base_url = base_url
        self._organization = organization
        self._project = project
        self.use_responses = True if use_responses is None else use_responses

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            api_key = self._api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                raise UserError(
                    "No OpenAI API key: pass OpenAIProvider(api_key=...) or openai_client=..., "
                    "or set OPENAI_API_KEY (any non-empty value for local servers that need none)."
                )
            self._client = AsyncOpenAI(
                api_key=api_key,
                base_url=self._base_url or os.environ.get("OPENAI_BASE_URL") or None,
                organization=self._organization,
                project=self._project,
            )
        return self._client

    def get_model(self, model_name: str | None) -> Model:
        name = model_name or get_default_model()
        client = self._get_client()
        if self.use_responses:
            return OpenAIResponsesModel(model=name, openai_client=client)
        return OpenAIChatCompletionsModel(model=name, openai_client=client)

    async def aclose(self) -> None:
        """Close the HTTP client if this provider made it (a client passed in stays open)."""
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.close()
