"""The store commands as a user runs them: sql, traces, show, ingest, export, prune."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from agentoscope.cli.main import main
from agentoscope.tracing.store import SpanStore
from support.store_spans import span, store_rows, trace_rec


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _records(now: datetime) -> list[dict]:
    """Three traces: an old one (40 days ago), a recent one, and a recent failing one."""
    records = []
    for number, (age, workflow, failing) in enumerate(
        [
            (timedelta(days=40), "Old", False),
            (timedelta(hours=2), "Support", False),
            (timedelta(minutes=30), "Billing", True),
        ]
    ):
        trace_id = f"trace_{number:x}{'a' * 31}"
        start = now - age
        records.append(
            trace_rec(
                trace_id,
                workflow_name=workflow,
                started_at=_iso(start),
                ended_at=_iso(start + timedelta(seconds=3)),
                duration_ms=3000.0,
            )
        )
        records.append(
            span(
                trace_id,
                f"agent{number}",
                span_type="agent",
                name="Helper",
                agent_name="Helper",
                started_at=_iso(start),
                ended_at=_iso(start + timedelta(seconds=2)),
                duration_ms=2000.0,
            )
        )
        records.append(
            span(
                trace_id,
                f"gen{number}",
                parent_id=f"agent{number}",
                span_type="generation",
                name="gpt-4o",
                model="gpt-4o",
                agent_name="Helper",
                input_tokens=100,
                output_tokens=20,
                total_tokens=120,
                started_at=_iso(start + timedelta(milliseconds=10)),
                ended_at=_iso(start + timedelta(seconds=1)),
                duration_ms=990.0,
                status="error" if failing else "ok",
                error_type="RateLimitError" if failing else None,
                error_message="slow down" if failing else None,
            )
        )
    return records


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "cli.duckdb"
    with SpanStore(path) as store:
        store.ingest(_records(datetime.now(UTC).replace(tzinfo=None)))
    return path


def test_sql_prints_a_table_csv_or_json(store_path: Path, capsys: pytest.CaptureFixture) -> None:
    query = "SELECT span_type, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1"
    assert main(["sql", query, "--store", str(store_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["span_type", "n"] and out[2].split() == ["agent", "3"]
    assert out[-1] == "(2 rows)"

    assert main(["sql", query, "--store", str(store_path), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["span_type,n", "agent,3", "generation,3"]

    assert (
        main(
            [
                "sql",
                "SELECT span_id, started_at, input_tokens, data FROM spans WHERE span_id = 'gen1'",
                "--store",
                str(store_path),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["span_id"] == "gen1" and rows[0]["input_tokens"] == 100
    started = datetime.fromisoformat(rows[0]["started_at"])
    expected = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    assert abs(started - expected) < timedelta(minutes=1)
    assert json.loads(rows[0]["data"])["type"] == "custom"


def test_sql_takes_parameters(store_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(
        [
            "sql",
            "SELECT count(*) AS n FROM traces WHERE workflow_name = $w",
            "--param",
            "w=Support",
            "--store",
            str(store_path),
            "--format",
            "csv",
        ]
    )
    assert code == 0 and capsys.readouterr().out.splitlines() == ["n", "1"]
    assert main(["sql", "SELECT 1", "--param", "oops", "--store", str(store_path)]) == 1
    assert "NAME=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "query", ["DELETE FROM spans", "DROP TABLE traces", "SELECT 1; DELETE FROM spans"]
)
def test_sql_refuses_writes_with_a_clear_error(
    store_path: Path, capsys: pytest.CaptureFixture, query: str
) -> None:
    assert main(["sql", query, "--store", str(store_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("agentoscope sql: refused:") and captured.out == ""
    assert store_rows(store_path, "SELECT count(*) AS n FROM spans") == [{"n": 6}]


def test_sql_errors_and_a_missing_store_are_one_line(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["sql", "SELECT nope FROM spans", "--store", str(store_path)]) == 1
    assert "BinderException" in capsys.readouterr().err
    assert main(["sql", "SELECT 1", "--store", str(tmp_path / "missing.duckdb")]) == 1
    assert "no store at" in capsys.readouterr().err


def test_store_path_comes_from_the_environment(
    store_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(store_path))
    assert main(["sql", "SELECT count(*) AS n FROM traces", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "3"]


def test_traces_lists_filters_and_flags_errors(
    store_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["traces", "--store", str(store_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in lines[2:5]] == ["Billing", "Support", "Old"]
    billing = lines[2].split()
    assert billing[-3:] == ["2", "120", "1"]  # spans, tokens, errors

    assert main(["traces", "--store", str(store_path), "--errors", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and ",Billing," in out[1]

    assert main(["traces", "--store", str(store_path), "--since", "1d", "--limit", "1"]) == 0
    assert "Billing" in capsys.readouterr().out
    since = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
    assert main(["traces", "--store", str(store_path), "--since", since, "--workflow", "Old"]) == 0
    assert capsys.readouterr().out.startswith("(no rows)")
    assert main(["traces", "--store", str(store_path), "--since", "last tuesday"]) == 1
    assert "cannot read the time" in capsys.readouterr().err


def test_show_prints_the_span_tree(store_path: Path, capsys: pytest.CaptureFixture) -> None:
    trace_id = "trace_2" + "a" * 31
    assert main(["show", trace_id, "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"●  Billing  {trace_id}  3.00 s  2 spans")
    assert "└─ agent  Helper  2.00 s" in out
    assert "generation  gpt-4o  990 ms  100→20 tok  ✗ RateLimitError: slow down" in out
    assert main(["show", "trace_2", "--store", str(store_path)]) == 0  # a prefix will do
    assert capsys.readouterr().out == out
    assert main(["show", "trace_", "--store", str(store_path)]) == 1
    assert "'trace_' starts 3 trace ids; give more of the id:" in capsys.readouterr().err
    assert main(["show", "trace_9", "--store", str(store_path)]) == 1
    assert "no trace id starts with 'trace_9'" in capsys.readouterr().err


def test_ingest_reports_malformed_lines_and_skips_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "records.jsonl"
    lines = [orjson.dumps(r) for r in _records(datetime.now(UTC).replace(tzinfo=None))]
    lines.insert(2, b"{broken")
    source.write_bytes(b"\n".join(lines) + b"\n")
    store = tmp_path / "ingested.duckdb"
    assert main(["ingest", str(source), "--store", str(store)]) == 1
    captured = capsys.readouterr()
    assert f"{source}:3: invalid JSON" in captured.err
    assert "1 malformed line(s) skipped" in captured.err
    assert "6 spans and 3 traces added, 0 duplicates skipped, 1 malformed lines" in captured.out

    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"".join(line + b"\n" for line in lines if line != b"{broken"))
    assert main(["ingest", str(clean), "--store", str(store)]) == 0
    assert "0 spans and 0 traces added, 9 duplicates skipped" in capsys.readouterr().out
    assert store_rows(store, "SELECT count(*) AS n FROM spans") == [{"n": 6}]


def test_ingest_says_which_impossible_values_it_repaired(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    start, end = "2026-01-01T10:00:01+00:00", "2026-01-01T10:00:00+00:00"
    source = tmp_path / "odd.jsonl"
    records = [
        span("t1", "backwards", started_at=start, ended_at=end),
        span("t1", "tokens", started_at=end, ended_at=start, input_tokens="many", model="m"),
    ]
    source.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(source), "--store", str(store)]) == 0
    captured = capsys.readouterr()
    assert "2 spans and 0 traces added" in captured.out
    assert "impossible values repaired, their rows kept: ended_at 1, input_tokens 1" in (
        captured.err
    )
    rows = store_rows(store, "SELECT span_id, model FROM spans ORDER BY span_id")
    assert rows == [{"span_id": "backwards", "model": None}, {"span_id": "tokens", "model": "m"}]


def test_ingest_of_a_clean_file_never_loads_pyarrow(tmp_path: Path) -> None:
    """pyarrow and the numpy it loads cost every start ~0.1 s; DuckDB reads JSONL itself."""
    source = tmp_path / "records.jsonl"
    records = _records(datetime.now(UTC).replace(tzinfo=None))
    source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    script = (
        "import sys\n"
        "from agentoscope.cli.main import main\n"
        f"code = main(['ingest', {str(source)!r}, '--store', {str(tmp_path / 's.duckdb')!r}])\n"
        "print(sorted(name for name in ('pyarrow', 'numpy', 'pandas') if name in sys.modules))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "6 spans and 3 traces added" in done.stdout
    assert done.stdout.strip().endswith("[]")


def test_export_writes_parquet_files(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / "export"
    assert main(["export", "--format", "parquet", str(target), "--store", str(store_path)]) == 0
    assert "(6 spans)" in capsys.readouterr().out
    spans = pq.read_table(target / "spans.parquet")
    traces = pq.read_table(target / "traces.parquet")
    assert spans.num_rows == 6 and traces.num_rows == 3
    assert "agent_name" in spans.column_names and "workflow_name" in traces.column_names


def test_prune_deletes_what_started_before_the_date(
    store_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["prune", "--before", "30d", "--dry-run", "--store", str(store_path)]) == 0
    assert "would delete 1 traces and 2 spans" in capsys.readouterr().out
    assert store_rows(store_path, "SELECT count(*) AS n FROM traces") == [{"n": 3}]
    assert main(["prune", "--before", "30d", "--yes", "--store", str(store_path)]) == 0
    assert "deleted 1 traces and 2 spans" in capsys.readouterr().out
    workflows = store_rows(store_path, "SELECT workflow_name FROM traces ORDER BY 1")
    assert [r["workflow_name"] for r in workflows] == ["Billing", "Support"]
    assert main(["prune", "--before", "2020-13-45", "--store", str(store_path)]) == 1
    assert "cannot read the time" in capsys.readouterr().err
    typo = store_path.with_name("typo.duckdb")
    assert main(["prune", "--before", "30d", "--yes", "--store", str(typo)]) == 1
    assert "no store at" in capsys.readouterr().err and not typo.exists()


def test_commands_on_a_store_owned_by_another_process_explain_the_way_out(
    store_path: Path, capsys: pytest.CaptureFixture
) -> None:
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom agentoscope.tracing.store import SpanStore\n"
            f"store = SpanStore({str(store_path)!r})\nprint('ready', flush=True)\nsys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
        for argv in (
            ["sql", "SELECT 1"],
            ["traces"],
            ["prune", "--before", "30d", "--yes"],
            ["ingest", str(store_path)],
        ):
            assert main([*argv, "--store", str(store_path)]) == 1, argv
            err = capsys.readouterr().err
            assert f"PID {owner.pid}" in err and "agentoscope serve" in err, argv
    finally:
        owner.communicate("", timeout=30)


def test_readers_ask_agentoscope_serve_when_a_server_is_given(
    store_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentoscope.tracing.serve.service import StoreService

    service = StoreService(store_path, http_port=0, grpc_port=None).start()
    try:
        # The service owns the file, so only the server can answer.
        query = "SELECT count(*) AS n FROM spans"
        assert main(["sql", query, "--server", service.http_url, "--format", "csv"]) == 0
        assert capsys.readouterr().out.splitlines() == ["n", "6"]
        assert main(["sql", "DELETE FROM spans", "--server", service.http_url]) == 1
        assert "read-only" in capsys.readouterr().err

        monkeypatch.setenv("AGENTOSCOPE_SERVER", service.http_url)
        assert main(["traces", "--errors"]) == 0
        assert "Billing" in capsys.readouterr().out
        assert main(["show", "trace_2"]) == 0
        assert "RateLimitError: slow down" in capsys.readouterr().out
    finally:
        service.stop()
    monkeypatch.setenv("AGENTOSCOPE_SERVER", service.http_url)
    assert main(["sql", "SELECT 1"]) == 1  # the server is gone: one clear line
    assert "cannot reach agentoscope serve" in capsys.readouterr().err
