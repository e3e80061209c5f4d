"""The interfaces every model and provider implements (the SDK's `Model` and `ModelProvider`).

Tracing is the model's job: `get_response` / `stream_response` open the generation (or
response) span for the call and fill its usage, as the SDK's models do. `tracing` says whether
to do so and whether inputs/outputs may be recorded.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..agent_output import AgentOutputSchemaBase
    from ..handoffs import Handoff
    from ..items import ModelResponse, TResponseInputItem, TResponseStreamEvent
    from ..model_settings import ModelSettings
    from ..tool import Tool


class ModelTracing(enum.Enum):
    DISABLED = 0
    """No spans at all."""
    ENABLED = 1
    """Spans with inputs and outputs."""
    ENABLED_WITHOUT_DATA = 2
    """Spans without inputs and outputs (the sensitive-data switch is off)."""

    def is_disabled(self) -> bool:
        return self is ModelTracing.DISABLED

    def include_data(self) -> bool:
        return self is ModelTracing.ENABLED


class Model(abc.ABC):
    """One LLM behind one API. Implementations must give every tool call a unique, non-empty
    `call_id`."""

    @abc.abstractmethod
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
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
    ) -> ModelResponse:
        """The whole response of one model call."""

    @abc.abstractmethod
    def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """The response as Responses API stream events; the last is `response.completed`.
        Implemented as an async generator."""

    async def close(self) -> None:
        """Release connections or other resources. The default holds none."""
        return None


class ModelProvider(abc.ABC):
    """Looks models up by name."""

    @abc.abstractmethod
    def get_model(self, model_name: str | None) -> Model:
        """The model for `model_name` (None: the provider's default)."""

    async def aclose(self) -> None:
        """Release resources (e.g. HTTP clients) held by the provider."""
        return None
