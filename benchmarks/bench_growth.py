"""Growth benchmark: every dashboard query and named query of the DuckDB store at two sizes
(default 10M and 100M spans), and how much each grew. One command, one table.

    .venv/bin/python benchmarks/bench_growth.py --dir /big/disk        # ~12 minutes, ~10 GB
    .venv/bin/python benchmarks/bench_growth.py --dir D --keep         # keep the stores, then
    .venv/bin/python benchmarks/bench_growth.py --dir D --reuse        # measure them again

For each size: a store of that many spans over 30 days up to now, generated inside DuckDB
(bench_store.generate_store), then its rollups built (`SpanStore.rebuild_rollups`) and left as a
live store's writer has them when its last span comes (`as_of`: the last 15-75 minutes read from
spans, 15-30 for the quarter-hour rollups); `--worst` leaves them as the writer had them at the
hour's worst moment before the stores' end (HOUR_GRACE past an hour, just before the hourly
rollups move on: 75 minutes and more read from spans for the hourly rollups, 30 and more for the
quarter-hour ones), so the rollup-backed rows are measured at or past their worst moment of the
hour, whatever the minute the stores end at; its size on disk and its rollups' rows. Then both
stores are opened read-only, as the dashboard holds one, and every dashboard
query (bench_dashboard.cases) and every named query of bench_store runs on the smaller and then
at once on the larger (median of --repeats after one warm-up each), so a change in the load of a
shared machine weighs on both figures alike. The stores are deleted at the end (100M spans are
~8.5 GB) unless --keep. The goal (issue 22): every query the dashboard runs by default at the
larger size within 2x of its time at the smaller one; the exact percentiles (on request) read
every span and grow with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_dashboard
import bench_store
from bench_scale import median_ms

from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.queries import trace_detail
from agentoscope.tracing.store.rollup import (
    HOUR_GRACE,
    QUARTER_HOUR,
    ROLLUPS,
    Rollups,
    complete_until_at,
)

GOAL = 2.0
ROLLUP_TABLES = [rollup.name for rollup in ROLLUPS]


def build(
    directory: Path, size: int, end: datetime, reuse: bool, worst: bool = False
) -> tuple[Path, datetime, dict[str, float]]:
    """A store of `size` spans (generated, or reused), its rollups built: (path, the end of
    its spans, {what: figure})."""
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
        hours, quarters = as_of(store, end, worst)
        facts["minutes read from spans (hourly rollups)"] = hours
        facts["minutes read from spans (quarter-hour rollups)"] = quarters
    facts["GB on disk"] = path.stat().st_size / 1e9
    return path, end, facts


def as_of(store: SpanStore, end: datetime, worst: bool = False) -> tuple[float, float]:
    """Leave the rollups as the writer of a live store would have them when its last span
    came, at `end`: each complete until the unit (hour or quarter hour) HOUR_GRACE before it,
    so the queries read the last 15-75 minutes (quarter-hour rollups: 15-30) from spans, as a
    user's do. (Built later, a store's rollups would cover all of it: a stored one is reopened
    hours after its spans end, and 100M spans take minutes to generate.) With `worst`, as the
    writer had them at the latest moment before `end` that is HOUR_GRACE less a second past an
    hour: every rollup at its longest read from spans. Returns the minutes left to spans by
    the hourly and by the quarter-hour rollups."""
    # A bench's shortcut into the writer's own steps (it takes them itself as time passes).
    cursor, writer = store._cursor, Rollups()
    moment = end
    if worst:
        moment = end.replace(minute=0, second=0, microsecond=0) + HOUR_GRACE
        moment -= timedelta(seconds=1)
        if moment > end:
            moment -= timedelta(hours=1)
    for rollup in ROLLUPS:
        until = complete_until_at(rollup, moment)
        writer._drop_rows_from(cursor, rollup, until)
        writer._record(cursor, rollup, until)

    def minutes(unit: str) -> float:
        until = min(complete_until_at(rollup, moment) for rollup in ROLLUPS if rollup.unit == unit)
        return (end - until).total_seconds() / 60

    return minutes("hour"), minutes(QUARTER_HOUR)


def actions(store: SpanStore, end: datetime) -> dict[str, Callable[[], Any]]:
    """Every dashboard query and named query on `store`, by label."""
    found: dict[str, Callable[[], Any]] = {}
    for page, label, action in bench_dashboard.cases(store, end):
        found[f"{page}: {label}"] = lambda a=action: a(store)
    picks = bench_store.latest_traces(store, limit=200)["trace_id"].tolist()[::40]
    for label, _target, named_action in bench_store.query_cases(end):
        if named_action is None:  # one trace: each of a few picks in turn
            turn = iter(picks * 1000)
            found[f"named: {label.strip()}"] = lambda t=turn: trace_detail(store, next(t))
        else:
            found[f"named: {label.strip()}"] = lambda a=named_action: a(store)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000000,100000000", help="two store sizes")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per query (median)")
    parser.add_argument("--dir", type=Path, required=True, help="work folder (needs ~85 B/span)")
    parser.add_argument("--keep", action="store_true", help="keep the stores when measured")
    parser.add_argument(
        "--reuse", action="store_true", help="measure growth-SIZE.duckdb in --dir if there"
    )
    parser.add_argument(
        "--worst",
        action="store_true",
        help="rollups as at the hour's worst moment (75+ minutes read from spans, quarters 30+)",
    )
    args = parser.parse_args(argv)
    small, large = (int(size) for size in args.sizes.split(","))
    args.dir.mkdir(parents=True, exist_ok=True)
    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    load = os.getloadavg()
    print(f"bench_growth: {small:,} and {large:,} spans; load average {load[0]:.2f} {load[1]:.2f}")
    built = [build(args.dir, size, end, args.reuse, args.worst) for size in (small, large)]
    small_facts, large_facts = built[0][2], built[1][2]
    stores = [SpanStore(path, read_only=True) for path, _end, _facts in built]
    small_ms: dict[str, float] = {}
    large_ms: dict[str, float] = {}
    try:
        # Each query at both sizes back to back: the load other work puts on a shared machine
        # changes over minutes, and then weighs on both figures alike.
        small_actions, large_actions = (
            actions(store, store_end)
            for store, (_path, store_end, _facts) in zip(stores, built, strict=True)
        )
        for label, action in small_actions.items():
            small_ms[label] = median_ms(action, args.repeats)
            large_ms[label] = median_ms(large_actions[label], args.repeats)
    finally:
        for store in stores:
            store.close()
        if not args.keep:
            for path, _end, _facts in built:
                for leftover in (path, Path(f"{path}.wal")):
                    leftover.unlink(missing_ok=True)

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
