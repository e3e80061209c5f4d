"""A tool's JSON schema from a Python function: pydantic builds the parameter model from the type
hints (`create_model`), griffe reads parameter descriptions from the docstring (Google, NumPy or
Sphinx style), and strict mode makes the schema fit OpenAI's structured outputs.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import GenericAlias
from typing import Any, Literal, get_origin, get_type_hints

from griffe import Docstring, DocstringSectionKind
from pydantic import BaseModel, Field, create_model

from .exceptions import UserError
from .run_context import RunContextWrapper
from .strict_schema import ensure_strict_json_schema

DocstringStyle = Literal["google", "numpy", "sphinx"]


@dataclass
class FuncDocumentation:
    name: str
    description: str | None
    param_descriptions: dict[str, str] | None


@dataclass
class FuncSchema:
    """What a tool needs to know about its function."""

    name: str
    description: str | None
    params_pydantic_model: type[BaseModel]
    """Validates the model's JSON arguments."""
    params_json_schema: dict[str, Any]
    """Sent to the model as the tool's `parameters`."""
    signature: inspect.Signature
    takes_context: bool = False
    """Whether the first parameter is a RunContextWrapper / ToolContext."""
    strict_json_schema: bool = True

    def to_call_args(self, data: BaseModel) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the function from validated `data`."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        params = list(self.signature.parameters.values())
        if self.takes_context:
            params = params[1:]
        for param in params:
            value = getattr(data, param.name, None)
            if param.kind == param.VAR_POSITIONAL:
                args.extend(value or ())
            elif param.kind == param.VAR_KEYWORD:
                kwargs.update(value or {})
            elif param.kind == param.KEYWORD_ONLY:
                kwargs[param.name] = value
            else:
                args.append(value)
        return args, kwargs


def _detect_style(doc: str) -> DocstringStyle:
    if re.search(r"^\s*:(param|type|returns?|raises)\b", doc, re.MULTILINE):
        return "sphinx"
    if re.search(r"^\s*(Parameters|Returns|Raises)\s*\n\s*-{3,}", doc, re.MULTILINE):
        return "numpy"
    return "google"


def generate_func_documentation(
    func: Callable[..., Any], style: DocstringStyle | None = None
) -> FuncDocumentation:
    """The function's name, its docstring's summary, and per-parameter descriptions."""
    name = func.__name__
    doc = inspect.getdoc(func)
    if not doc:
        return FuncDocumentation(name=name, description=None, param_descriptions=None)
    # griffe logs a warning for every parameter without a type in the docstring: noise here.
    griffe_logger = logging.getLogger("griffe")
    previous_level = griffe_logger.level
    griffe_logger.setLevel(logging.ERROR)
    try:
        sections = Docstring(doc, lineno=1, parser=style or _detect_style(doc)).parse()
    finally:
        griffe_logger.setLevel(previous_level)
    description = None
    params: dict[str, str] = {}
    for section in sections:
        if section.kind == DocstringSectionKind.text and description is None:
            description = section.value.strip() or None
        elif section.kind == DocstringSectionKind.parameters:
            params.update({p.name: p.description for p in section.value if p.description})
    return FuncDocumentation(name=name, description=description, param_descriptions=params or None)


def _is_context_type(annotation: Any) -> bool:
    origin = get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, RunContextWrapper)


def function_schema(
    func: Callable[..., Any],
    docstring_style: DocstringStyle | None = None,
    name_override: str | None = None,
    description_override: str | None = None,
    use_docstring_info: bool = True,
    strict_json_schema: bool = True,
) -> FuncSchema:
    """The FuncSchema of `func`. A first parameter typed RunContextWrapper/ToolContext is the
    context and is not part of the schema; a context type anywhere else is an error."""
    doc = generate_func_documentation(func, docstring_style) if use_docstring_info else None
    param_descriptions = (doc.param_descriptions if doc else None) or {}
    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func, include_extras=True)
    except NameError as exc:
        raise UserError(f"Cannot resolve the type hints of {func.__name__}: {exc}") from exc

    params = list(signature.parameters.items())
    takes_context = False
    if params:
        first_name, first = params[0]
        if _is_context_type(hints.get(first_name, first.annotation)):
            takes_context = True
            params = params[1:]

    fields: dict[str, Any] = {}
    for name, param in params:
        annotation = hints.get(name, param.annotation)
        if _is_context_type(annotation):
            raise UserError(
                f"{func.__name__}: the context parameter {name!r} must be the first parameter"
            )
        if annotation is inspect.Parameter.empty:
            annotation = Any
        description = param_descriptions.get(name)
        default = param.default
        if param.kind == param.VAR_POSITIONAL:
            # list[annotation], built at run time (the annotation is a value here).
            annotation = (
                GenericAlias(list, (annotation,)) if not get_origin(annotation) else annotation
            )
            default = []
        elif param.kind == param.VAR_KEYWORD:
            annotation = (
                GenericAlias(dict, (str, annotation)) if not get_origin(annotation) else annotation
            )
            default = {}
        if default is inspect.Parameter.empty:
            fields[name] = (annotation, Field(..., description=description))
        else:
            fields[name] = (annotation, Field(default=default, description=description))

    model = create_model(f"{func.__name__}_args", __base__=BaseModel, **fields)
    schema = model.model_json_schema()
    if strict_json_schema:
        schema = ensure_strict_json_schema(schema)
    return FuncSchema(
        name=name_override or (doc.name if doc else func.__name__),
        description=description_override or (doc.description if doc else None),
        params_pydantic_model=model,
        params_json_schema=schema,
        signature=signature,
        takes_context=takes_context,
        strict_json_schema=strict_json_schema,
    )
