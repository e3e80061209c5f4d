"""`serve` cannot be reached from a web page: foreign Host (DNS rebinding) and Origin headers are
refused, SQL needs application/json, no CORS; beyond loopback it needs a token or --insecure;
the bearer scheme is read in any case. Real HTTP requests against a real service."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentoscope.tracing.serve.access import ServeConfigError
from agentoscope.tracing.serve.service import StoreService
from support.serve import VENV_BIN, running_service

QUERY = {"sql": "SELECT count(*) AS n FROM spans"}


@pytest.fixture
def service(tmp_path: Path) -> Any:
    with running_service(tmp_path / "store.duckdb", grpc_port=None) as running:
        yield running


def test_a_rebinding_host_is_refused_and_loopback_names_are_answered(service: Any) -> None:
    url = f"{service.http_url}/v1/query"
    refused = httpx.post(url, json=QUERY, headers={"Host": "attacker.example"})
    assert refused.status_code == 403
    assert "attacker.example" in refused.json()["error"]
    assert (
        httpx.get(f"{service.http_url}/health", headers={"Host": "evil.test:4318"}).status_code
        == 403
    )
    traces = httpx.post(
        f"{service.http_url}/v1/traces",
        content=b"",
        headers={"Host": "attacker.example", "Content-Type": "application/x-protobuf"},
    )
    assert traces.status_code == 403
    for host in ("localhost", f"localhost:{service.http_port}", "127.0.0.1", "[::1]:4318"):
        answered = httpx.post(url, json=QUERY, headers={"Host": host})
        assert answered.status_code == 200, host
        assert "access-control-allow-origin" not in answered.headers
    assert service.health()["requests"]["refused"] == 3


def test_an_allowed_host_is_answered(tmp_path: Path) -> None:
    with running_service(
        tmp_path / "s.duckdb", grpc_port=None, allowed_hosts=["traces.internal"]
    ) as service:
        url = f"{service.http_url}/v1/query"
        assert (
            httpx.post(url, json=QUERY, headers={"Host": "traces.internal:4318"}).status_code == 200
        )
        assert httpx.post(url, json=QUERY, headers={"Host": "other.internal"}).status_code == 403


def test_a_foreign_origin_is_refused(service: Any) -> None:
    url = f"{service.http_url}/v1/query"
    for origin in ("https://attacker.example", "null", "http://localhost:8501"):
        response = httpx.post(url, json=QUERY, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert "access-control-allow-origin" not in response.headers
    own = httpx.post(url, json=QUERY, headers={"Origin": service.http_url})
    assert own.status_code == 200


def test_queries_need_json_and_no_preflight_is_answered(service: Any) -> None:
    url = f"{service.http_url}/v1/query"
    # What a page can send without a preflight: text/plain with a JSON body.
    plain = httpx.post(url, content=b'{"sql": "SELECT 1"}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert "application/json" in plain.json()["error"]
    form = httpx.post(url, data={"sql": "SELECT 1"})
    assert form.status_code == 415
    preflight = httpx.request(
        "OPTIONS",
        url,
        headers={"Origin": "https://attacker.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code >= 400
    assert not any(key.startswith("access-control-") for key in preflight.headers)
    assert httpx.post(url, json=QUERY).status_code == 200


def test_the_bearer_scheme_is_read_in_any_case(tmp_path: Path) -> None:
    with running_service(tmp_path / "s.duckdb", grpc_port=None, token="s3cret") as service:
        url = f"{service.http_url}/v1/query"
        for scheme in ("Bearer", "bearer", "BEARER"):
            answered = httpx.post(url, json=QUERY, headers={"Authorization": f"{scheme} s3cret"})
            assert answered.status_code == 200, scheme
        assert (
            httpx.post(url, json=QUERY, headers={"Authorization": "Basic s3cret"}).status_code
            == 401
        )
        assert (
            httpx.post(url, json=QUERY, headers={"Authorization": "bearer wrong"}).status_code
            == 401
        )


def test_binding_beyond_loopback_needs_a_token_or_insecure(tmp_path: Path, caplog: Any) -> None:
    with pytest.raises(ServeConfigError, match="--token"):
        StoreService(tmp_path / "s.duckdb", host="0.0.0.0", http_port=0, grpc_port=None)
    with caplog.at_level("WARNING", logger="agentoscope.serve"):
        with running_service(
            tmp_path / "s.duckdb", host="0.0.0.0", grpc_port=None, insecure=True
        ) as service:
            assert httpx.get(f"http://127.0.0.1:{service.http_port}/health").status_code == 200
    assert "WITHOUT a token" in caplog.text
    with caplog.at_level("WARNING", logger="agentoscope.serve"):
        with running_service(
            tmp_path / "t.duckdb", host="0.0.0.0", grpc_port=None, token="s3cret"
        ) as service:
            assert service.access.exposed
    assert "a bearer token is required" in caplog.text


def test_the_command_refuses_to_expose_the_store_without_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(VENV_BIN / "agentoscope"),
            "serve",
            "--store",
            str(tmp_path / "s.duckdb"),
            "--host",
            "0.0.0.0",
            "--http-port",
            "0",
            "--grpc-port",
            "-1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(VENV_BIN), "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "--insecure" in result.stderr and "--token" in result.stderr
    assert not (tmp_path / "s.duckdb").exists()
