"""Growth benchmark: every dashboard query and named query of the DuckDB store at two sizes
(default 10M and 100M spans), and how much each grew. One command, one table.

    .venv/bin/python benchmarks/bench_growth.py --sizes 10000000,100000000 --dir /big/disk

For each size: a store of that many spans over 30 days up to now, generated inside DuckDB
(bench_store.generate_store), then its rollups built (`SpanStore.rebuild_rollups`); its size on
disk; then every dashboard query (bench_dashboard.cases) and every named query of bench_store
on one warm read-only store (median of --repeats after one warm-up). Each store is deleted once
measured (100M spans are ~8 GB) unless --keep. The goal (issue 22): every query at the larger
size within 2x of its time at the smaller one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dashboard
import bench_store
from bench_scale import median_ms

from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.queries import trace_detail
from agentoscope.tracing.store.rollup import ROLLUPS

GOAL = 2.0
ROLLUP_TABLES = [rollup.name for rollup in ROLLUPS]


def measure_size(
    directory: Path, size: int, end: datetime, repeats: int, keep: bool, reuse: bool
) -> tuple[dict[str, float], dict[str, float]]:
    """({query label: warm median ms}, {what: figure}) for a store of `size` spans."""
    path = directory / f"growth-{size}.duckdb"
    facts: dict[str, float] = {}
    if reuse and path.exists():
        with SpanStore(path) as store:  # migrated, its rollups brought up to date
            facts["spans"] = store.query("SELECT count(*) FROM spans").iloc[0, 0]
            end = store.query("SELECT max(started_at) FROM spans").iloc[0, 0].to_pydatetime()
    else:
        for leftover in (path, Path(f"{path}.wal")):
            leftover.unlink(missing_ok=True)
        with SpanStore(path) as store:
            began = time.perf_counter()
            facts["spans"] = bench_store.generate_store(store, size, end)
            facts["generate s"] = time.perf_counter() - began
    with SpanStore(path) as store:
        began = time.perf_counter()
        store.rebuild_rollups()  # generate_store wrote its rows with its own SQL
        facts["rollups s"] = time.perf_counter() - began
        for table in ROLLUP_TABLES:
            facts[f"{table} rows"] = store.query(f"SELECT count(*) FROM {table}").iloc[0, 0]
    facts["GB on disk"] = path.stat().st_size / 1e9
    timings: dict[str, float] = {}
    store = SpanStore(path, read_only=True)
    try:
        for page, label, action in bench_dashboard.cases(store, end):
            timings[f"{page}: {label}"] = median_ms(lambda a=action: a(store), repeats)
        picks = bench_store.latest_traces(store, limit=200)["trace_id"].tolist()[::40]
        for label, _target, named_action in bench_store.query_cases(end):
            if named_action is None:
                timings[f"named: {label.strip()}"] = statistics.median(
                    median_ms(lambda t=trace_id: trace_detail(store, t), repeats)
                    for trace_id in picks
                )
            else:
                timings[f"named: {label.strip()}"] = median_ms(
                    lambda a=named_action: a(store), repeats
                )
    finally:
        store.close()
        if not keep:
            for leftover in (path, Path(f"{path}.wal")):
                leftover.unlink(missing_ok=True)
    return timings, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000000,100000000", help="two store sizes")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per query (median)")
    parser.add_argument("--dir", type=Path, required=True, help="work folder (needs ~85 B/span)")
    parser.add_argument("--keep", action="store_true", help="keep the stores when measured")
    parser.add_argument(
        "--reuse", action="store_true", help="measure growth-SIZE.duckdb in --dir if there"
    )
    args = parser.parse_args(argv)
    small, large = (int(size) for size in args.sizes.split(","))
    args.dir.mkdir(parents=True, exist_ok=True)
    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    load = os.getloadavg()
    print(f"bench_growth: {small:,} and {large:,} spans; load average {load[0]:.2f} {load[1]:.2f}")
    results = [
        measure_size(args.dir, size, end, args.repeats, args.keep, args.reuse)
        for size in (small, large)
    ]
    (small_ms, small_facts), (large_ms, large_facts) = results

    print()
    for what in large_facts:
        print(f"{what}: {small_facts.get(what, float('nan')):,.1f} -> {large_facts[what]:,.1f}")
    print()
    print(f"| query (warm median of {args.repeats}) | {small / 1e6:g}M ms | {large / 1e6:g}M ms "
          f"| growth | within {GOAL:g}x |")  # fmt: skip
    print("|---|---:|---:|---:|:---:|")
    ratios = []
    for label, before in small_ms.items():
        after = large_ms[label]
        ratio = after / before
        ratios.append(ratio)
        print(f"| {label} | {before:.1f} | {after:.1f} | {ratio:.2f}x | "
              f"{'yes' if ratio <= GOAL else '**no**'} |")  # fmt: skip
    within = sum(ratio <= GOAL for ratio in ratios)
    print(f"\n{within}/{len(ratios)} within {GOAL:g}x; geometric mean growth "
          f"{statistics.geometric_mean(ratios):.2f}x; slowest at {large / 1e6:g}M: "
          f"{max(large_ms, key=large_ms.__getitem__)} "
          f"({max(large_ms.values()):.1f} ms)")  # fmt: skip
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
