"""CompressedSession: what goes in comes out identical, and the store holds less."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agentoscope.runtime.memory import CompressedSession, SQLiteSession
from agentoscope.runtime.memory.compressed_session import LITERAL_KEY, ZLIB_KEY

LONG_TEXT = "The weather in Paris is sunny with light wind. " * 200


def tool_output(text: str) -> dict[str, object]:
    return {"type": "function_call_output", "call_id": "call_1", "output": text}


async def test_large_fields_are_stored_compressed_and_restored_exactly() -> None:
    base = SQLiteSession("c")
    session = CompressedSession(base, threshold=100)
    items = [
        {"role": "user", "content": "short question"},
        tool_output(LONG_TEXT),
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Ünïcödé ✓ " * 500, "annotations": []}],
        },
    ]
    await session.add_items(items)
    assert await session.get_items() == items

    stored = await base.get_items()
    assert stored[0] == items[0]  # small items are stored as they are
    assert set(stored[1]["output"]) == {ZLIB_KEY}
    assert set(stored[2]["content"][0]["text"]) == {ZLIB_KEY}
    assert len(json.dumps(stored)) * 10 < len(json.dumps(items))
    base.close()


async def test_user_data_that_looks_like_a_marker_is_kept_verbatim() -> None:
    session = CompressedSession(SQLiteSession("m"), threshold=10)
    tricky = [
        {"role": "user", "content": "x", "meta": {ZLIB_KEY: "not base64 at all"}},
        {"role": "user", "content": "y", "meta": {LITERAL_KEY: {ZLIB_KEY: 1}, "k": LONG_TEXT}},
        {ZLIB_KEY: LONG_TEXT, "role": "user", "content": "z"},
    ]
    await session.add_items(tricky)
    assert await session.get_items() == tricky
    assert await session.pop_item() == tricky[2]
    assert session.corrupt_rows == []


async def test_incompressible_text_is_left_alone() -> None:
    base = SQLiteSession("r")
    session = CompressedSession(base, threshold=100)
    noise = os.urandom(3000).decode("latin-1")  # random: zlib + base64 would be larger
    await session.add_items([tool_output(noise)])
    assert (await base.get_items())[0]["output"] == noise
    assert await session.get_items() == [tool_output(noise)]
    base.close()


async def test_limits_and_pop_pass_through(tmp_path: Path) -> None:
    session = CompressedSession(SQLiteSession("p", tmp_path / "p.db"), threshold=50)
    await session.add_items([tool_output(f"{n} " + LONG_TEXT) for n in range(4)])
    newest = await session.get_items(2)
    assert [item["output"].split()[0] for item in newest] == ["2", "3"]
    popped = await session.pop_item()
    assert popped == tool_output("3 " + LONG_TEXT)
    # the wrapped session's extras stay reachable through the wrapper
    assert (await session.get_session_stats())["item_count"] == 3
    assert session.session_id == "p"
    session.close()


async def test_a_damaged_compressed_field_is_reported_and_skipped() -> None:
    base = SQLiteSession("d")
    session = CompressedSession(base, threshold=10)
    await session.add_items([tool_output(LONG_TEXT)])
    await base.add_items([{"id": "item_7", "type": "x", "output": {ZLIB_KEY: "AAAA"}}])
    await session.add_items([{"role": "user", "content": "after"}])

    assert await session.get_items() == [
        tool_output(LONG_TEXT),
        {"role": "user", "content": "after"},
    ]
    (row,) = session.corrupt_rows
    assert row.row_id == "item_7" and "cannot be restored" in row.reason
    assert len(await base.get_items()) == 3  # still stored, for repair
    base.close()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CompressedSession(SQLiteSession("s"), threshold=-1)
    with pytest.raises(ValueError, match="level"):
        CompressedSession(SQLiteSession("s"), level=10)
