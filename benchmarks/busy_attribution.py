"""`bench_busy.py --attribute`: what the agent's thread did during each slow span start+finish.

For every span whose start+finish takes over `SLOW_NS`, the probe reads, around it, the caller
thread's CPU time (`time.thread_time_ns`), its voluntary and involuntary context switches
(`getrusage(RUSAGE_THREAD)`), its time runnable but waiting for a core (`run_delay`, the second
field of /proc/thread-self/schedstat) and whether a garbage collection ran on any thread. The
time off the CPU is then split into waiting for a core (the OS preempted the thread, or woke it
late) and asleep (a voluntary switch: in CPython that is a wait for the GIL here, as the agent's
loop does no I/O inside a span). It also reads, every `CHECKPOINT` spans and after each slow one,
the CPU time of every thread of the agent's process and of the OTLP child and the sink
processes, so a slow span names who ran meanwhile.

Linux only. The probes cost ~7 µs a span on the agent's thread (more CPU for the workers'
share of the run), so the pause figures of such a run are for attribution, not for quoting.
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import threading
import time
from collections import Counter, defaultdict
from typing import Any

SLOW_NS = 2_000_000
# Spans between two snapshots of every thread's CPU time (the window a slow span is compared
# against starts at the last one).
CHECKPOINT = 20
# A span whose work between start and finish (~15 µs) took longer than this was paused there
# too: the probe reads around start, work and finish at once, so its figures include that pause.
WORK_PAUSED_NS = 500_000
_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
# One `Attribution.probe`: the caller's CPU ns, voluntary and involuntary switches, ns runnable
# without a core, and ns in collections on the caller and on other threads.
Reading = tuple[int, int, int, int, int, int]

# PyDLL, not CDLL: its calls keep the GIL. `os.pread` releases it, and a probe that released the
# GIL on every span would hand it to a waiting worker each time: a different run from the one
# being measured.
_libc = ctypes.PyDLL(None)
_libc.pread.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
_libc.pread.restype = ctypes.c_ssize_t

CAUSES = (
    "collection on the agent's thread",
    "collection on a worker (GIL wait)",
    "GIL wait (asleep)",
    "OS preemption (waiting for a core)",
    "own CPU",
    "unaccounted (no switch: host steal?)",
)


class _File:
    """A /proc file kept open and read without releasing the GIL."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self._buffer = ctypes.create_string_buffer(1024)

    def read(self) -> bytes:
        size = _libc.pread(self.fd, self._buffer, 1024, 0)
        return self._buffer.raw[:size] if size > 0 else b""

    def close(self) -> None:
        os.close(self.fd)


def _process_ticks(handle: _File) -> int:
    """utime + stime of a process (fields 14 and 15 of /proc/PID/stat)."""
    text = handle.read()
    fields = text[text.rfind(b")") + 2 :].split()
    return int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0


class Attribution:
    """Made and used on the agent's thread (the one running the event loop)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self._own = _File("/proc/thread-self/schedstat")
        self._agent_tid = threading.get_native_id()
        # Wall ns of the collections that ended so far: on the agent's thread, on others.
        self._gc_ns = [0, 0]
        self._gc_started = 0
        gc.callbacks.append(self._on_gc)
        self._processes = {
            name: _File(f"/proc/{pid}/stat") for name, pid in processes.items() if pid
        }
        self._self = _File("/proc/self/stat")
        self._machine = _File("/proc/stat")
        self._tasks: dict[int, _File] = {}
        self._names: dict[int, str] = {}
        self._refresh_tasks()
        self._last = self._first = self._snapshot()
        self._last_at = time.perf_counter_ns()
        self._spans = 0
        self.slow: list[dict[str, Any]] = []

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":  # collections hold the GIL: one at a time
            self._gc_started = now
        else:
            self._gc_ns[threading.get_native_id() != self._agent_tid] += now - self._gc_started

    def _refresh_tasks(self) -> None:
        """The threads of this process (the DuckDB writer's thread and DuckDB's own start with
        the first batch), with names: Python's for Python threads, else "native" and the
        thread's command name (DuckDB's, Arrow's, jemalloc's)."""
        python = {t.native_id: t.name for t in threading.enumerate()}
        for entry in os.listdir("/proc/self/task"):
            tid = int(entry)
            if tid in self._tasks:
                continue
            try:
                self._tasks[tid] = _File(f"/proc/self/task/{tid}/schedstat")
            except OSError:
                continue
            if tid == self._agent_tid:
                self._names[tid] = "agent (caller)"
            elif tid in python:
                self._names[tid] = python[tid]
            else:
                try:  # jemalloc's names its thread; DuckDB's and Arrow's are "python"
                    with open(f"/proc/self/task/{tid}/comm") as comm:
                        command = comm.read().strip()
                except OSError:
                    command = "?"
                self._names[tid] = f"native {len(self._names)} ({command})"

    def _snapshot(self) -> dict[str, int]:
        """CPU ns per thread of this process and per other process (ticks, coarser); and per
        thread of this process, the times it was put on a core (key "... runs", a count)."""
        cpu: dict[str, int] = defaultdict(int)
        for tid, handle in self._tasks.items():
            fields = handle.read().split()
            if fields:
                cpu[self._names[tid]] += int(fields[0])
                # A thread holding the GIL while it waits for a core keeps every other waiting.
                cpu[f"{self._names[tid]}, waiting for a core"] += int(fields[1])
                # Each time a thread takes the GIL from a waiting one it was woken: a run.
                cpu[f"{self._names[tid]} runs"] += int(fields[2])
        known = 0
        for name, handle in [("(this process)", self._self), *self._processes.items()]:
            ticks = _process_ticks(handle)
            known += ticks
            if name != "(this process)":
                cpu[name] += ticks * _TICK_NS
        # /proc/stat's first line: user nice system idle iowait irq softirq steal (ticks).
        machine = [int(v) for v in self._machine.read().split(b"\n", 1)[0].split()[1:9]]
        busy = machine[0] + machine[1] + machine[2] + machine[5] + machine[6]
        cpu["rest of the machine (ticks)"] = (busy - known) * _TICK_NS
        cpu["host steal (ticks)"] = machine[7] * _TICK_NS
        return cpu

    def probe(self) -> Reading:
        """(CPU ns, voluntary switches, involuntary switches, ns runnable without a core) of the
        agent's thread, and the wall ns of collections so far on it and on other threads."""
        usage = resource.getrusage(resource.RUSAGE_THREAD)
        run_delay = int(self._own.read().split()[1])
        return (
            time.thread_time_ns(),
            usage.ru_nvcsw,
            usage.ru_nivcsw,
            run_delay,
            self._gc_ns[0],
            self._gc_ns[1],
        )

    def span(
        self,
        before: Reading,
        after: Reading,
        latency_ns: int,
        work_ns: int,
    ) -> None:
        """Called after every span with the probes read before its start and after its
        finish."""
        self._spans += 1
        if latency_ns > SLOW_NS:
            self._record(before, after, latency_ns, work_ns)
        elif self._spans % CHECKPOINT == 0:
            self._last = self._snapshot()
            self._last_at = time.perf_counter_ns()

    def _record(
        self,
        before: Reading,
        after: Reading,
        latency_ns: int,
        work_ns: int,
    ) -> None:
        now = self._snapshot()
        now_at = time.perf_counter_ns()
        cpu, voluntary, involuntary, waiting, gc_agent, gc_others = (
            a - b for a, b in zip(after, before, strict=True)
        )
        # The probe spans start, work and finish; the work is ~15 µs of CPU when not paused.
        wall = latency_ns + work_ns
        asleep = max(0, wall - cpu - waiting)
        share = {"own CPU": cpu, "OS preemption (waiting for a core)": waiting}
        share["GIL wait (asleep)" if voluntary else "unaccounted (no switch: host steal?)"] = asleep
        cause = max(share, key=lambda k: share[k])
        # A collection is the cause when it took at least half of the pause: on the agent's
        # thread it is part of the pause itself, on another one it holds the GIL meanwhile.
        if gc_agent * 2 >= wall:
            cause = "collection on the agent's thread"
        elif gc_others * 2 >= wall:
            cause = "collection on a worker (GIL wait)"
        others = {
            name: (now[name] - self._last.get(name, 0)) / (1 if name.endswith(" runs") else 1e6)
            for name in now
            if not name.startswith("agent (caller)")
        }
        self.slow.append(
            {
                "latency_ms": latency_ns / 1e6,
                "work_paused": work_ns > WORK_PAUSED_NS,
                "cpu_ms": cpu / 1e6,
                "waiting_ms": waiting / 1e6,
                "asleep_ms": asleep / 1e6,
                "voluntary": voluntary,
                "involuntary": involuntary,
                "collection_ms": (gc_agent + gc_others) / 1e6,
                "cause": cause,
                "window_ms": (now_at - self._last_at) / 1e6,
                "others_ms": {k: round(v, 3) for k, v in others.items() if v > 0},
            }
        )
        self._refresh_tasks()  # a new thread shows from the next window on
        self._last = self._snapshot()
        self._last_at = time.perf_counter_ns()

    def close(self) -> dict[str, Any]:
        self._refresh_tasks()
        end = self._snapshot()
        whole = {
            name: (end[name] - self._first.get(name, 0)) / (1 if name.endswith(" runs") else 1e6)
            for name in end
        }
        gc.callbacks.remove(self._on_gc)
        handles = [self._own, self._self, self._machine, *self._tasks.values()]
        for handle in [*handles, *self._processes.values()]:
            handle.close()
        return {
            "slow": self.slow,
            "whole_run": {k: round(v, 3) for k, v in whole.items() if v > 0},
        }


def _by_cause(slow: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The slow spans grouped by cause, in CAUSES order; causes without spans left out."""
    groups = [(cause, [s for s in slow if s["cause"] == cause]) for cause in CAUSES]
    return [(cause, rows) for cause, rows in groups if rows]


def table(results: list[dict[str, Any]], label: Any) -> list[str]:
    """The breakdown of slow spans by cause, per run, as markdown lines."""
    lines = [
        f"\nSpans over {SLOW_NS / 1e6:g} ms by cause (`--attribute`): the cause is the largest "
        "of the caller's own CPU, its time runnable without a core (run_delay) and its time "
        "asleep (voluntary switch: a GIL wait), unless collections (on any thread) took half "
        "the pause or more; times summed over the slow spans of that cause\n",
        "| case | cause | spans | over 10 ms | max ms | total ms | own CPU ms | waiting for a "
        "core ms | asleep ms | collections ms | vol / invol switches | work also paused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        slow = result.get("attribution", {}).get("slow")
        if slow is None:
            continue
        for cause, rows in _by_cause(slow):
            lines.append(
                f"| {label(result)} | {cause} | {len(rows)} | "
                f"{sum(s['latency_ms'] > 10 for s in rows)} | "
                f"{max(s['latency_ms'] for s in rows):.2f} | "
                f"{sum(s['latency_ms'] for s in rows):.1f} | "
                f"{sum(s['cpu_ms'] for s in rows):.1f} | "
                f"{sum(s['waiting_ms'] for s in rows):.1f} | "
                f"{sum(s['asleep_ms'] for s in rows):.1f} | "
                f"{sum(s['collection_ms'] for s in rows):.1f} | "
                f"{sum(s['voluntary'] for s in rows)} / {sum(s['involuntary'] for s in rows)} | "
                f"{sum(s['work_paused'] for s in rows)} |"
            )
        if not slow:
            lines.append(f"| {label(result)} | (none) | 0 | 0 | | | | | | | | |")
    lines += [
        "\nWho ran during the slow spans' windows (from the last snapshot, at most "
        f"{CHECKPOINT} spans before, to the slow span's end): CPU ms per thread of the agent's "
        'process (and its time runnable without a core; "runs": times it was put on a core, a '
        "count), and per other process, the rest of "
        "the machine and the host's steal (those in ticks of 10 ms: coarse, summed over many "
        "windows), summed per cause\n",
        "| case | cause | window ms | CPU ms of others, most first |",
        "|---|---|---|---|",
    ]
    for result in results:
        for cause, rows in _by_cause(result.get("attribution", {}).get("slow") or []):
            total: Counter[str] = Counter()
            for s in rows:
                total.update(s["others_ms"])
            top = ", ".join(f"{name} {ms:.1f}" for name, ms in total.most_common(6))
            window = sum(s["window_ms"] for s in rows)
            lines.append(f"| {label(result)} | {cause} | {window:.1f} | {top} |")
    lines += [
        "\nOver the whole run (from the caller's start to its end): CPU ms, times put on a core "
        "(runs) and ms runnable without a core, per thread and process\n",
        "| case | thread or process | CPU ms | runs | waiting for a core ms |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        whole = result.get("attribution", {}).get("whole_run")
        if not whole:
            continue
        names = [n for n in whole if not n.endswith((" runs", ", waiting for a core"))]
        for name in sorted(names, key=lambda n: -whole[n]):
            runs = whole.get(f"{name} runs")
            waiting = whole.get(f"{name}, waiting for a core")
            lines.append(
                f"| {label(result)} | {name} | {whole[name]:.1f} | "
                f"{'' if runs is None else f'{runs:.0f}'} | "
                f"{'' if waiting is None else f'{waiting:.1f}'} |"
            )
    lines += [
        "\nThe slowest spans, one by one\n",
        "| case | ms | cause | CPU / core wait / asleep ms | vol / invol | window ms | "
        "others (CPU ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        slow = result.get("attribution", {}).get("slow") or []
        for s in sorted(slow, key=lambda s: -s["latency_ms"])[:8]:
            busiest = sorted(s["others_ms"].items(), key=lambda kv: -kv[1])[:4]
            lines.append(
                f"| {label(result)} | {s['latency_ms']:.2f} | {s['cause']} | "
                f"{s['cpu_ms']:.2f} / {s['waiting_ms']:.2f} / {s['asleep_ms']:.2f} | "
                f"{s['voluntary']} / {s['involuntary']} | {s['window_ms']:.1f} | "
                + ", ".join(f"{k} {v:.1f}" for k, v in busiest)
                + " |"
            )
    return lines
