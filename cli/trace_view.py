"""One trace as a span tree for a terminal: the store's rows as records for `render_trace`, and
long lines folded at phrase boundaries under their span instead of wherever the terminal cuts."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from agentoscope.tracing import render_trace

from .output import plain

# render_trace joins a line's phrases ("3,644 tok", "✗ TimeoutError: …") with two spaces.
PHRASE_GAP = "  "
_ANSI = re.compile(r"\033\[[0-9;]*m")
_TREE = re.compile(r"^[│├└─ ]*")
# The guide a continuation line keeps under a branch: the tree still reads downwards.
_GUIDE = {"├": "│", "└": " ", "─": " ", "│": "│", " ": " "}
# Below this many columns for the text, folding does more harm than good: keep the line.
MIN_TEXT_WIDTH = 20


def trace_record_from_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A `traces` row as the record shape `render_trace` reads."""
    return {key: plain(value) for key, value in (row or {}).items()} or None


def span_record_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A `spans` row (from the store or a server) as the record shape `render_trace` reads."""
    import orjson

    record = {key: plain(value) for key, value in row.items()}
    for key in ("data", "error", "metadata"):
        if isinstance(record.get(key), str):
            try:
                record[key] = orjson.loads(record[key])
            except orjson.JSONDecodeError:
                pass
    return record


def render_rows(
    trace: dict[str, Any] | None, spans: Any, color: bool = False, width: int | None = None
) -> str:
    """The trace (`traces` row) and its spans (a frame of `spans` rows) as a tree; with `width`,
    every line folded to fit it."""
    records = [span_record_from_row(row) for row in spans.to_dict("records")]
    trace_row = trace_record_from_row(trace)
    if trace_row and trace_row.get("inferred"):
        trace_row["workflow_name"] = None  # render_trace shows "(trace not finished)"
    text = render_trace(trace_row, records, color=color)
    return text if width is None else fold(text, width)


def visible_len(text: str) -> int:
    return len(_ANSI.sub("", text))


def fold(text: str, width: int) -> str:
    """Each line that is wider than `width` broken between its phrases (a phrase longer than
    the line between its words), continued under the span's text with the tree's guide."""
    return "\n".join(piece for line in text.splitlines() for piece in _fold_line(line, width))


def _fold_line(line: str, width: int) -> list[str]:
    if visible_len(line) <= width:
        return [line]
    tree = _TREE.match(_ANSI.sub("", line))
    prefix = tree.group(0) if tree else ""
    # A root line (the header) continues two columns in, under its name.
    indent = "".join(_GUIDE.get(char, " ") for char in prefix) if prefix else "   "
    room = width - len(indent)
    if room < MIN_TEXT_WIDTH:
        return [line]
    body = line[len(prefix) :] if line.startswith(prefix) else line
    lines: list[str] = []
    current = prefix
    for phrase in body.split(PHRASE_GAP):
        bare = current in (prefix, indent)
        joined = current + ("" if bare else PHRASE_GAP) + phrase
        if visible_len(joined) <= width:
            current = joined
            continue
        if not bare:
            lines.append(current)
            current = indent
            if visible_len(current + phrase) <= width:
                current += phrase
                continue
        words = textwrap.wrap(phrase, width - len(current), break_on_hyphens=False) or [phrase]
        lines.append(current + words[0])
        rest = textwrap.wrap(" ".join(words[1:]), room, break_on_hyphens=False)
        lines += [indent + piece for piece in rest[:-1]]
        current = indent + rest[-1] if rest else indent
    if current != indent:
        lines.append(current)
    return lines
