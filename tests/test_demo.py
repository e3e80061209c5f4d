"""`agentoscope demo --no-dashboard` in a clean directory and environment."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentoscope.cli.demo_command import listed, run_with_bar
from agentoscope.cli.demo_workflows import DemoResult, expected_runs
from agentoscope.tracing import SpanStore, read_jsonl

ALL_KINDS = {
    "agent",
    "generation",
    "response",
    "function",
    "handoff",
    "guardrail",
    "custom",
    "mcp_tools",
    "transcription",
    "speech",
    "speech_group",
}


@pytest.mark.slow
def test_demo_fills_a_store_with_every_span_kind_and_the_errors(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOSCOPE_", "OPENAI_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "agentoscope.cli.main", "demo", "--no-dashboard", "--batch", "4"],
        cwd=tmp_path,
        env={**env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Tracing: nothing dropped" in completed.stderr
    # Redirected, the progress is a log: one line per finished run, counter first.
    runs = expected_runs(4)
    progress = [line for line in completed.stderr.splitlines() if line.startswith("[")]
    assert [line[: len(f"[{runs}/{runs}]")] for line in progress] == [
        f"[{done:>2}/{runs}]" for done in range(1, runs + 1)
    ]
    assert progress[0].startswith(f"[ 1/{runs}] ✓ Support desk: Your order A-1001 is")
    assert any(line.startswith("[") and "✓ Guardrail: blocked by" in line for line in progress)
    # The sample trace's header and its error stay on their lines, whatever COLUMNS says.
    header = next(line for line in completed.stderr.splitlines() if line.startswith("●  "))
    assert header.endswith(" tok  1 error")
    assert any(
        "function  issue_refund" in line and line.endswith("✗ TimeoutError: Error running tool")
        for line in completed.stderr.splitlines()
    )
    store_path = tmp_path / ".agentoscope" / "traces.duckdb"
    with SpanStore(store_path, read_only=True) as store:
        kinds = set(store.query("SELECT DISTINCT span_type FROM spans")["span_type"])
        assert kinds == ALL_KINDS
        errors = store.query("SELECT span_type, error_type, name FROM spans WHERE status='error'")
        pairs = set(zip(errors["span_type"], errors["error_type"], strict=True))
        assert ("function", "TimeoutError") in pairs
        assert ("agent", "InputGuardrailTripwireTriggered") in pairs
        tripped = store.query(
            "SELECT count(*) AS n FROM spans WHERE span_type='guardrail' "
            "AND json_extract(data, '$.triggered')::BOOLEAN"
        )
        assert tripped["n"][0] == 1
        traces = store.query("SELECT workflow_name, group_id FROM traces")
        assert len(traces) == 5 + 1 + 1 + 3 + 1 + 1 + 1 + 4  # + voice, MCP, realtime
        mcp_calls = store.query(
            "SELECT tool_name AS name, json_extract_string(mcp_data, '$.server') AS server "
            "FROM tool_calls WHERE json_extract_string(mcp_data, '$.server') IS NOT NULL"
        )
        assert sorted(mcp_calls["name"]) == ["lookup_order", "track_shipment"]
        assert set(mcp_calls["server"]) == {"warehouse"}
        listings = store.query("SELECT data FROM spans WHERE span_type='mcp_tools'")
        assert len(listings) == 3  # one per model call of the warehouse assistant
        chats = traces[traces["workflow_name"] == "Concierge chat"]
        assert len(chats) == 3 and chats["group_id"].nunique() == 1
        summary = store.query(
            "SELECT json_extract_string(data, '$.output_type') AS output_type FROM spans "
            "WHERE span_type='agent' AND name='Ticket summarizer'"
        )
        assert list(summary["output_type"]) == ["TicketSummary"]
    jsonl = list(read_jsonl(tmp_path / ".agentoscope" / "traces.jsonl"))
    assert sum(r["kind"] == "trace" for r in jsonl) == len(traces)


@pytest.mark.parametrize("columns", [80, 120])
def test_the_progress_bar_keeps_its_counter_on_a_narrow_terminal(columns: int) -> None:
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=columns, color_system=None)
    results = [
        DemoResult("Support desk", True, "I've refunded the duplicate 49.00 EUR charge " * 3),
        DemoResult("Realtime phone line", False, "the session\nended early"),
    ]

    def run(on_result: Callable[[DemoResult], None]) -> list[DemoResult]:
        for result in results:
            on_result(result)
        return results

    assert run_with_bar(console, 17, run) == results
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen.getvalue().replace("\r", "\n"))
    last = [line for line in shown.splitlines() if line.strip()][-1]
    assert last.startswith(" 2/17 ") and len(last) <= columns
    assert "Realtime phone line ✗ the session ended early" in last


def test_the_span_kinds_line_breaks_between_kinds_only() -> None:
    kinds = [f"{name} {count}" for name, count in [("generation", 44), ("handoff", 11)] * 5]
    lines = listed("Span kinds: ", kinds, 40).splitlines()
    assert all(len(line) <= 40 for line in lines) and len(lines) > 2
    for line in lines:
        assert re.fullmatch(r"(Span kinds: | {12})(\w+ \d+,? ?)+", line), line
    assert listed("Span kinds: ", kinds, None).count("\n") == 0  # a file gets one line


def test_demo_refuses_a_clickhouse_store_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentoscope.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTOSCOPE_STORE", "chdb:///tmp/fleet?database=agents")
    assert main(["demo", "--no-dashboard"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "agentoscope demo: AGENTOSCOPE_STORE is a ClickHouse store "
        "(chdb:///tmp/fleet/agents); the demo writes a DuckDB file only: give it one with "
        "--store demo.duckdb (its traces.jsonl can then go to ClickHouse with "
        "`agentoscope ingest`)"
    ]
    assert not list(tmp_path.iterdir())  # nothing written
    monkeypatch.delenv("AGENTOSCOPE_STORE")
    assert main(["demo", "--no-dashboard", "--store", "clickhouse://u@ch:8123/db"]) == 2
    assert "--store is a ClickHouse store" in capsys.readouterr().err
