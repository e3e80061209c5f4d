"""SQLiteSession: files, concurrency (tasks, threads, processes), corrupt rows, SDK files."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from agentoscope.runtime.memory import (
    InvalidIdentifierError,
    ItemEncodingError,
    SessionClosedError,
    SQLiteSession,
)


def message(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def contents(items: list[dict]) -> list[str]:
    return [item["content"] for item in items]


async def test_history_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with SQLiteSession("chat", path) as first:
        await first.add_items([message("one"), message("two")])
    with SQLiteSession("chat", path) as reopened:
        assert contents(await reopened.get_items()) == ["one", "two"]
        await reopened.add_items([message("three")])
    with SQLiteSession("chat", str(path)) as again:
        assert contents(await again.get_items(2)) == ["two", "three"]


async def test_file_uses_wal_and_the_sdk_schema(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with SQLiteSession("s", path) as session:
        await session.add_items([message("x")])
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            columns = [row[1] for row in conn.execute("PRAGMA table_info(agent_messages)")]
            assert columns == ["id", "session_id", "message_data", "created_at"]


@pytest.mark.parametrize(
    "bad_name", ["agent_messages; DROP TABLE x", "1table", "", "a-b", 'x"y', "t" * 64]
)
def test_unsafe_table_names_are_refused(bad_name: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidIdentifierError, match="not a valid table name"):
        SQLiteSession("s", tmp_path / "x.db", messages_table=bad_name)
    with pytest.raises(InvalidIdentifierError):
        SQLiteSession("s", tmp_path / "x.db", sessions_table=bad_name)


async def test_custom_table_names_keep_histories_apart(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    with (
        SQLiteSession("s", path, "support_sessions", "support_messages") as support,
        SQLiteSession("s", path) as default,
    ):
        await support.add_items([message("support")])
        await default.add_items([message("default")])
        assert contents(await support.get_items()) == ["support"]
        assert contents(await default.get_items()) == ["default"]


async def test_stats_count_items_and_their_times(tmp_path: Path) -> None:
    with SQLiteSession("stats", tmp_path / "s.db") as session:
        empty = await session.get_session_stats()
        assert empty["item_count"] == 0
        assert empty["first_item_time"] is None and empty["last_item_time"] is None
        before = time.time()
        await session.add_items([message("a")])
        await session.add_items([message("b"), message("c")])
        stats = await session.get_session_stats()
        assert stats["item_count"] == 3
        assert stats["first_item_time"] <= stats["last_item_time"]
        assert before - 2 <= stats["first_item_time"].timestamp() <= time.time() + 2


async def test_closed_session_refuses_work() -> None:
    session = SQLiteSession("closed")
    session.close()
    with pytest.raises(SessionClosedError, match="closed"):
        await session.get_items()
    with pytest.raises(SessionClosedError):
        await session.add_items([message("late")])
    session.close()  # closing twice is harmless


async def test_item_that_is_not_json_is_refused_and_nothing_is_written() -> None:
    with SQLiteSession("bad") as session:
        with pytest.raises(ItemEncodingError, match="not JSON-serialisable"):
            await session.add_items([message("fine"), {"role": "user", "content": {1, 2}}])
        assert await session.get_items() == []


async def test_fifty_tasks_lose_nothing_and_keep_their_order(tmp_path: Path) -> None:
    with SQLiteSession("busy", tmp_path / "busy.db") as session:

        async def writer(task: int) -> None:
            for n in range(20):
                await session.add_items([{"role": "user", "content": f"{task}:{n}"}])
                if n % 7 == 0:
                    await session.get_items(3)  # reads interleaved with the writes

        await asyncio.gather(*(writer(task) for task in range(50)))
        items = await session.get_items()
    assert len(items) == 1000
    per_task: dict[int, list[int]] = {}
    for item in items:
        task, n = item["content"].split(":")
        per_task.setdefault(int(task), []).append(int(n))
    assert per_task == {task: list(range(20)) for task in range(50)}


async def test_batches_from_concurrent_tasks_stay_contiguous() -> None:
    with SQLiteSession("batches") as session:
        batches = [[message(f"{task}:{n}") for n in range(20)] for task in range(50)]
        await asyncio.gather(*(session.add_items(batch) for batch in batches))
        items = contents(await session.get_items())
    assert len(items) == 1000
    chunks = [items[i : i + 20] for i in range(0, 1000, 20)]
    assert sorted(chunks) == sorted([contents(batch) for batch in batches])


def test_threads_with_their_own_event_loops_share_one_session(tmp_path: Path) -> None:
    session = SQLiteSession("threads", tmp_path / "threads.db")
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        async def run() -> None:
            for n in range(25):
                await session.add_items([message(f"{thread}:{n}")])

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    items = contents(asyncio.run(session.get_items()))
    session.close()
    assert errors == []
    assert len(items) == 100
    for t in range(4):
        assert [i for i in items if i.startswith(f"{t}:")] == [f"{t}:{n}" for n in range(25)]


_CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from agentoscope.runtime.memory import SQLiteSession

    path, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    deadline = time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)

    async def main():
        session = SQLiteSession("shared", path)  # both create the schema at the same moment
        for n in range(100):
            await session.add_items([{"role": "user", "content": f"{name}:{n}"}])
            if n % 10 == 0:
                await session.get_items(5)  # reads between the writes
        session.close()

    asyncio.run(main())
    """
)


@pytest.mark.slow  # starts another process
async def test_two_processes_append_to_one_file(tmp_path: Path) -> None:
    path, go = tmp_path / "shared.db", tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), name, str(go)], stderr=subprocess.PIPE
        )
        for name in ("a", "b")
    ]
    go.touch()
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr.decode()
    with SQLiteSession("shared", path) as session:
        items = contents(await session.get_items())
    assert len(items) == 200
    for name in ("a", "b"):
        assert [i for i in items if i.startswith(f"{name}:")] == [f"{name}:{n}" for n in range(100)]


def test_opening_a_file_another_writer_holds_waits_for_it_to_switch_to_wal(
    tmp_path: Path,
) -> None:
    # A writer in rollback mode holds the new file: SQLite refuses the switch to WAL at once,
    # without its busy handler, which is how two processes opening one file together failed.
    path = tmp_path / "held.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE unrelated (x)")
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: (other.execute("COMMIT"), other.close()))
    release.start()
    started = time.monotonic()
    with SQLiteSession("s", path, busy_timeout=10) as session:
        waited = time.monotonic() - started
        asyncio.run(session.add_items([message("after the wait")]))
        assert contents(asyncio.run(session.get_items())) == ["after the wait"]
    release.join()
    assert waited >= 0.25  # it waited for the other writer, as the busy timeout promises
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_held_past_the_busy_timeout_says_it_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE unrelated (x)")
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            SQLiteSession("s", path, busy_timeout=0.2)
        assert 0.15 <= time.monotonic() - started < 5
    finally:
        other.execute("COMMIT")
        other.close()


async def test_a_locked_file_waits_without_blocking_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with SQLiteSession("s", path) as session:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the file
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticking = asyncio.create_task(ticker())
        adding = asyncio.create_task(session.add_items([message("waited")]))
        while ticks < 10:
            await asyncio.sleep(0.005)
        assert not adding.done()  # still waiting for the lock, and the loop keeps running
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(adding, 10)
        ticking.cancel()
        assert contents(await session.get_items()) == ["waited"]


def _insert_raw(path: Path, session_id: str, text: str) -> int:
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
            (session_id, text),
        )
        return int(cursor.lastrowid)


async def test_corrupt_row_is_reported_skipped_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "corrupt.db"
    with SQLiteSession("c", path) as session:
        await session.add_items([message("0"), message("1")])
        bad_id = _insert_raw(path, "c", '{"role": "user", "content": "trunc')
        not_object_id = _insert_raw(path, "c", "[1, 2]")
        await session.add_items([message("2"), message("3")])

        with caplog.at_level(logging.WARNING, logger="agentoscope.runtime.memory"):
            assert contents(await session.get_items()) == ["0", "1", "2", "3"]
        # limit counts readable items: walking past the corrupt rows still finds three
        assert contents(await session.get_items(3)) == ["1", "2", "3"]

        reported = {row.row_id: row for row in session.corrupt_rows}
        assert set(reported) == {bad_id, not_object_id}
        assert reported[bad_id].session_id == "c"
        assert "not valid JSON" in reported[bad_id].reason
        assert "expected an object" in reported[not_object_id].reason
        assert any(str(bad_id) in record.getMessage() for record in caplog.records)

        # pop takes readable items only and leaves the corrupt rows for repair
        assert contents([await session.pop_item(), await session.pop_item()]) == ["3", "2"]
        assert contents([await session.pop_item(), await session.pop_item()]) == ["1", "0"]
        assert await session.pop_item() is None
        assert {row.row_id for row in await session.find_corrupt_rows()} == {
            bad_id,
            not_object_id,
        }
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT id FROM agent_messages ORDER BY id").fetchall()
    assert [row[0] for row in kept] == [bad_id, not_object_id]


async def test_files_are_interchangeable_with_the_official_sdk(tmp_path: Path) -> None:
    import agents

    path = tmp_path / "sdk.db"
    sdk = agents.SQLiteSession("shared", path)
    await sdk.add_items([message("from the sdk")])
    with SQLiteSession("shared", path) as ours:
        assert contents(await ours.get_items()) == ["from the sdk"]
        await ours.add_items([message("from agentoscope")])
    assert contents(await sdk.get_items()) == ["from the sdk", "from agentoscope"]
    sdk.close()
