"""The typed `triggered` column: filled for guardrail spans however the span arrives."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd

from agentoscope import tracing
from agentoscope.tracing import SpanStore


def _guardrail_records() -> list[dict]:
    keep: list[dict] = []

    class Keep(tracing.BatchingProcessor):
        def export(self, records: list[dict]) -> None:
            keep.extend(records)

    processor = Keep()
    tracing.set_trace_processors([processor])
    with tracing.trace("guarded"), tracing.agent_span("A"):
        with tracing.guardrail_span("tripped", triggered=True, source="input"):
            pass
        with tracing.guardrail_span("passed", triggered=False, source="output"):
            pass
        with tracing.function_span("tool"):
            pass
    processor.force_flush()
    return keep


def _verdicts(store: SpanStore) -> dict[str, bool | None]:
    rows = store.query("SELECT name, triggered FROM spans ORDER BY name")
    return {
        name: None if pd.isna(value) else bool(value)
        for name, value in zip(rows["name"], rows["triggered"], strict=True)
    }


def test_records_carry_the_verdict_and_the_store_types_it(tmp_path: Path) -> None:
    records = _guardrail_records()
    spans = {r["name"]: r for r in records if r["kind"] == "span"}
    assert spans["tripped"]["triggered"] is True and spans["passed"]["triggered"] is False
    assert spans["tool"]["triggered"] is None
    with SpanStore(tmp_path / "s.duckdb") as store:
        store.ingest(records)
        assert _verdicts(store) == {"A": None, "passed": False, "tool": None, "tripped": True}
        view = store.query("SELECT guardrail_name, triggered FROM guardrails ORDER BY 1")
        assert view.values.tolist() == [["passed", False], ["tripped", True]]


def test_older_records_without_the_field_get_it_from_their_data(tmp_path: Path) -> None:
    old = [{k: v for k, v in r.items() if k != "triggered"} for r in _guardrail_records()]
    path = tmp_path / "old.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in old))
    with SpanStore(tmp_path / "a.duckdb") as store:
        store.ingest(old)
        assert _verdicts(store)["tripped"] is True and _verdicts(store)["passed"] is False
    with SpanStore(tmp_path / "b.duckdb") as store:
        store.ingest_jsonl([path])  # the bulk read_json path
        assert _verdicts(store)["tripped"] is True and _verdicts(store)["passed"] is False


def test_the_span_tree_marks_a_tripped_guardrail() -> None:
    records = _guardrail_records()
    trace = next(r for r in records if r["kind"] == "trace")
    lines = tracing.render_trace(trace, [r for r in records if r["kind"] == "span"]).splitlines()
    assert [line for line in lines if "TRIPPED" in line] == [
        next(line for line in lines if "guardrail  tripped" in line)
    ]
