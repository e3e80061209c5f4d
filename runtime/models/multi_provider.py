"""`MultiProvider`: routes model names to providers by prefix ("openai/gpt-4o", "local/llama").

A name without a prefix, or with "openai/", goes to the built-in `OpenAIProvider`. Other
prefixes come from a `MultiProviderMap` (or a plain dict); an unknown prefix is a `UserError`
that names the known ones, unless `unknown_prefix_mode="model_id"` sends the whole name to the
OpenAI provider (for gateways whose model ids contain slashes, e.g. "openrouter/...").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from openai import AsyncOpenAI

from ..exceptions import UserError
from .interface import Model, ModelProvider
from .openai_provider import OpenAIProvider

OpenAIPrefixMode = Literal["alias", "model_id"]
UnknownPrefixMode = Literal["error", "model_id"]
OPENAI_PREFIX = "openai"
LITELLM_PREFIX = "litellm"


class MultiProviderMap:
    """Prefix -> provider."""

    def __init__(self, mapping: Mapping[str, ModelProvider] | None = None) -> None:
        self._mapping: dict[str, ModelProvider] = dict(mapping or {})

    def has_prefix(self, prefix: str) -> bool:
        return prefix in self._mapping

    def get_mapping(self) -> dict[str, ModelProvider]:
        return dict(self._mapping)

    def set_mapping(self, mapping: Mapping[str, ModelProvider]) -> None:
        self._mapping = dict(mapping)

    def get_provider(self, prefix: str) -> ModelProvider | None:
        return self._mapping.get(prefix)

    def add_provider(self, prefix: str, provider: ModelProvider) -> None:
        if not prefix or "/" in prefix:
            raise UserError(f"A provider prefix must be non-empty and have no '/': {prefix!r}")
        self._mapping[prefix] = provider

    def remove_provider(self, prefix: str) -> None:
        del self._mapping[prefix]


class MultiProvider(ModelProvider):
    """Picks the provider from the model name's prefix; see the module docstring."""

    def __init__(
        self,
        *,
        provider_map: MultiProviderMap | Mapping[str, ModelProvider] | None = None,
        openai_api_key: str | None = None,
        openai_base_url: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        openai_organization: str | None = None,
        openai_project: str | None = None,
        openai_use_responses: bool | None = None,
        openai_prefix_mode: OpenAIPrefixMode = "alias",
        unknown_prefix_mode: UnknownPrefixMode = "error",
    ) -> None:
        if openai_prefix_mode not in ("alias", "model_id"):
            raise UserError("openai_prefix_mode must be 'alias' or 'model_id'")
        if unknown_prefix_mode not in ("error", "model_id"):
            raise UserError("unknown_prefix_mode must be 'error' or 'model_id'")
        if provider_map is not None and not isinstance(provider_map, MultiProviderMap):
            provider_map = MultiProviderMap(provider_map)
        self.provider_map: MultiProviderMap | None = provider_map
        self.openai_provider = OpenAIProvider(
            api_key=openai_api_key,
            base_url=openai_base_url,
            openai_client=openai_client,
            organization=openai_organization,
            project=openai_project,
            use_responses=openai_use_responses,
        )
        self._openai_prefix_mode = openai_prefix_mode
        self._unknown_prefix_mode = unknown_prefix_mode

    def get_model(self, model_name: str | None) -> Model:
        if model_name is None or "/" not in model_name:
            return self.openai_provider.get_model(model_name)
        prefix, bare_name = model_name.split("/", 1)
        # An explicit mapping wins, even over "openai".
        if self.provider_map is not None:
            provider = self.provider_map.get_provider(prefix)
            if provider is not None:
                return provider.get_model(bare_name)
        if prefix == OPENAI_PREFIX:
            name = bare_name if self._openai_prefix_mode == "alias" else model_name
            return self.openai_provider.get_model(name)
        if prefix == LITELLM_PREFIX:  # litellm/<provider>/<model>, with agentoscope[litellm]
            from ..extensions.models.litellm_model import LitellmProvider

            return LitellmProvider().get_model(bare_name)
        if self._unknown_prefix_mode == "model_id":
            return self.openai_provider.get_model(model_name)
        known = sorted(
            {
                OPENAI_PREFIX,
                LITELLM_PREFIX,
                *(self.provider_map.get_mapping() if self.provider_map else {}),
            }
        )
        raise UserError(
            f"Unknown model prefix {prefix!r} in {model_name!r}. Known prefixes: "
            f"{', '.join(known)}. Add one with "
            f"MultiProviderMap.add_provider({prefix!r}, provider), or pass "
            "unknown_prefix_mode='model_id' to send the whole name to the OpenAI provider."
        )

    async def aclose(self) -> None:
        """Close every provider once; the first error is raised after all were tried."""
        providers: list[ModelProvider] = [self.openai_provider]
        if self.provider_map is not None:
            providers.extend(self.provider_map.get_mapping().values())
        first_error: Exception | None = None
        seen: set[int] = set()
        for provider in providers:
            if id(provider) in seen or provider is self:
                continue
            seen.add(id(provider))
            try:
                await provider.aclose()
            except Exception as error:
                first_error = first_error or error
        if first_error is not None:
            raise first_error
