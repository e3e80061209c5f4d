"""`agents.editor` of the SDK: the apply_patch tool's editor types, left out on purpose (see
left_out.py). The names resolve, so SDK code imports; using one raises UserError."""

from __future__ import annotations

from typing import Any

from .left_out import left_out

_NAMES = ("ApplyPatchEditor", "ApplyPatchOperation", "ApplyPatchResult")


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return left_out(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_NAMES)
