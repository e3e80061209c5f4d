"""How items become stored text and back, the same for every backend that stores JSON."""

from __future__ import annotations

import json
from typing import Any

import orjson

from .errors import ItemEncodingError
from .session import TResponseInputItem


def encode_item(item: TResponseInputItem) -> str:
    """One item as compact JSON text; a clear error for anything JSON cannot hold."""
    if not isinstance(item, dict):
        raise ItemEncodingError(f"session items are dicts, got {type(item).__name__}: {item!r:.80}")
    try:
        return orjson.dumps(item).decode("utf-8")
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise ItemEncodingError(f"session item is not JSON-serialisable: {exc}") from exc
    # orjson refuses integers wider than 64 bits; JSON itself does not, nor does json.
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def decode_item(raw: str | bytes) -> Any:
    """The item stored as `raw`, or ValueError with the reason it cannot be read."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            item = json.loads(raw)
        except (ValueError, TypeError):
            raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(item, dict):
        raise ValueError(f"JSON {type(item).__name__}, expected an object")
    return item
