"""Finding the one trace a user means from the start of its id, with or without `trace_`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRACE_PREFIX = "trace_"
# How many candidates an ambiguous start lists: enough to pick from, short enough to read.
LISTED_MATCHES = 5

# Both spellings in one query: `d1ac5f85` and `trace_d1ac5f85` name the same trace. substr and
# length read the same in DuckDB and ClickHouse (starts_with is DuckDB's alone), so `show` works on
# either store engine.
_MATCHES_SQL = f"""
SELECT trace_id, workflow_name, started_at, count(*) OVER () AS matches
FROM traces
WHERE substr(trace_id, 1, length($prefix)) = $prefix
    OR substr(trace_id, 1, length($prefix) + {len(TRACE_PREFIX)}) = '{TRACE_PREFIX}' || $prefix
-- a whole id first, so it is found even among many longer ids it starts
ORDER BY trace_id IN ($prefix, '{TRACE_PREFIX}' || $prefix) DESC, started_at DESC NULLS LAST,
    trace_id
LIMIT {LISTED_MATCHES}
"""


class AmbiguousTraceId(LookupError):
    """The start matches more than one trace; the message lists the newest matches."""


@dataclass(frozen=True)
class Match:
    trace_id: str
    workflow_name: str | None
    started_at: str


def resolve_trace_id(reader: Any, text: str) -> str | None:
    """The stored trace id that `text` starts (a full id, with or without `trace_`); None when no
    trace matches. Raises AmbiguousTraceId naming the newest matches when several do."""
    prefix = text.strip()
    if not prefix:
        raise AmbiguousTraceId("give a trace id, or the start of one")
    frame = reader.query(_MATCHES_SQL, {"prefix": prefix})
    if frame.empty:
        return None
    ids = frame["trace_id"].tolist()
    # A whole id wins even when it is also the start of a longer one.
    for whole in (prefix, TRACE_PREFIX + prefix):
        if whole in ids:
            return whole
    total = int(frame["matches"].iloc[0])
    if total == 1:
        return str(ids[0])
    matches = [
        Match(str(row.trace_id), row.workflow_name, _when(row.started_at))
        for row in frame.itertuples(index=False)
    ]
    raise AmbiguousTraceId(ambiguity_message(text, matches, total))


def ambiguity_message(text: str, matches: list[Match], total: int) -> str:
    shown = f" (the newest {len(matches)} of them)" if total > len(matches) else ""
    lines = [f"{text!r} starts {total} trace ids; give more of the id{shown}:"]
    for match in matches:
        name = match.workflow_name or ""
        lines.append(f"  {match.trace_id}  {match.started_at}  {name}".rstrip())
    return "\n".join(lines)


def _when(value: Any) -> str:
    from .output import plain

    text = plain(value)
    return text[:19].replace("T", " ") if isinstance(text, str) else ""
