"""`retention_days` in a ClickHouse store URL means the same on every open: a read-write open
with another value than the stored TTL applies it (old spans go) and says so; an open without
the option keeps the stored TTL; a read-only open changes nothing and warns that they differ."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from test_store_clickhouse import _chdb_url, _span

from agentoscope.tracing.clock import utc_now
from agentoscope.tracing.store import ClickHouseStore, StoreURLError, parse_store_url

pytest.importorskip("chdb")


def _records() -> list[dict[str, object]]:
    """Two spans of 2026-01-01 (_span's base) and one of yesterday."""
    recent = (utc_now() - timedelta(days=1)).replace(tzinfo=None).isoformat() + "Z"
    return [
        _span(1, 0),
        _span(2, 0),
        _span(3, 0, started_at=recent, ended_at=recent),
    ]


def _spans(store: ClickHouseStore) -> int:
    return int(store.query("SELECT count(*) AS n FROM spans").iloc[0, 0])


def _applied_now(store: ClickHouseStore) -> None:
    # ClickHouse drops expired rows as it merges; a forced merge makes that happen now.
    store._conn().command("OPTIMIZE TABLE span_rows FINAL")


def test_a_new_retention_on_an_existing_store_is_applied_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = _chdb_url("keep")
    with ClickHouseStore(url) as store:  # no retention: kept forever
        store.ingest(_records())
        assert _spans(store) == 3
    with caplog.at_level(logging.WARNING, logger="agentoscope.tracing"):
        with ClickHouseStore(f"{url}&retention_days=30") as store:
            _applied_now(store)
            assert _spans(store) == 1  # the spans of 2026-01-01 are past 30 days
    assert "retention changed from forever (no TTL) to 30 days" in caplog.text
    caplog.clear()
    # The same value again: nothing to change, nothing said.
    with caplog.at_level(logging.WARNING, logger="agentoscope.tracing"):
        with ClickHouseStore(f"{url}&retention_days=30") as store:
            assert _spans(store) == 1
    assert "retention" not in caplog.text


def test_an_open_without_the_option_keeps_the_stored_retention() -> None:
    url = _chdb_url("absent")
    ClickHouseStore(f"{url}&retention_days=30").close()
    with ClickHouseStore(url) as store:  # a second writer started without the option
        store.ingest(_records())
        _applied_now(store)
        assert _spans(store) == 1  # the 30 days still hold


def test_a_read_only_open_with_another_retention_warns_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = _chdb_url("reader")
    with ClickHouseStore(url) as store:
        store.ingest(_records())
    with caplog.at_level(logging.WARNING, logger="agentoscope.tracing"):
        with ClickHouseStore(f"{url}&retention_days=30", read_only=True) as reader:
            assert _spans(reader) == 3
    assert "keeps rows forever (no TTL), not the 30 days" in caplog.text
    assert "read-only open does not change it" in caplog.text
    with ClickHouseStore(url) as store:
        _applied_now(store)
        assert _spans(store) == 3  # nothing expired: the reader changed no TTL


def test_retention_on_the_collector_table_is_refused() -> None:
    with pytest.raises(StoreURLError, match="exporter's ttl"):
        parse_store_url("chdb:///tmp/x?table=otel_traces&retention_days=7")
