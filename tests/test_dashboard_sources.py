"""Where the dashboard reads from: a store file, a running `agentoscope serve`, and the pages it
shows instead of a traceback when the store is missing, owned by another process, or not a
store at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentoscope.tracing.serve.service import StoreService
from support.dashboard_data import (
    KNOWN_TRACE_ID,
    build_dashboard_store,
    open_app,
    page_text,
    release_dashboard_readers,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("AGENTOSCOPE_SERVER", raising=False)
    monkeypatch.delenv("AGENTOSCOPE_TOKEN", raising=False)
    monkeypatch.setenv("AGENTOSCOPE_PRICES", str(tmp_path / "prices.json"))
    yield
    release_dashboard_readers()


def late_trace_record(trace_id: str) -> dict:
    from datetime import UTC, datetime

    from agentoscope.tracing import RECORD_VERSION

    now = datetime.now(UTC).isoformat(timespec="microseconds")
    return {
        "v": RECORD_VERSION,
        "kind": "trace",
        "trace_id": trace_id,
        "workflow_name": "Arrived later",
        "group_id": None,
        "metadata": None,
        "started_at": now,
        "ended_at": now,
        "duration_ms": 0.0,
    }


def traces_listed(app) -> list[str]:
    return app.dataframe[0].value["open"].tolist()


def test_missing_store_explains_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "traces.duckdb"
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(missing))
    app = open_app()
    assert not app.exception
    text = page_text(app)
    assert "No trace store yet" in text
    assert str(missing) in text and "agentoscope demo" in text
    assert not app.dataframe


OWNER = textwrap.dedent(
    """
    import sys
    from agentoscope.tracing.store import SpanStore
    store = SpanStore(sys.argv[1])
    print("owning", flush=True)
    sys.stdin.read()
    store.close()
    """
)


def test_store_owned_by_another_process_says_so_then_opens_when_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "traces.duckdb"
    build_dashboard_store(path)
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(path))
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "owning"
        app = open_app()
        assert not app.exception
        text = page_text(app)
        assert "The store is in use by another process" in text
        assert "agentoscope serve --store" in text and f"PID {owner.pid}" in text
    finally:
        owner.communicate(input="", timeout=30)
    app.run()  # what the page's retry timer does once the owner has exited
    assert any(KNOWN_TRACE_ID in url for url in traces_listed(app))


def test_a_duckdb_url_opens_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # duckdb:///abs/path is a store URL (store/url.py), not a relative path named "duckdb:".
    path = tmp_path / "traces.duckdb"
    build_dashboard_store(path)
    monkeypatch.setenv("AGENTOSCOPE_STORE", f"duckdb://{path}")
    app = open_app()
    assert not app.exception
    assert any(KNOWN_TRACE_ID in url for url in traces_listed(app))
    assert f"`{path}` (read-only)" in page_text(app)


def test_a_file_that_is_not_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE t (x INT)").close()
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(path))
    app = open_app()
    assert not app.exception
    assert "not a store this dashboard can read" in page_text(app)


@pytest.mark.slow  # starts another process
def test_reads_through_agentoscope_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "traces.duckdb"
    build_dashboard_store(path)
    service = StoreService(path, http_port=0, grpc_port=None, token="s3cret").start()
    try:
        monkeypatch.setenv("AGENTOSCOPE_SERVER", service.http_url)
        monkeypatch.setenv("AGENTOSCOPE_TOKEN", "s3cret")
        app = open_app()
        assert not app.exception
        assert any(KNOWN_TRACE_ID in url for url in traces_listed(app))
        assert service.http_url in page_text(app)
        app.toggle(key="live").set_value(True).run()  # live refresh is for served stores
        assert not app.exception
        # spans that arrive at the server show on the next run: nothing is kept from before
        new_trace = "trace_00000000000000000000000000000777"
        service.ingest([late_trace_record(new_trace)])
        app.run()
        assert traces_listed(app)[0].endswith(new_trace)
        app = open_app("page_trace.py", trace_id=KNOWN_TRACE_ID)
        assert "Spans: 10" in page_text(app)
    finally:
        service.stop()


def test_a_server_that_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOSCOPE_SERVER", "http://127.0.0.1:9")  # discard port: nobody home
    app = open_app()
    assert not app.exception
    text = page_text(app)
    assert "Cannot read the server http://127.0.0.1:9" in text
    assert "cannot reach agentoscope serve" in text
