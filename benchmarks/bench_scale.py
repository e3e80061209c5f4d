"""Scale benchmark: the ClickHouse store (in-process through chdb) beside the DuckDB store on the
same generated data, in one run. One command, one table.

    .venv/bin/python benchmarks/bench_scale.py --spans 1000000

1. Ingest through each store's own merge (`store.write(prepared)`: records -> Arrow -> stored-copy
   check -> insert -> trace rows, 10k records per batch) of the same synthetic records
   (--ingest-spans, default min(--spans, 200k)) into empty stores, in spans/s, and the ratio
   ClickHouse / DuckDB.
2. A store of --spans spans over 30 days, generated inside DuckDB (bench_store.generate_store),
   then bulk-copied into ClickHouse as Arrow batches (the rows are the same).
3. Every dashboard query (bench_dashboard.cases) and the named queries of bench_store on both,
   warm (median of --repeats after one warm-up), with the ratio ClickHouse / DuckDB.
4. Ingest as in 1, the same records, into the stores of 2 (after 3): what a live store of
   --spans spans takes in, its newest traces arriving (the writer's lookups of stored traces
   and spans, and DuckDB's rollups, read a full store).

chdb is ClickHouse's engine in this process, with the machine's cores; a ClickHouse server on
its own host(s) adds a network round trip per query and takes away the agent host's load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dashboard
import bench_store
import pyarrow as pa

from agentoscope.tracing.store import ClickHouseStore, SpanStore
from agentoscope.tracing.store.clickhouse_schema import (
    SPAN_TABLE,
    TRACE_TABLE,
    VERSION_COLUMN,
)

BATCH = 10_000


def ingest_rate(store: Any, records: list[dict[str, Any]]) -> float:
    """Spans per second through the store's own merge, 10k records per write."""
    spans = sum(1 for record in records if record["kind"] == "span")
    began = time.perf_counter()
    for first in range(0, len(records), BATCH):
        store.write(store.prepare(records[first : first + BATCH], validate=False))
    return spans / (time.perf_counter() - began)


def copy_to_clickhouse(duck: SpanStore, house: ClickHouseStore) -> tuple[int, float]:
    """The DuckDB store's rows into ClickHouse as Arrow batches (a bulk load: no merge)."""
    connection = house._conn()
    cursor = duck._open_database().cursor()  # its own: the bulk loader's may hold a result
    began = time.perf_counter()
    rows = 0
    for table, target in (("traces", TRACE_TABLE), ("spans", SPAN_TABLE)):
        reader = cursor.sql(f"SELECT * FROM {table}").to_arrow_reader(500_000)
        for batch in reader:
            data = pa.Table.from_batches([batch])
            data = data.append_column(VERSION_COLUMN, pa.array([1] * data.num_rows, pa.uint64()))
            connection.insert_arrow(target, data)
            rows += data.num_rows if table == "spans" else 0
    return rows, time.perf_counter() - began


def median_ms(action: Any, repeats: int) -> float:
    action()
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--ingest-spans", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="agentoscope-scale-"))
    directory.mkdir(parents=True, exist_ok=True)
    chdb_folder = directory / "chdb"
    load = os.getloadavg()
    print(f"bench_scale: {args.spans:,} spans; load average {load[0]:.2f} {load[1]:.2f}")

    # 1. ingest through each store's merge
    ingest_spans = args.ingest_spans or min(args.spans, 200_000)
    records = bench_store.synthetic_records(ingest_spans)
    rates = {}
    with SpanStore(directory / "ingest.duckdb") as duck:
        rates["DuckDB"] = ingest_rate(duck, records)
    with ClickHouseStore(f"chdb://{chdb_folder}?database=ingest") as house:
        rates["ClickHouse (chdb)"] = ingest_rate(house, records)
    del records

    # 2. the same store on both engines
    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    duck_path = directory / "scale.duckdb"
    if duck_path.exists():
        duck_path.unlink()
    with SpanStore(duck_path) as duck:
        began = time.perf_counter()
        count = bench_store.generate_store(duck, args.spans, end)
        duck.rebuild_rollups()
        duck_build = time.perf_counter() - began
        house = ClickHouseStore(f"chdb://{chdb_folder}?database=scale")
        copied, house_build = copy_to_clickhouse(duck, house)
    assert copied == count, (copied, count)
    house.query("SELECT count(*) FROM spans")  # parts settle before timing
    duck = SpanStore(duck_path, read_only=True)

    # 3. the dashboard's queries and the named queries on both
    rows: list[tuple[str, float, float]] = []
    for page, label, action in bench_dashboard.cases(duck, end):
        rows.append(
            (
                f"{page}: {label}",
                median_ms(lambda a=action: a(duck), args.repeats),
                median_ms(lambda a=action: a(house), args.repeats),
            )
        )
    for label, _target, action in bench_store.query_cases(end):
        if action is None:
            continue
        rows.append(
            (
                f"named: {label.strip()}",
                median_ms(lambda a=action: a(duck), args.repeats),
                median_ms(lambda a=action: a(house), args.repeats),
            )
        )
    duck.close()

    # 4. ingest into the full stores
    records = bench_store.synthetic_records(ingest_spans)
    full: dict[str, float] = {}
    with SpanStore(duck_path) as duck:
        full["DuckDB"] = ingest_rate(duck, records)
    full["ClickHouse (chdb)"] = ingest_rate(house, records)
    house.close()
    del records

    print()
    print("| ingest (store.write, 10k records a batch) | spans/s | ratio |")
    print("|---|---:|---:|")
    for into, found in (("an empty store", rates), (f"the {count:,}-span store", full)):
        for name, rate in found.items():
            print(
                f"| {name}, {ingest_spans:,} spans into {into} | {rate:,.0f} | "
                f"{rate / found['DuckDB']:.2f}x |"
            )
    print()
    print(
        f"store of {count:,} spans: DuckDB generated in {duck_build:.1f} s; copied into "
        f"ClickHouse as Arrow in {house_build:.1f} s ({count / house_build:,.0f} spans/s)"
    )
    print()
    print(f"| query ({count:,} spans, warm median of {args.repeats}) | DuckDB ms | "
          "ClickHouse ms | ratio |")  # fmt: skip
    print("|---|---:|---:|---:|")
    for label, duck_ms, house_ms in rows:
        print(f"| {label} | {duck_ms:.1f} | {house_ms:.1f} | {house_ms / duck_ms:.2f}x |")
    ratios = [house_ms / duck_ms for _, duck_ms, house_ms in rows]
    print(f"\ngeometric mean ratio: {statistics.geometric_mean(ratios):.2f}x")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f}")
    if args.dir is None:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
