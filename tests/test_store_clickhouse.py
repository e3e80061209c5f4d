"""The ClickHouse store on the real engine, in this process through chdb: the same records give
the same answers as the DuckDB store, for every named query; a span sent twice is one span; prune
deletes what DuckDB's does; the read-only guard refuses writes, other tables and files."""

from __future__ import annotations

import atexit
import math
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from agentoscope.tracing.clock import iso_from_ns
from agentoscope.tracing.store import (
    ClickHouseStore,
    ReadOnlyQueryError,
    SpanStore,
    StoreURLError,
    open_store,
    parse_store_url,
)
from agentoscope.tracing.store.clickhouse_schema import SCHEMA_VERSION
from agentoscope.tracing.store.queries import QUERIES, latest_traces, run, trace_detail

pytest.importorskip("chdb")

# chdb keeps one data folder per process: every test gets its own database in it.
CHDB_FOLDER = Path("/tmp") / f"agentoscope-chdb-tests-{uuid.uuid4().hex[:8]}"
# chdb keeps the folder open until the process ends: it is removed then.
atexit.register(shutil.rmtree, CHDB_FOLDER, True)
BASE_NS = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC
AGENTS = ("Triage", "Billing", "Research")
MODELS = ("gpt-4o", "gpt-4o-mini")


def _chdb_url(name: str) -> str:
    return f"chdb://{CHDB_FOLDER}?database=t_{name}_{uuid.uuid4().hex[:6]}"


def _span(trace: int, index: int, **fields: Any) -> dict[str, Any]:
    start = BASE_NS + trace * 3_600_000_000_000 // 7 + index * 40_000_000
    length = (index * 37 + trace * 11) % 900 + 5
    record: dict[str, Any] = {
        "v": 1,
        "kind": "span",
        "trace_id": f"trace_{trace:032x}",
        "span_id": f"span_{trace:012x}{index:012x}",
        "parent_id": None if index == 0 else f"span_{trace:012x}{0:012x}",
        "span_type": "agent",
        "name": AGENTS[trace % 3],
        "agent_name": None,
        "tool_name": None,
        "model": None,
        "started_at": iso_from_ns(start),
        "ended_at": iso_from_ns(start + length * 1_000_000),
        "duration_ms": float(length),
        "status": "ok",
        "error_type": None,
        "error_message": None,
        "input_tokens": None,
        "output_tokens": None,
        "total_tokens": None,
        "cached_input_tokens": None,
        "reasoning_tokens": None,
        "triggered": None,
        "data": {"type": "agent"},
        "error": None,
        "metadata": None,
    }
    record.update(fields)
    return record


def generated_records(traces: int = 60) -> list[dict[str, Any]]:
    """Traces of an agent span with model calls, tool calls (some failing) and a guardrail,
    spread over 3 days; some traces have no record (still running), some a session."""
    records: list[dict[str, Any]] = []
    for trace in range(traces):
        spans = [_span(trace, 0)]
        for index in range(1, 6):
            kind = ("generation", "function", "generation", "function", "guardrail")[index - 1]
            fields: dict[str, Any] = {"span_type": kind, "name": f"{kind}-{index}"}
            if kind == "generation":
                tokens = (100 + trace * 7 + index, 20 + index * 3)
                fields.update(
                    model=MODELS[(trace + index) % 2],
                    input_tokens=tokens[0],
                    output_tokens=tokens[1],
                    total_tokens=sum(tokens),
                    cached_input_tokens=trace % 5,
                    data={"type": "generation", "input": [{"role": "user", "content": "hi"}]},
                )
            elif kind == "function":
                fields.update(tool_name=("lookup", "refund")[index % 2], data={"type": "function"})
                if (trace + index) % 6 == 0:
                    fields.update(
                        status="error", error_type="Timeout", error_message=f"timed out {trace}"
                    )
            else:
                fields.update(triggered=trace % 4 == 0, data={"type": "guardrail"})
            spans.append(_span(trace, index, **fields))
        records.extend(spans[1:] + spans[:1])  # children end first
        if trace % 10 != 9:
            first = spans[0]
            records.append(
                {
                    "v": 1,
                    "kind": "trace",
                    "trace_id": first["trace_id"],
                    "workflow_name": ("Support", "Research")[trace % 2],
                    "group_id": f"conv_{trace % 4}" if trace % 3 == 0 else None,
                    "metadata": {"n": trace},
                    "started_at": first["started_at"],
                    "ended_at": spans[-1]["ended_at"],
                    "duration_ms": 1000.0,
                }
            )
    return records


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SpanStore, ClickHouseStore]]:
    records = generated_records()
    duck = SpanStore(tmp_path_factory.mktemp("duck") / "traces.duckdb")
    house = ClickHouseStore(_chdb_url("same"))
    half = len(records) // 2
    # Two batches, the second repeating a little of the first: both engines count the repeats.
    for store in (duck, house):
        store.ingest(records[:half])
        store.ingest(records[half - 20 :])
    yield duck, house
    duck.close()
    house.close()


WINDOW = {"since": "2025-12-31 00:00:00", "until": "2026-01-05 00:00:00"}


def _params(name: str) -> dict[str, Any]:
    defaults = QUERIES[name].defaults
    params: dict[str, Any] = {key: value for key, value in WINDOW.items() if key in defaults}
    if "trace_id" in defaults:
        params["trace_id"] = f"trace_{3:032x}"
    if "prefix" in defaults:
        params["prefix"] = f"trace_{5:032x}"
    return params


def _cell(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).tz_localize(None) if pd.Timestamp(value).tzinfo else value
    if isinstance(value, list | tuple) or (hasattr(value, "tolist") and hasattr(value, "__len__")):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        return tuple(sorted((_cell(item) for item in items), key=repr))
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).tz_localize(None) if pd.Timestamp(value).tzinfo else value
    if isinstance(value, float | int) and not isinstance(value, bool):
        return round(float(value), 6)
    if hasattr(value, "item"):
        return _cell(value.item())
    return value


def _rows(frame: pd.DataFrame, sort: bool) -> list[tuple[Any, ...]]:
    rows = [tuple(_cell(value) for value in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=repr) if sort else rows


# Queries whose row order is not fully fixed by their ORDER BY (ties), compared as sets.
_UNORDERED = {"latency_by_span_type", "latency_by_tool", "latency_by_model", "errors_by_type"}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_named_query_answers_as_duckdb_does(
    stores: tuple[SpanStore, ClickHouseStore], name: str
) -> None:
    duck, house = stores
    params = _params(name)
    expected, found = run(duck, name, **params), run(house, name, **params)
    assert list(found.columns) == list(expected.columns)
    sort = name in _UNORDERED or name.endswith("_estimated")
    if name == "errors_by_type":  # any_value() picks any message of the group
        expected, found = (
            expected.drop(columns="example_message"),
            found.drop(columns="example_message"),
        )
    assert _rows(found, sort) == _rows(expected, sort)
    assert len(expected), f"{name}: the generated data should give rows"


def test_ingest_counts_and_one_span_per_identity(stores: tuple[SpanStore, ClickHouseStore]) -> None:
    duck, house = stores
    counts = "SELECT (SELECT count(*) FROM spans) AS spans, (SELECT count(*) FROM traces) AS traces"
    assert _rows(house.query(counts), False) == _rows(duck.query(counts), False)
    again = house.ingest(generated_records()[:30])
    assert (again.spans, again.traces, again.duplicates) == (0, 0, 30)


def test_a_span_written_twice_by_racing_writers_is_one_span() -> None:
    # Written twice behind the merge's back (two stateless writers racing): still one span.
    house = ClickHouseStore(_chdb_url("race"))
    house.ingest([_span(900, 0)])
    house._conn().insert_arrow(  # the same rows as a second writer would insert them
        "span_rows",
        house._conn().query_arrow(
            "SELECT * FROM span_rows WHERE trace_id = 'trace_" + f"{900:032x}'"
        ),
    )
    found = house.query(
        "SELECT count(*) AS n FROM spans WHERE trace_id = $t", {"t": f"trace_{900:032x}"}
    )
    assert int(found.iloc[0]["n"]) == 1


class _RacingWriter(ClickHouseStore):
    """A writer that, having read what is stored, waits until the other writer has read too:
    the two merges then insert as two stateless serves racing on one request would."""

    barrier: threading.Barrier

    def _stored_keys(self, *args: Any) -> set[str]:
        found = super()._stored_keys(*args)
        self.barrier.wait(timeout=30)
        return found


def _moved(record: dict[str, Any], hours: float) -> dict[str, Any]:
    """Another version of a span record: the same span, another start (and end)."""
    shift = timedelta(hours=hours)
    start = datetime.fromisoformat(record["started_at"]) + shift
    end = datetime.fromisoformat(record["ended_at"]) + shift
    return {**record, "started_at": start.isoformat(), "ended_at": end.isoformat()}


def _copies(store: ClickHouseStore, trace_id: str) -> list[Any]:
    rows = store.query(
        "SELECT started_at FROM span_rows WHERE trace_id = $t ORDER BY started_at",
        {"t": trace_id},
    )
    return rows["started_at"].tolist()


def test_two_writers_racing_with_different_starts_leave_one_span() -> None:
    # Each writer has its own version of the span's record, starting a day apart (another
    # partition and hour): both merges find nothing stored, both insert.
    url = _chdb_url("race_starts")
    record = _span(901, 0)
    versions = (record, _moved(record, 26))
    barrier = threading.Barrier(2)
    writers = [_RacingWriter(url), _RacingWriter(url)]
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            results[index] = writers[index].ingest([versions[index]])
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
            barrier.abort()

    for writer in writers:
        writer.barrier = barrier
    threads = [threading.Thread(target=write, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    trace_id = record["trace_id"]
    kept = _copies(writers[0], trace_id)
    starts = {
        pd.Timestamp(datetime.fromisoformat(v["started_at"]).replace(tzinfo=None)) for v in versions
    }
    assert len(kept) == 1 and kept[0] in starts
    spans = writers[1].query("SELECT span_id FROM spans WHERE trace_id = $t", {"t": trace_id})
    assert spans["span_id"].tolist() == [record["span_id"]]
    # (Each writer's count of spans added is its own view: when the writer whose copy goes
    # settled before the other inserted, both say 1.)
    assert sum(result.spans for result in results.values()) >= 1
    for writer in writers:
        writer.close()


def test_a_later_version_with_another_start_is_a_duplicate_as_in_duckdb(tmp_path: Path) -> None:
    record = _span(902, 0)
    with SpanStore(tmp_path / "d.duckdb") as duck, ClickHouseStore(_chdb_url("later")) as house:
        for store in (duck, house):
            store.ingest([record])
            again = store.ingest([_moved(record, 30)])
            assert (again.spans, again.duplicates) == (0, 1)
        sql = "SELECT span_id, started_at FROM spans"
        assert _rows(house.query(sql), False) == _rows(duck.query(sql), False)


def test_migration_2_settles_copies_already_stored() -> None:
    url = _chdb_url("settle")
    with ClickHouseStore(url) as house:
        record = _span(903, 0)
        house.ingest([record])
        connection = house._conn()
        copy = connection.query_arrow("SELECT * FROM span_rows")
        moved = copy.set_column(
            copy.schema.get_field_index("started_at"),
            "started_at",
            pa.array(
                [copy.column("started_at")[0].as_py() + timedelta(hours=5)], pa.timestamp("us")
            ),
        )
        version = moved.schema.get_field_index("_version")
        later = pa.array([moved.column("_version")[0].as_py() + 1], pa.uint64())
        # A later copy at another hour, as a store from before migration 2 may hold.
        connection.insert_arrow("span_rows", moved.set_column(version, "_version", later))
        assert len(_copies(house, record["trace_id"])) == 2
        connection.command("DELETE FROM schema_version WHERE version >= 2")
    with ClickHouseStore(url) as house:  # opened read-write: the migration runs
        assert house.schema_version == SCHEMA_VERSION
        first = datetime.fromisoformat(record["started_at"]).replace(tzinfo=None)
        assert _copies(house, record["trace_id"]) == [pd.Timestamp(first)]


def test_trace_lists_and_detail_match(stores: tuple[SpanStore, ClickHouseStore]) -> None:
    duck, house = stores
    for errors_only in (False, True):
        expected = latest_traces(duck, limit=7, errors_only=errors_only)
        found = latest_traces(house, limit=7, errors_only=errors_only)
        assert found["trace_id"].tolist() == expected["trace_id"].tolist()
    trace_id = f"trace_{9:032x}"  # no trace record: the row is inferred from its spans
    expected_trace, expected_spans = trace_detail(duck, trace_id)
    found_trace, found_spans = trace_detail(house, trace_id)
    assert found_trace is not None and expected_trace is not None
    assert bool(found_trace["inferred"]) and bool(expected_trace["inferred"])
    assert found_spans["span_id"].tolist() == expected_spans["span_id"].tolist()
    assert found_spans["agent_name"].tolist() == expected_spans["agent_name"].tolist()


def test_agent_names_are_filled_from_a_parent_that_arrives_later() -> None:
    with ClickHouseStore(_chdb_url("fill")) as store:
        child = _span(1, 1, span_type="function", name="lookup", tool_name="lookup")
        store.ingest([child])
        store.ingest([_span(1, 0)])  # the agent span ends (and arrives) after its child
        rows = store.query("SELECT span_id, agent_name FROM spans ORDER BY span_id")
        assert rows["agent_name"].tolist() == [AGENTS[1], AGENTS[1]]


def test_prune_deletes_what_duckdb_deletes(tmp_path: Path) -> None:
    records = generated_records(20)
    cutoff = datetime(2026, 1, 1, 1, 0)
    with SpanStore(tmp_path / "p.duckdb") as duck, ClickHouseStore(_chdb_url("prune")) as house:
        duck.ingest(records)
        house.ingest(records)
        assert house.prune(cutoff) == duck.prune(cutoff)
        left = "SELECT count(*) AS n FROM spans"
        assert house.query(left).iloc[0]["n"] == duck.query(left).iloc[0]["n"] > 0


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO span_rows (trace_id, span_id, span_type) VALUES ('a', 'b', 'c')",
        "DROP TABLE spans",
        "SELECT 1; DROP TABLE spans",
        "SELECT * FROM file('/etc/passwd')",
        "SELECT * FROM url('http://127.0.0.1:1/')",
        "SELECT * FROM system.users",
        "SELECT * FROM default.anything",
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT 1 INTO OUTFILE '/tmp/x.csv'",
        "SELECT 1 FORMAT JSON",
        "ALTER TABLE span_rows DELETE WHERE 1",
    ],
)
def test_the_guard_refuses_anything_but_a_read(
    stores: tuple[SpanStore, ClickHouseStore], sql: str
) -> None:
    _, house = stores
    with pytest.raises(ReadOnlyQueryError):
        house.query(sql)
    assert int(house.query("SELECT count(*) AS n FROM spans").iloc[0]["n"]) > 0


def test_reads_run_read_only_within_limits(stores: tuple[SpanStore, ClickHouseStore]) -> None:
    from agentoscope.tracing.store import QueryLimitError, QueryLimits

    _, house = stores
    frame = house.query("SELECT getSetting('readonly') AS readonly")
    assert int(frame.iloc[0]["readonly"]) == 1
    with pytest.raises(QueryLimitError) as error:
        house.query(
            "SELECT a.data, b.data FROM spans AS a, spans AS b",
            limits=QueryLimits(timeout=10, max_result_bytes=100_000),
        )
    assert error.value.limit == "max_result_bytes"


def test_store_urls_choose_the_engine(tmp_path: Path) -> None:
    assert parse_store_url(tmp_path / "a.duckdb").engine == "duckdb"
    assert parse_store_url(f"duckdb://{tmp_path}/a.duckdb").path == tmp_path / "a.duckdb"
    server = parse_store_url("clickhouse://ops:s%40cret@db.internal:9123/traces")
    assert (server.engine, server.host, server.port, server.user, server.password) == (
        "clickhouse",
        "db.internal",
        9123,
        "ops",
        "s@cret",
    )
    assert "s@cret" not in server.describe()
    for bad in ("postgres://x/y", "clickhouse://h/db?colour=red", "clickhouse:///db"):
        with pytest.raises(StoreURLError):
            parse_store_url(bad)
    with open_store(tmp_path / "b.duckdb") as store:
        assert isinstance(store, SpanStore)
    with open_store(_chdb_url("open")) as store:
        assert isinstance(store, ClickHouseStore)


def test_clickhouse_schema_has_the_duckdb_columns(
    stores: tuple[SpanStore, ClickHouseStore],
) -> None:
    duck, house = stores
    for view in (
        "spans",
        "traces",
        "agent_runs",
        "generations",
        "tool_calls",
        "handoffs",
        "guardrails",
        "token_usage",
        "agent_days",
    ):
        sql = f"SELECT * FROM {view} LIMIT 0"
        assert list(house.query(sql).columns) == list(duck.query(sql).columns), view


def test_times_at_the_edges_of_the_window(stores: tuple[SpanStore, ClickHouseStore]) -> None:
    duck, house = stores
    start = datetime(2026, 1, 1) + timedelta(hours=2)
    params = {"since": start.isoformat(sep=" "), "until": "infinity"}
    expected = run(duck, "tokens_per_model_per_hour", **params)
    found = run(house, "tokens_per_model_per_hour", **params)
    assert _rows(found, False) == _rows(expected, False)
    assert not math.isnan(float(found["input_tokens"].sum()))


def test_the_processor_writes_spans_of_a_traced_run() -> None:
    from agentoscope.tracing import (
        ClickHouseProcessor,
        agent_span,
        function_span,
        set_trace_processors,
        trace,
    )

    url = _chdb_url("processor")
    processor = ClickHouseProcessor(url, schedule_delay=0.05)
    set_trace_processors([processor])
    try:
        with trace("Checkout") as current, agent_span(name="Cashier"):
            with function_span(name="charge_card", input='{"amount": 12}'):
                pass
        processor.force_flush()
        assert processor.store is not None
        rows = processor.store.query(
            "SELECT span_type, name, agent_name FROM spans WHERE trace_id = $t ORDER BY span_type",
            {"t": current.trace_id},
        )
        assert rows.values.tolist() == [
            ["agent", "Cashier", "Cashier"],
            ["function", "charge_card", "Cashier"],
        ]
    finally:
        set_trace_processors([])
        processor.shutdown()


def test_the_cli_reads_and_prunes_a_clickhouse_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import orjson
    import pyarrow.parquet as pq

    from agentoscope.cli.main import main

    url = _chdb_url("cli")
    lines = tmp_path / "records.jsonl"
    lines.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in generated_records(12)))
    assert main(["ingest", str(lines), "--store", url]) == 0
    assert "72 spans" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "out"), "--store", url]) == 0
    capsys.readouterr()
    assert pq.read_table(tmp_path / "out" / "spans.parquet").num_rows == 72
    assert main(["sql", "SELECT count(*) AS n FROM spans", "--store", url, "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "72"]
    assert main(["traces", "--store", url, "--limit", "3", "--format", "json"]) == 0
    assert f'"trace_{11:032x}"' in capsys.readouterr().out  # the newest of 12
    assert main(["show", f"trace_{10:032x}", "--store", url, "--color", "never"]) == 0
    assert "function-2" in capsys.readouterr().out
    assert main(["sql", "DROP TABLE spans", "--store", url]) == 1
    assert "refused" in capsys.readouterr().err
    assert main(["prune", "--before", "2026-01-01 01:00", "--store", url, "--yes"]) == 0
    assert "deleted 7 traces and 42 spans" in capsys.readouterr().out


def test_the_cli_reads_a_clickhouse_store_named_by_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentoscope.cli.main import main

    url = _chdb_url("cli_env")
    with ClickHouseStore(url) as store:
        store.ingest(generated_records(12))
    # AGENTOSCOPE_STORE, not --store: what a fleet's readers set once.
    monkeypatch.delenv("AGENTOSCOPE_SERVER", raising=False)
    monkeypatch.setenv("AGENTOSCOPE_STORE", url)
    assert main(["sql", "SELECT count(*) AS n FROM spans", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "72"]
    assert main(["traces", "--limit", "3", "--format", "json"]) == 0
    assert f'"trace_{11:032x}"' in capsys.readouterr().out  # the newest of 12
    assert main(["show", f"trace_{10:032x}", "--color", "never"]) == 0
    assert "function-2" in capsys.readouterr().out
    assert main(["sql", "DROP TABLE spans"]) == 1
    assert "refused" in capsys.readouterr().err


def test_two_stateless_serves_write_one_clickhouse_store() -> None:
    """`agentoscope serve --store clickhouse://...` twice (a load balancer's pool): the same OTLP
    request through both is stored once; a client of either gets the named queries."""
    import httpx
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    from agentoscope.tracing.store.client import StoreClient
    from support.serve import running_service

    now = BASE_NS + 86_400 * 10**9
    spans = [
        Span(
            trace_id=b"\x07" * 16,
            span_id=bytes([0] * 7 + [index]),
            name=f"step {index}",
            start_time_unix_nano=now + index * 10**6,
            end_time_unix_nano=now + (index + 5) * 10**6,
        )
        for index in (1, 2, 3)
    ]
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()
    url = _chdb_url("serve")
    with (
        running_service(url, grpc_port=None) as first,
        running_service(url, grpc_port=None) as second,
    ):
        for service in (first, second):
            response = httpx.post(
                f"{service.http_url}/v1/traces",
                content=body,
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert response.status_code == 200
        client = StoreClient(second.http_url)
        try:
            found = latest_traces(client, limit=5)
        finally:
            client.close()
    assert found["span_count"].tolist() == [3]


def test_reads_keep_their_columns_and_types(stores: tuple[SpanStore, ClickHouseStore]) -> None:
    duck, house = stores
    empty = "SELECT trace_id, started_at, duration_ms FROM spans WHERE span_id = 'none'"
    assert list(house.query(empty).columns) == list(duck.query(empty).columns)
    # A ClickHouse DateTime (not DateTime64), as toStartOfHour gives, is a time, not seconds.
    hour = house.query("SELECT toStartOfHour(min(started_at)) AS h FROM spans").iloc[0]["h"]
    assert hour == pd.Timestamp("2026-01-01 00:00:00")


def test_a_failed_read_leaves_the_next_read_whole(
    stores: tuple[SpanStore, ClickHouseStore],
) -> None:
    from agentoscope.tracing.store import QueryLimitError, QueryLimits

    _, house = stores
    connection = house._conn()
    with pytest.raises(QueryLimitError):
        house.query(
            "SELECT a.data FROM spans AS a, spans AS b", limits=QueryLimits(max_result_bytes=1000)
        )
    # chdb 4.4 hands a failed Arrow read's partial output to the next statement.
    with pytest.raises(Exception, match="Limit for result exceeded"):
        connection.query_arrow(
            "SELECT a.data FROM spans AS a, spans AS b",
            {"max_result_bytes": 1000, "result_overflow_mode": "throw"},
        )
    assert connection.query_arrow("SELECT 7 AS n").column("n").to_pylist() == [7]


_IN_TOKYO = """
import json, sys
from test_store_clickhouse import generated_records
from agentoscope.tracing.store import ClickHouseStore
from agentoscope.tracing.store.queries import run
with ClickHouseStore(sys.argv[1]) as store:
    store.ingest(generated_records(12))
    window = store.query(
        "SELECT count(*) AS n FROM spans WHERE started_at >= CAST($s AS TIMESTAMP)",
        {"s": "2026-01-01 01:00:00"},
    )
    hours = run(store, "tokens_per_model_per_hour", since="2026-01-01", until="infinity")
    print(json.dumps({"n": int(window.iloc[0]["n"]), "hours": hours["hour"].astype(str).tolist()}))
"""


@pytest.mark.slow  # starts another process (the engine's time zone is its process's)
def test_a_server_in_another_time_zone_answers_in_utc(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    environment = {**os.environ, "TZ": "Asia/Tokyo", "PYTHONPATH": str(Path(__file__).parent)}
    done = subprocess.run(
        [sys.executable, "-c", _IN_TOKYO, f"chdb://{tmp_path / 'tokyo'}?database=t"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    with SpanStore(tmp_path / "utc.duckdb") as duck:
        duck.ingest(generated_records(12))
        window = duck.query(
            "SELECT count(*) AS n FROM spans WHERE started_at >= CAST($s AS TIMESTAMP)",
            {"s": "2026-01-01 01:00:00"},
        )
        hours = run(duck, "tokens_per_model_per_hour", since="2026-01-01", until="infinity")
    assert found == {"n": int(window.iloc[0]["n"]), "hours": hours["hour"].astype(str).tolist()}


def test_a_check_that_failed_for_the_server_is_not_kept() -> None:
    # The guard keeps its verdict per text; one that failed because ClickHouse could not be
    # asked (here: the client's engine handle is gone) must not refuse that text later.
    url = _chdb_url("verdict")
    text = "SELECT count(*) AS n FROM spans WHERE span_type = 'unusual'"
    with ClickHouseStore(url) as broken:
        broken._conn()._client.close()  # type: ignore[attr-defined]
        with pytest.raises(ReadOnlyQueryError, match="cannot parse"):
            broken.query(text)
    with ClickHouseStore(url) as store:
        assert int(store.query(text).iloc[0]["n"]) == 0


def test_clickhouse_says_what_is_wrong_with_a_read(
    stores: tuple[SpanStore, ClickHouseStore],
) -> None:
    from agentoscope.tracing.store.clickhouse_connection import ClickHouseError

    _, house = stores
    with pytest.raises(ClickHouseError, match="no_such_column"):
        house.query("SELECT no_such_column FROM spans")
    with pytest.raises(ReadOnlyQueryError, match="cannot parse the query"):
        house.query("SELEC 1")


def _as_profile(store: ClickHouseStore, readonly: int) -> None:
    """Give the store's session the `readonly` a ClickHouse user's profile would (chdb has no
    users): the engine then enforces it as a server does for that user."""
    store._conn()._client.set_client_setting("readonly", str(readonly))  # type: ignore[attr-defined]


def test_a_reader_whose_user_is_read_only_already_reads(
    stores: tuple[SpanStore, ClickHouseStore],
) -> None:
    _, house = stores
    url = f"chdb://{CHDB_FOLDER}?database={house.url.database}"
    with ClickHouseStore(url, read_only=True) as reader:
        _as_profile(reader, 2)  # reads, and settings may be set, but not `readonly` itself
        found = reader.query("SELECT count(*) AS n FROM spans")
        assert int(found.iloc[0, 0]) == int(house.query("SELECT count(*) AS n FROM spans").n[0])
        assert len(latest_traces(reader, limit=3)) == 3
        for name in QUERIES:  # every named query reads under that profile
            run(reader, name, **_params(name))
        with pytest.raises(ReadOnlyQueryError):
            reader.query("DROP TABLE spans")
    with ClickHouseStore(url, read_only=True) as reader:
        _as_profile(reader, 1)  # refuses every setting a query sends: said up front
        with pytest.raises(PermissionError, match="readonly=2"):
            reader.query("SELECT count(*) AS n FROM spans")
