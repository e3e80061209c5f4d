"""JSONL files: what is written, what readers keep, rotation, and what survives exits and kills."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest

from agentoscope import tracing


def _write_workflow(spans: int = 3) -> str:
    with tracing.trace("wf", group_id="conv-1") as t, tracing.agent_span("A"):
        for n in range(spans):
            with tracing.function_span(f"tool{n}", input="{}"):
                pass
    return t.trace_id


def test_one_line_per_span_and_trace(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    tracing.configure(jsonl=path)
    trace_id = _write_workflow()
    tracing.flush_traces()
    records = list(tracing.read_jsonl(path))
    assert [r["kind"] for r in records].count("span") == 4
    trace = [r for r in records if r["kind"] == "trace"]
    assert len(trace) == 1 and trace[0]["trace_id"] == trace_id
    assert trace[0]["group_id"] == "conv-1" and trace[0]["duration_ms"] > 0
    tools = [r for r in records if r.get("span_type") == "function"]
    assert len(tools) == 3
    assert {r["agent_name"] for r in tools} == {"A"}
    assert all(r["v"] == tracing.RECORD_VERSION for r in records)
    assert list(records[0]) == list(tracing.SPAN_RECORD_FIELDS)


def test_spool_directory_gets_one_file_per_process(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    processor = tracing.JSONLProcessor(spool)
    tracing.set_trace_processors([processor])
    _write_workflow()
    processor.force_flush()
    files = list(spool.glob("*.jsonl"))
    assert len(files) == 1 and f"-{os.getpid()}-" in files[0].name


def test_rotation_by_size_keeps_every_record(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    processor = tracing.JSONLProcessor(path, max_bytes=2000, max_batch_size=5)
    tracing.set_trace_processors([processor])
    for _ in range(10):
        _write_workflow()
    processor.shutdown()
    files = sorted(tmp_path.glob("t*.jsonl"))
    assert len(files) > 2
    records = [r for f in files for r in tracing.read_jsonl(f)]
    assert len(records) == 10 * 5
    assert len({r.get("span_id") or r["trace_id"] for r in records}) == 50


def test_malformed_lines_are_reported_with_line_numbers_and_good_lines_kept(
    tmp_path: Path,
) -> None:
    good = {"v": 1, "kind": "trace", "trace_id": "trace_1", "workflow_name": "w"}
    span = {"v": 1, "kind": "span", "trace_id": "trace_1", "span_id": "span_1"}
    lines = [
        orjson.dumps(good).decode(),
        "{not json",
        orjson.dumps(span).decode(),
        "[1, 2]",
        '{"v": 1, "kind": "metric", "trace_id": "x"}',
        "",
        '{"v": 99, "kind": "span", "trace_id": "t", "span_id": "s"}',
        orjson.dumps(span | {"span_id": "span_2"}).decode(),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    problems: list[tracing.MalformedLine] = []
    records = list(tracing.read_jsonl(path, on_error=problems.append))
    assert [r.get("span_id", r["trace_id"]) for r in records] == ["trace_1", "span_1", "span_2"]
    assert [p.line for p in problems] == [2, 4, 5, 7]
    assert "invalid JSON" in problems[0].reason
    assert "unknown record kind 'metric'" in problems[2].reason
    assert "newer than this reader" in problems[3].reason
    assert str(problems[0]).startswith(f"{path}:2: ")


def test_torn_last_line_is_skipped_silently(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    record = {"v": 1, "kind": "span", "trace_id": "t", "span_id": "s"}
    path.write_bytes(orjson.dumps(record) + b"\n" + orjson.dumps(record)[:20])
    problems: list[tracing.MalformedLine] = []
    assert len(list(tracing.read_jsonl(path, on_error=problems.append))) == 1
    assert problems == []


def test_console_processor_prints_a_tree() -> None:
    stream = io.StringIO()
    tracing.set_trace_processors([tracing.ConsoleProcessor(stream=stream)])
    with tracing.trace("Support flow"), tracing.agent_span("Triage"):
        with tracing.generation_span(
            model="gpt-4o", usage={"input_tokens": 12, "output_tokens": 3}
        ):
            pass
        with pytest.raises(ValueError), tracing.function_span("lookup"):
            raise ValueError("no such order")
    tracing.flush_traces()
    text = stream.getvalue()
    assert "Support flow" in text and "Triage" in text and "gpt-4o" in text
    assert "12→3 tok" in text and "ValueError: no such order" in text
    assert "\033[" not in text  # not a terminal: no colour codes


def test_configure_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOSCOPE_JSONL", str(tmp_path / "env.jsonl"))
    monkeypatch.setenv("AGENTOSCOPE_CONSOLE", "1")
    processors = tracing.configure()
    assert {type(p).__name__ for p in processors} == {"JSONLProcessor", "ConsoleProcessor"}
    _write_workflow(1)
    tracing.flush_traces()
    assert len(list(tracing.read_jsonl(tmp_path / "env.jsonl"))) == 3


def test_official_sdk_spans_become_the_same_records(tmp_path: Path) -> None:
    import agents

    path = tmp_path / "sdk.jsonl"
    processor = tracing.JSONLProcessor(path)
    agents.set_trace_processors([processor])
    try:
        with agents.trace("SDK flow", group_id="g") as t:
            with agents.agent_span("Helper") as agent:
                with agents.function_span("lookup", input="{}") as fn:
                    fn.span_data.output = "ok"
                with agents.custom_span("inner"):
                    pass
        processor.force_flush()
    finally:
        agents.set_trace_processors([])
    records = {r.get("span_id") or "trace": r for r in tracing.read_jsonl(path)}
    assert records["trace"]["workflow_name"] == "SDK flow"
    assert records["trace"]["started_at"] and records["trace"]["duration_ms"] >= 0
    assert records["trace"]["trace_id"] == t.trace_id
    function = records[fn.span_id]
    assert function["parent_id"] == agent.span_id and function["agent_name"] == "Helper"
    assert function["data"]["output"] == "ok" and function["span_type"] == "function"


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from agentoscope import tracing
    tracing.configure(jsonl=sys.argv[1])
    count = int(sys.argv[2])
    with tracing.trace("exit-test"):
        for n in range(count):
            with tracing.custom_span(f"s{n}"):
                pass
    if len(sys.argv) > 3:  # keep writing until killed
        n = 0
        while True:
            with tracing.trace("loop"), tracing.custom_span("x", {"n": n}):
                pass
            n += 1
            if n % 100 == 0:
                time.sleep(0.001)
    """
)


def test_clean_exit_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "exit.jsonl"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path), "20000"], check=True, timeout=120)
    records = list(tracing.read_jsonl(path))
    assert sum(r["kind"] == "span" for r in records) == 20000
    assert sum(r["kind"] == "trace" for r in records) == 1


def test_kill_9_leaves_only_complete_parseable_lines(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), "10", "loop"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 200_000:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the writer produced no output")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    raw = path.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]
    lines = complete.splitlines()
    assert len(lines) > 100
    for line in lines:
        assert orjson.loads(line)["v"] == 1
    problems: list[tracing.MalformedLine] = []
    assert len(list(tracing.read_jsonl(path, on_error=problems.append))) == len(lines)
    assert problems == []
