"""Every example in examples/ runs, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.serve import running_service, wait_until

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str, cwd: Path) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


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
