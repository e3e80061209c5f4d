"""Lazy public names for a package: heavy modules (DuckDB, pyarrow, OpenTelemetry, gRPC) load
when one of their names is first used, so importing a package stays light."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package` that imports `names[name]` (a module relative
    to the package) on first use of `name`."""

    def __getattr__(name: str) -> Any:
        module_name = names.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module_name, package), name)

    return __getattr__
