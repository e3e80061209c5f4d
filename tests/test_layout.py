"""The README's layout section names every package in the tree, and the arrows between the
tracing packages point inward."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = ("tracing", "runtime", "dashboard", "cli")


def _packages() -> set[str]:
    found = set()
    for top in TOP:
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(init.parent.relative_to(ROOT).as_posix() + "/")
    return found


def _readme_layout() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- layout:", 1)[1].split("```", 2)[1]
    return {match[1] for match in re.finditer(r"^(\S+/)\s", section, re.MULTILINE)}


def test_the_readme_layout_matches_the_tree() -> None:
    assert _readme_layout() == _packages()


def _tracing_imports(package: str) -> set[str]:
    """The tracing subpackages (or 'core') that modules of `package` import."""
    targets: set[str] = set()
    folder = ROOT / "tracing" / package
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                parts = (node.module or "").split(".")
                if node.level == 1:
                    targets.add(package)
                elif node.level == 2:
                    sub = parts[0]
                    is_package = (ROOT / "tracing" / sub / "__init__.py").exists()
                    targets.add(sub if is_package else "core")
    return targets - {package}


def test_tracing_arrows_point_inward() -> None:
    assert _tracing_imports("store") <= {"core"}  # never a processor, never serve
    assert _tracing_imports("otel") <= {"core"}
    assert _tracing_imports("processors") <= {"core", "store", "otel"}
    assert _tracing_imports("serve") <= {"core", "store", "otel"}
    core_modules = [p for p in (ROOT / "tracing").glob("*.py") if p.name != "__init__.py"]
    for path in core_modules:  # the core imports no subpackage (the facade __init__ may)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                first = node.module.split(".")[0]
                assert not (ROOT / "tracing" / first / "__init__.py").exists(), (path, first)


def test_documented_module_paths_still_import() -> None:
    from agentoscope.tracing import queries
    from agentoscope.tracing.store import SpanStore
    from agentoscope.tracing.store import queries as store_queries

    assert queries is store_queries and "latest_traces" in queries.QUERIES
    assert SpanStore.__module__ == "agentoscope.tracing.store.span_store"
