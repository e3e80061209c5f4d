"""otel-collector.yaml: parses, and its pipelines use only components it defines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIG = Path(__file__).resolve().parent.parent / "otel-collector.yaml"


def _load(text: str) -> dict[str, Any]:
    config = yaml.safe_load(text)
    assert isinstance(config, dict)
    return config


def _check_wiring(config: dict[str, Any]) -> None:
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config.get("extensions", {}), f"undefined extension {extension}"
    pipelines = service["pipelines"]
    assert pipelines, "no pipelines"
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in (config.get(kind) or {}), (
                    f"pipeline {name} uses undefined {kind[:-1]} {component}"
                )
        assert pipeline["receivers"] and pipeline["exporters"]


def test_config_parses_and_pipelines_use_defined_components() -> None:
    config = _load(CONFIG.read_text())
    _check_wiring(config)
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    # memory_limiter must run first, batch after it.
    assert traces["processors"][0] == "memory_limiter"
    assert "batch" in traces["processors"]
    assert "otlphttp/agentoscope" in traces["exporters"]


def test_agentoscope_exporter_points_at_serve_over_http() -> None:
    exporter = _load(CONFIG.read_text())["exporters"]["otlphttp/agentoscope"]
    assert re.match(
        r"\$\{env:AGENTOSCOPE_SERVE_ENDPOINT:-http://127\.0\.0\.1:\d+\}", exporter["endpoint"]
    )
    assert "Bearer" in exporter["headers"]["Authorization"]


@pytest.mark.parametrize(
    "exporter",
    ["otlp/jaeger", "otlp/tempo", "otlphttp/phoenix", "otlphttp/langfuse", "clickhouse"],
)
def test_commented_backends_are_valid_once_uncommented(exporter: str) -> None:
    """The commented exporters are one uncomment away from working: uncommented and added to the
    pipeline, the config still parses and wires up."""
    lines = CONFIG.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "Other backends" in line)
    uncommented = list(lines)
    for i in range(start + 1, len(lines)):
        if not lines[i].startswith("  # "):
            break
        uncommented[i] = "  " + lines[i][4:]
    config = _load("\n".join(uncommented))
    assert exporter in config["exporters"]
    config["service"]["pipelines"]["traces"]["exporters"].append(exporter)
    _check_wiring(config)
    assert config["exporters"][exporter]["endpoint"]


def test_the_clickhouse_exporter_writes_the_table_the_store_reads() -> None:
    """The commented ClickHouse exporter fills otel.otel_traces, the table a store URL with
    ?table=otel.otel_traces reads (tests/test_store_clickhouse_otel.py)."""
    from agentoscope.tracing.store import parse_store_url

    lines = CONFIG.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # clickhouse:"))
    block = []
    for line in lines[start:]:
        if not line.startswith("  # "):
            break
        block.append(line[4:])
    fields = _load("\n".join(block))["clickhouse"]
    url = parse_store_url(
        f"clickhouse://default@clickhouse:8123/agentoscope?table="
        f"{fields['database']}.{fields['traces_table_name']}"
    )
    assert url.otel_table == "otel.otel_traces"
