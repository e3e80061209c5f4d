"""An agent's output type: the JSON schema sent to the model and validation of what comes back.

Pydantic's TypeAdapter does both, for any type pydantic knows (models, dataclasses, TypedDicts,
primitives, lists...). Types whose schema is not a JSON object are wrapped as
`{"response": <type>}` (the SDK's convention), because structured outputs need an object root.
"""

from __future__ import annotations

import abc
from typing import Any, get_args, get_origin, is_typeddict

from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from .exceptions import ModelBehaviorError, UserError
from .strict_schema import ensure_strict_json_schema

_WRAPPER_KEY = "response"


class AgentOutputSchemaBase(abc.ABC):
    """The output contract of an agent: a schema for the model and a validator for its answer."""

    @abc.abstractmethod
    def is_plain_text(self) -> bool:
        """True when the output is free text (no schema is sent)."""

    @abc.abstractmethod
    def name(self) -> str:
        """The output type's name."""

    @abc.abstractmethod
    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the output (only asked when not plain text)."""

    @abc.abstractmethod
    def is_strict_json_schema(self) -> bool:
        """Whether the schema follows OpenAI's strict structured-output rules."""

    @abc.abstractmethod
    def validate_json(self, json_str: str) -> Any:
        """The validated output object, or ModelBehaviorError when `json_str` does not match."""


def _is_object_type(output_type: Any) -> bool:
    """True when the type's JSON schema is an object (pydantic model, dict, TypedDict)."""
    target = get_origin(output_type) or output_type
    if is_typeddict(target):
        return True
    return isinstance(target, type) and issubclass(target, BaseModel | dict)


def type_name(output_type: Any) -> str:
    origin, args = get_origin(output_type), get_args(output_type)
    if origin is None:
        return getattr(output_type, "__name__", repr(output_type))
    if args:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(type_name(a) for a in args)}]"
    return str(output_type)


class AgentOutputSchema(AgentOutputSchemaBase):
    """The output schema for a Python type, built with pydantic."""

    def __init__(self, output_type: type[Any] | Any, strict_json_schema: bool = True) -> None:
        self.output_type = output_type
        self._strict = strict_json_schema
        if output_type is None or output_type is str:
            self._wrapped = False
            self._adapter: TypeAdapter[Any] = TypeAdapter(str)
            self._schema: dict[str, Any] = {"type": "string"}
            return
        self._wrapped = not _is_object_type(output_type)
        if self._wrapped:
            wrapper = TypedDict("OutputType", {_WRAPPER_KEY: output_type})  # type: ignore[misc]
            self._adapter = TypeAdapter(wrapper)
        else:
            self._adapter = TypeAdapter(output_type)
        self._schema = self._adapter.json_schema()
        if strict_json_schema:
            try:
                self._schema = ensure_strict_json_schema(self._schema)
            except UserError as exc:
                raise UserError(
                    f"Output type {type_name(output_type)} cannot be a strict JSON schema "
                    f"({exc}). Use a type with fixed fields, or "
                    "AgentOutputSchema(YourType, strict_json_schema=False)."
                ) from exc

    def is_plain_text(self) -> bool:
        return self.output_type is None or self.output_type is str

    def name(self) -> str:
        return type_name(self.output_type)

    def json_schema(self) -> dict[str, Any]:
        if self.is_plain_text():
            raise UserError("The output type is plain text: it has no JSON schema")
        return self._schema

    def is_strict_json_schema(self) -> bool:
        return self._strict

    def validate_json(self, json_str: str) -> Any:
        try:
            value = self._adapter.validate_json(json_str, strict=True if self._strict else None)
        except ValidationError as exc:
            raise ModelBehaviorError(
                f"Model output does not match {self.name()}: {exc.errors(include_url=False)}"
            ) from exc
        if self._wrapped:
            # The TypedDict wrapper makes the key required, so validation guarantees it.
            return value[_WRAPPER_KEY]
        return value
