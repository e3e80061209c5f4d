"""Tool results the model should see as content rather than text: the SDK's `ToolOutputText`,
`ToolOutputImage` and `ToolOutputFileContent` shapes (as pydantic models or as dicts with a
`type`), alone or in a list, become the Responses API's `input_text` / `input_image` /
`input_file` parts of a `function_call_output`. MCP tools return these for text and images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .items import tool_output_text

_IMAGE_KEYS = ("image_url", "file_id", "detail")
_FILE_KEYS = ("file_data", "file_url", "file_id", "filename")


def _as_mapping(output: Any) -> Mapping[str, Any] | None:
    if isinstance(output, Mapping):
        return output
    dump = getattr(output, "model_dump", None)
    if callable(dump) and getattr(output, "type", None) in ("text", "image", "file"):
        dumped = dump(exclude_none=True)
        return dumped if isinstance(dumped, Mapping) else None
    return None


def _content_part(output: Any) -> dict[str, Any] | None:
    data = _as_mapping(output)
    if data is None:
        return None
    kind = data.get("type")
    if kind == "text" and isinstance(data.get("text"), str):
        return {"type": "input_text", "text": data["text"]}
    if kind == "image" and (data.get("image_url") or data.get("file_id")):
        part = {"type": "input_image"}
        part.update({k: data[k] for k in _IMAGE_KEYS if data.get(k) is not None})
        return part
    if kind == "file" and any(data.get(k) for k in ("file_data", "file_url", "file_id")):
        part = {"type": "input_file"}
        part.update({k: data[k] for k in _FILE_KEYS if data.get(k) is not None})
        return part
    return None


def structured_tool_output(output: Any) -> list[dict[str, Any]] | None:
    """The content parts for a structured result; None for any other value."""
    if isinstance(output, list | tuple):
        parts = [_content_part(item) for item in output]
        if parts and all(part is not None for part in parts):
            return [part for part in parts if part is not None]
        return None
    part = _content_part(output)
    return [part] if part is not None else None


def function_call_output(output: Any) -> str | list[dict[str, Any]]:
    """What the `output` of a `function_call_output` item holds for a tool's return value."""
    structured = structured_tool_output(output)
    return structured if structured is not None else tool_output_text(output)
