"""Tool outputs that are more than text: a tool may return ToolOutputText / ToolOutputImage /
ToolOutputFileContent (or their dict forms, or a list of them), and the model then gets them as
the Responses API's input_text / input_image / input_file parts of the call's output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, TypeAdapter, ValidationError, model_validator
from typing_extensions import TypedDict


class ToolOutputText(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ToolOutputTextDict(TypedDict, total=False):
    type: Literal["text"]
    text: str


class ToolOutputImage(BaseModel):
    """An image by URL (or data: URL) or uploaded file id; `detail` sets the vision detail."""

    type: Literal["image"] = "image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["low", "high", "auto"] | None = None

    @model_validator(mode="after")
    def _needs_a_source(self) -> ToolOutputImage:
        if self.image_url is None and self.file_id is None:
            raise ValueError("ToolOutputImage needs image_url or file_id")
        return self


class ToolOutputImageDict(TypedDict, total=False):
    type: Literal["image"]
    image_url: NotRequired[str]
    file_id: NotRequired[str]
    detail: NotRequired[Literal["low", "high", "auto"]]


class ToolOutputFileContent(BaseModel):
    """A file as base64 data, URL or uploaded file id (filename optional)."""

    type: Literal["file"] = "file"
    file_data: str | None = None
    file_url: str | None = None
    file_id: str | None = None
    filename: str | None = None

    @model_validator(mode="after")
    def _needs_a_source(self) -> ToolOutputFileContent:
        if self.file_data is None and self.file_url is None and self.file_id is None:
            raise ValueError("ToolOutputFileContent needs file_data, file_url or file_id")
        return self


class ToolOutputFileContentDict(TypedDict, total=False):
    type: Literal["file"]
    file_data: NotRequired[str]
    file_url: NotRequired[str]
    file_id: NotRequired[str]
    filename: NotRequired[str]


_ANY_OUTPUT: TypeAdapter[Any] = TypeAdapter(
    ToolOutputText | ToolOutputImage | ToolOutputFileContent
)
_KINDS = {"text", "image", "file"}


def _one(value: Any) -> Any | None:
    if isinstance(value, ToolOutputText | ToolOutputImage | ToolOutputFileContent):
        return value
    if isinstance(value, Mapping) and value.get("type") in _KINDS:
        try:
            return _ANY_OUTPUT.validate_python(dict(value))
        except ValidationError:
            return None
    return None


def _part(output: Any) -> dict[str, Any]:
    if isinstance(output, ToolOutputText):
        return {"type": "input_text", "text": output.text}
    if isinstance(output, ToolOutputImage):
        part: dict[str, Any] = {"type": "input_image", "detail": output.detail or "auto"}
        if output.image_url is not None:
            part["image_url"] = output.image_url
        if output.file_id is not None:
            part["file_id"] = output.file_id
        return part
    part = {"type": "input_file"}
    for key in ("file_data", "file_url", "file_id", "filename"):
        if getattr(output, key) is not None:
            part[key] = getattr(output, key)
    return part


def structured_output(value: Any) -> list[dict[str, Any]] | None:
    """The content parts for a structured tool output; None for anything else (sent as text)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return None
    parsed = [_one(item) for item in items]
    if any(p is None for p in parsed):
        return None
    return [_part(p) for p in parsed]


__all__ = [
    "ToolOutputFileContent",
    "ToolOutputFileContentDict",
    "ToolOutputImage",
    "ToolOutputImageDict",
    "ToolOutputText",
    "ToolOutputTextDict",
    "structured_output",
]
