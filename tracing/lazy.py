"""Lazy public names for a package: heavy modules (DuckDB, pyarrow, OpenTelemetry, gRPC) load
when one of their names is first used, so importing a package stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, names: Mapping[str, str], modules: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package` that imports `names[name]` (a module relative
    to the package) on first use of `name`; `modules[name]` is a module given as the name."""

    def __getattr__(name: str) -> Any:
        module_name = names.get(name)
        if module_name is not None:
            return getattr(importlib.import_module(module_name, package), name)
        if modules is not None and name in modules:
            return importlib.import_module(modules[name], package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
