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


def is_gpt_5_default() -> bool:
    """Whether the default model is of the gpt-5 family (the SDK's helper, used by examples to
    pick reasoning settings)."""
    return get_default_model().startswith("gpt-5")


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
        # None: follow set_default_openai_api() at the time a model is made.
        self._use_responses = use_responses

    @property
    def use_responses(self) -> bool:
        if self._use_responses is not None:
            return self._use_responses
        from ..openai_defaults import default_use_responses

        return default_use_responses()

    @use_responses.setter
    def use_responses(self, value: bool) -> None:
        self._use_responses = value

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            from ..openai_defaults import default_openai_client, default_openai_key

            shared = default_openai_client()
            if shared is not None and not any(
                (self._api_key, self._base_url, self._organization, self._project)
            ):
                return shared  # set_default_openai_client(): not ours to close
            api_key = self._api_key or default_openai_key() or os.environ.get("OPENAI_API_KEY")
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
