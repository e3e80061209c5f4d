"""The port test: programs written for the official SDK (support/port_programs, in the style of
its examples) run once as written and once with their `agents` imports rewritten to
`agentoscope.runtime`, offline against the local OpenAI-speaking server, in this test. Both give
the same outputs and the same span types (the SDK's task/turn spans, which this runtime does not
emit, and our approval spans aside)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.fake_openai import FakeOpenAIServer, json_reply, text_reply, tool_call_reply

PROGRAMS = Path(__file__).parent / "support" / "port_programs"
_AGENTS_IMPORT = re.compile(r"^(\s*)(from|import) agents(\.|\s)", re.MULTILINE)


def rewrite(source: str) -> str:
    """`from agents...` / `import agents...` -> agentoscope.runtime: all a port changes."""
    return _AGENTS_IMPORT.sub(r"\1\2 agentoscope.runtime\3", source)


def _copy(dest: Path, transform: Any) -> None:
    dest.mkdir()
    for path in PROGRAMS.glob("*.py"):
        (dest / path.name).write_text(transform(path.read_text()))


def _run(package: str, program: str, cwd: Path, server: FakeOpenAIServer) -> dict[str, Any]:
    record = cwd / f"{package}-{program}.json"
    env = {
        **os.environ,
        "BASE_URL": server.base_url,
        "RECORD": str(record),
        "OPENAI_API_KEY": "test-key",
        "OPENAI_AGENTS_DISABLE_TRACING": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", f"{package}.{program}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{package}.{program}: {done.stderr}"
    return json.loads(record.read_text())


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    _copy(tmp_path / "sdk_programs", lambda s: s)
    _copy(tmp_path / "our_programs", rewrite)
    return tmp_path


def _comparable(types: list[str], ours: bool) -> set[str]:
    if ours:
        return {t for t in types if not t.startswith("custom:tool_approval_")}
    return {t for t in types if t not in ("task", "turn")}


def test_rewrite_touches_only_agents_imports() -> None:
    source = "from agents import Agent\nimport agents.tracing\nfrom agents_extra import x\n"
    assert rewrite(source) == (
        "from agentoscope.runtime import Agent\nimport agentoscope.runtime.tracing\n"
        "from agents_extra import x\n"
    )


@pytest.mark.slow
def test_support_desk_ports_unchanged(programs: Path) -> None:
    script = [
        tool_call_reply("transfer_to_billing", {}),
        tool_call_reply("lookup_invoice", {"invoice": "A-7"}),
        json_reply({"invoice": "A-7", "amount": 120}),
    ]
    results = []
    for package in ("sdk_programs", "our_programs"):
        with FakeOpenAIServer() as server:
            server.enqueue(*script)
            results.append(_run(package, "support_desk", programs, server))
            sent = [r.body for r in server.requests]
        # The card number never reached the model, in either runtime.
        assert "4111" not in json.dumps(sent)
    sdk, ours = results
    assert ours["final"] == sdk["final"] == {"invoice": "A-7", "amount": 120}
    assert ours["last_agent"] == sdk["last_agent"] == "Billing"
    assert ours["tool_outputs"] == sdk["tool_outputs"] == ["[card number removed]"]
    assert _comparable(ours["span_types"], True) == _comparable(sdk["span_types"], False)
    assert _comparable(ours["span_types"], True) == {
        "agent",
        "generation",
        "function",
        "handoff",
        "guardrail",
    }
    assert ours["traces"] == sdk["traces"] == 1


@pytest.mark.slow
def test_approval_program_ports_unchanged(programs: Path) -> None:
    script = [
        tool_call_reply("refund", {"order": "17", "amount": 30}),
        text_reply("Refunded 30 on order 17."),
    ]
    results = []
    for package in ("sdk_programs", "our_programs"):
        with FakeOpenAIServer() as server:
            server.enqueue(*script)
            results.append(_run(package, "approvals", programs, server))
    sdk, ours = results
    for result in (sdk, ours):
        assert result["paused"] == [["refund", {"order": "17", "amount": 30}]]
        assert result["ran_before"] == []
        assert result["ran_after"] == ["17"]
        assert result["final"] == "Refunded 30 on order 17."
        assert result["traces"] == 1
    assert _comparable(ours["span_types"], True) == _comparable(sdk["span_types"], False)
    assert "custom:tool_approval_decision" in ours["span_types"]


def test_programs_are_shipped() -> None:
    assert shutil.which(sys.executable)
    assert {p.stem for p in PROGRAMS.glob("*.py")} >= {"support_desk", "approvals", "_record"}
