"""Import the official SDK's example programs with `agents` rewritten to `agentoscope.runtime`,
and count how many import cleanly: the measure of "change the imports and keep the code".

    python -m support.sdk_examples [EXAMPLES_DIR] [--json]   (run from tests/, or with
                                                              tests/ on sys.path)

EXAMPLES_DIR defaults to the examples of the openai-agents 0.24.0 sdist, fetched with pip into
`.venv/sdk-src` the first time. Each example runs in a child process whose import system maps
every `agents` / `agents.X` import (also inside the example's own helper modules) to
`agentoscope.runtime` / `agentoscope.runtime.X`; the example's module body runs (its agents,
tools and guardrails get built) but not its `__main__` block. A file imports cleanly when that
body runs without an exception. A dummy OPENAI_API_KEY is set; nothing reaches the network.

Folders counted: the ten the parity issue names (basic, agent_patterns, customer_service,
handoffs, tools, memory, mcp, voice, realtime, model_providers).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

SDK_VERSION = "0.24.0"
COUNTED = (
    "basic",
    "agent_patterns",
    "customer_service",
    "handoffs",
    "tools",
    "memory",
    "mcp",
    "voice",
    "realtime",
    "model_providers",
)
REPO = Path(__file__).resolve().parents[2]


def sdk_source_dir(cache: Path | None = None) -> Path:
    """The unpacked openai-agents sdist (its examples/ folder is not in the wheel)."""
    cache = cache or REPO / ".venv" / "sdk-src"
    root = cache / f"openai_agents-{SDK_VERSION}"
    if (root / "examples").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"openai-agents=={SDK_VERSION}",
            "-d",
            str(cache),
        ],
        check=True,
    )
    with tarfile.open(cache / f"openai_agents-{SDK_VERSION}.tar.gz") as archive:
        archive.extractall(cache, filter="data")
    return root


class _AgentsAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `agents[.X]` to `agentoscope.runtime[.X]` (the same module object)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname == "agents" or fullname.startswith("agents."):
            ours = "agentoscope.runtime" + fullname[len("agents") :]
            real = importlib.util.find_spec(ours)
            if real is None:
                return None  # the import fails as "No module named 'agents.X'"
            return importlib.machinery.ModuleSpec(
                fullname, self, is_package=real.submodule_search_locations is not None
            )
        return None

    def create_module(self, spec: Any) -> ModuleType:
        return importlib.import_module("agentoscope.runtime" + spec.name[len("agents") :])

    def exec_module(self, module: ModuleType) -> None:
        pass  # already executed under its own name


def _import_one(path: Path, root: Path) -> None:
    """In the child: alias `agents`, then run the example's body as a non-main module."""
    sys.meta_path.insert(0, _AgentsAlias())
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(path.parent))
    relative = path.relative_to(root).with_suffix("")
    name = ".".join(relative.parts)
    os.chdir(path.parent)
    # As a module of the examples package (namespace or not), so relative imports work; the
    # module's name is not __main__, so its main block does not run.
    importlib.import_module(name)


def _forked_import(path: Path, root: Path) -> str | None:
    """Import one example in a forked child (this process has the heavy imports done once);
    returns the last line of its error, or None when it imported cleanly."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        code = 0
        message = b""
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            _import_one(path, root)
        except BaseException as exc:
            code = 1
            message = f"{type(exc).__name__}: {exc}".splitlines()[0].encode()
        os.write(write_fd, message)
        os._exit(code)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return b"".join(chunks).decode(errors="replace") or f"exit status {status}"


def measure(examples: Path, folders: tuple[str, ...]) -> dict[str, Any]:
    """Import each example of `folders`; {files, clean, errors: {file: error or None}}."""
    root = examples.parent
    os.environ.setdefault("OPENAI_API_KEY", "sk-test-not-used")
    os.environ["EXAMPLES_INTERACTIVE_MODE"] = "auto"
    # The custom-provider examples refuse to load without these (any values do: no request
    # is made at import).
    for key, value in (
        ("EXAMPLE_BASE_URL", "http://127.0.0.1:9/v1"),
        ("EXAMPLE_API_KEY", "not-used"),
        ("EXAMPLE_MODEL_NAME", "local-model"),
        ("OPENAI_WEBHOOK_SECRET", "not-used"),  # the SIP example checks it at import
    ):
        os.environ.setdefault(key, value)
    importlib.import_module("agentoscope.runtime")
    for warm in ("agentoscope.runtime.run", "agentoscope.runtime.models.openai_responses"):
        importlib.import_module(warm)
    files = sorted(
        p
        for folder in folders
        for p in (examples / folder).rglob("*.py")
        if p.name != "__init__.py"
    )
    here = os.getcwd()
    results = {str(p.relative_to(examples)): _forked_import(p, root) for p in files}
    os.chdir(here)
    clean = sum(1 for error in results.values() if error is None)
    left = {str(p.relative_to(examples)): left_out_names_imported(p) for p in files}
    return {
        "files": len(results),
        "clean": clean,
        "errors": results,
        "left_out_names": {name: names for name, names in left.items() if names},
    }


def left_out_names_imported(path: Path) -> list[str]:
    """Names the file imports from `agents` that this runtime leaves out on purpose: such a file
    may import cleanly and still stop with a UserError when it uses them."""
    import ast

    from agentoscope.runtime.left_out import ALTERNATIVES

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "agents" or node.module.startswith("agents."):
                names.update(a.name for a in node.names if a.name in ALTERNATIVES)
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="?", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--folders", default=",".join(COUNTED))
    parser.add_argument("--one", nargs=2, metavar=("FILE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _import_one(Path(args.one[0]).resolve(), Path(args.one[1]).resolve())
        return 0
    examples = args.examples or sdk_source_dir() / "examples"
    report = measure(examples.resolve(), tuple(args.folders.split(",")))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, error in report["errors"].items():
            mark = "ok  " if error is None else "FAIL"
            note = "" if error is None else f": {error}"
            left = report["left_out_names"].get(name)
            if left:
                note += f"  (imports left-out names: {', '.join(left)})"
            print(f"{mark} {name}{note}")
        share = 100.0 * report["clean"] / max(report["files"], 1)
        print(f"{report['clean']} of {report['files']} example files import cleanly ({share:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
