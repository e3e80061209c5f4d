"""Make a JSON schema (as pydantic generates it) satisfy OpenAI's "strict" structured-output
rules: every object closed (`additionalProperties: false`) with every property required, no
`oneOf` (becomes `anyOf`), no `$ref` with sibling keywords, no `None` defaults.

The rules are OpenAI's (https://platform.openai.com/docs/guides/structured-outputs); the walk
is ours. The input is not modified.
"""

from __future__ import annotations

import copy
from typing import Any

from .exceptions import UserError

_EMPTY_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "required": [],
    "additionalProperties": False,
}
_MAX_DEPTH = 100
_MAX_NODES = 100_000  # guards against exponential `$ref` expansion in untrusted schemas


def ensure_strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict copy of `schema`. Raises UserError for schemas that cannot be made strict
    without changing what they accept (open objects, a nullable or union root)."""
    if schema == {}:
        return copy.deepcopy(_EMPTY_OBJECT_SCHEMA)
    root = copy.deepcopy(schema)
    walker = _StrictWalker(root)
    walker.visit(root, "#", 1)
    if isinstance(root.get("anyOf"), list):
        raise UserError("The root of a strict JSON schema must be an object, not `anyOf`.")
    root_type = root.get("type")
    if isinstance(root_type, list):
        if root_type != ["object"]:
            raise UserError(f"The root of a strict JSON schema must be an object, not {root_type}")
        root["type"] = "object"
    return root


class _StrictWalker:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.nodes = 0

    def visit(self, node: Any, path: str, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise UserError(f"Expected a JSON schema object at {path}, got {node!r}")
        if depth > _MAX_DEPTH:
            raise UserError(f"JSON schema nested too deeply at {path}")
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise UserError("JSON schema too large to make strict (runaway `$ref` expansion?)")
        deeper = depth + 1

        for defs_key in ("$defs", "definitions"):
            defs = node.get(defs_key)
            if isinstance(defs, dict):
                for name, sub in defs.items():
                    self.visit(sub, f"{path}/{defs_key}/{name}", deeper)

        node_type = node.get("type")
        properties = node.get("properties")
        if node_type is None and isinstance(properties, dict):
            node_type = node["type"] = "object"
        is_object = node_type == "object" or (isinstance(node_type, list) and "object" in node_type)
        if is_object:
            extra = node.get("additionalProperties", False)
            if extra is not False:
                raise UserError(
                    f"Strict JSON schema at {path} allows additional properties; strict mode "
                    "needs every object closed. Use a type with fixed fields, or turn strict "
                    "mode off for this tool/output."
                )
            node["additionalProperties"] = False
        if isinstance(properties, dict):
            node["required"] = list(properties)
            node["properties"] = {
                key: self.visit(sub, f"{path}/properties/{key}", deeper)
                for key, sub in properties.items()
            }

        items = node.get("items")
        if isinstance(items, dict):
            node["items"] = self.visit(items, f"{path}/items", deeper)

        variants = list(node.get("anyOf") or []) + list(node.pop("oneOf", None) or [])
        if variants:
            node["anyOf"] = [
                self.visit(sub, f"{path}/anyOf/{i}", deeper) for i, sub in enumerate(variants)
            ]

        all_of = node.get("allOf")
        if isinstance(all_of, list):
            if len(all_of) == 1:
                # A single allOf entry (pydantic's way to attach a description to a $ref):
                # merge it into this node.
                entry = self.visit(all_of[0], f"{path}/allOf/0", deeper)
                node.pop("allOf")
                node.update({**entry, **node})
                return self.visit(node, path, deeper)
            node["allOf"] = [
                self.visit(sub, f"{path}/allOf/{i}", deeper) for i, sub in enumerate(all_of)
            ]

        if "default" in node and node["default"] is None:
            del node["default"]

        ref = node.get("$ref")
        if isinstance(ref, str) and len(node) > 1:
            # `$ref` may not have siblings in strict mode: inline the target under them.
            target = _resolve_ref(self.root, ref)
            del node["$ref"]
            node.update({**copy.deepcopy(target), **node})
            return self.visit(node, path, deeper)
        return node


def _resolve_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise UserError(f"Unsupported $ref {ref!r}: only local '#/...' references work")
    resolved: Any = root
    for raw_key in ref[2:].split("/"):
        key = raw_key.replace("~1", "/").replace("~0", "~")
        if not isinstance(resolved, dict) or key not in resolved:
            raise UserError(f"$ref {ref!r} does not resolve")
        resolved = resolved[key]
    if not isinstance(resolved, dict):
        raise UserError(f"$ref {ref!r} does not point at a schema")
    return resolved
