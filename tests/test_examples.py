"""Every example in examples/ runs, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes

from support.otlp_sink import otlp_sink
from support.serve import free_port, running_service, wait_until

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None, status: int = 0
) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )
    assert completed.returncode == status, completed.stderr
    return completed.stdout + completed.stderr


@pytest.mark.slow
def test_dropin_example_then_sql_recipes_on_its_store(tmp_path: Path) -> None:
    out = _run("dropin_openai_agents.py", cwd=tmp_path)
    assert "It is 18°C with light rain in Lisbon." in out
    assert "get_weather" in out and "turn" in out
    recipes = _run("sql_recipes.py", "--store", str(tmp_path / "dropin.duckdb"), cwd=tmp_path)
    for title in ("Cost per agent", "Slowest tools", "Handoff paths", "Guardrail trip rate"):
        assert title in recipes
    slowest = recipes.split("== Slowest tools")[1].split("==")[0]
    assert "get_weather" in slowest


@pytest.mark.slow
def test_send_otlp_example_reaches_serve(tmp_path: Path) -> None:
    with running_service(tmp_path / "served.duckdb", grpc_port=None) as service:
        endpoint = f"http://127.0.0.1:{service.http_port}"
        out = _run("send_otlp.py", "--endpoint", endpoint, "--runs", "3", cwd=tmp_path)
        assert "run 2: 4" in out
        count_sql = "SELECT count(DISTINCT trace_id) AS traces, count(*) AS spans FROM spans"
        wait_until(
            lambda: service.store.query(count_sql)["traces"][0] == 3, what="three traces in serve"
        )
        counts = service.store.query(count_sql)
        assert counts["spans"][0] == 3 * 4  # agent, 2 generations, 1 function per run


@pytest.mark.slow
def test_phoenix_example_sends_an_openinference_trace(tmp_path: Path) -> None:
    with otlp_sink() as sink:
        base_url = sink.endpoint.removesuffix("/v1/traces")
        out = _run("phoenix.py", cwd=tmp_path, env={"PHOENIX_COLLECTOR_ENDPOINT": base_url})
        spans = list(sink.spans)
    assert "arrives Thursday" in out and "sent 9 spans" in out
    kinds = {span.name: span.attributes[SpanAttributes.OPENINFERENCE_SPAN_KIND] for span in spans}
    assert kinds["invoke_agent Shipping agent"] == OpenInferenceSpanKindValues.AGENT.value
    root = next(span for span in spans if not span.parent_span_id)
    assert root.attributes[SpanAttributes.INPUT_VALUE] == "Where is my order A-1042?"
    assert "arrives Thursday" in root.attributes[SpanAttributes.OUTPUT_VALUE]


def test_phoenix_example_says_when_no_phoenix_listens(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    out = _run("phoenix.py", "--endpoint", endpoint, cwd=tmp_path, status=2)
    assert f"No Phoenix at {endpoint}/v1/traces" in out and "phoenix serve" in out
