"""`include_sensitive_data=False` means no user text in any sink: not in inputs and outputs, and
not through exception messages, `SpanError.data` or an error type made from text. The error's
class name and the fixed messages code sets stay, so a reader still sees what failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentoscope import tracing
from support.sinks import sink_texts

USER_TEXT = "my-flight-is-LH4711-to-Lisbon"


class BookingError(Exception):
    pass


def _user_text_everywhere() -> None:
    with tracing.trace("booking", metadata={"workflow": "booking"}):
        with tracing.function_span("book", input=json.dumps({"q": USER_TEXT})) as fn:
            fn.span_data.output = f"booked {USER_TEXT}"
        with tracing.generation_span(
            input=[{"role": "user", "content": USER_TEXT}], model="gpt-4o"
        ) as gen:
            gen.span_data.output = [{"role": "assistant", "content": USER_TEXT}]
        with pytest.raises(BookingError), tracing.function_span("raising"):
            raise BookingError(f"no seat for {USER_TEXT}")
        with tracing.function_span("set_error") as failing:
            failing.set_error(
                {
                    "message": "Error running tool",
                    "data": {
                        "type": "BookingError",
                        "tool_name": "book",
                        "error": f"no seat for {USER_TEXT}",
                        "details": {"asked": USER_TEXT},
                        "status_code": 409,
                    },
                }
            )
        with tracing.custom_span("typed_by_text") as typed:
            typed.set_error({"message": "Lookup failed", "data": {"type": f"bad {USER_TEXT}"}})
        with tracing.custom_span("no_type") as untyped:
            untyped.set_error({"message": "Lookup failed", "data": None})


def _span_records(tmp_path: Path) -> dict[str, dict[str, Any]]:
    records = tracing.read_jsonl(tmp_path / "spans.jsonl")
    return {record["name"]: record for record in records if record["kind"] == "span"}


def test_sensitive_off_keeps_user_text_out_of_every_sink(tmp_path: Path) -> None:
    tracing.set_data_policy(include_sensitive_data=False)
    sinks = sink_texts(tmp_path, _user_text_everywhere)
    for name, text in sinks.items():
        assert USER_TEXT not in text, name
    jsonl = sinks["jsonl"]
    assert "BookingError" in jsonl and "Error running tool" in jsonl and "Lookup failed" in jsonl
    records = {
        r["name"]: r for r in tracing.read_jsonl(tmp_path / "spans.jsonl") if r["kind"] == "span"
    }
    raising = records["raising"]
    assert raising["status"] == "error" and raising["error_type"] == "BookingError"
    assert raising["error_message"] == "BookingError"
    kept = records["set_error"]["error"]
    assert kept == {
        "message": "Error running tool",
        "data": {"type": "BookingError", "tool_name": "book", "status_code": 409},
    }
    assert records["typed_by_text"]["error_type"] == "Error"
    assert records["no_type"]["error_type"] == "Error"
    assert "BookingError" in sinks["otlp"] and "Error running tool" in sinks["otlp"]


def test_sensitive_on_keeps_the_details(tmp_path: Path) -> None:
    tracing.set_data_policy(include_sensitive_data=True)
    sinks = sink_texts(tmp_path, _user_text_everywhere)
    assert all(USER_TEXT in sinks[name] for name in ("jsonl", "duckdb spans", "otlp"))
    records = {
        r["name"]: r for r in tracing.read_jsonl(tmp_path / "spans.jsonl") if r["kind"] == "span"
    }
    assert records["raising"]["error_message"] == f"no seat for {USER_TEXT}"
    assert records["set_error"]["error"]["data"]["details"] == {"asked": USER_TEXT}
