"""Lists that take two small queries: first a page of traces (or conversations) from the traces
table, then only their spans, bounded by the page's own times. DuckDB skips row groups outside
constant time bounds (spans are stored in time order), which a single join cannot give it.
Newest-first pages are searched in growing windows before the newest trace (`newest_first`),
so page 1 reads the row groups of its own time, however many older ones there are.

`run` is how a query is executed: the pages pass `data.fetch` (timed, errors shown), the
benchmark a plain reader call, so both run exactly the same statements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from agentoscope.tracing.clock import utc_naive
from agentoscope.tracing.store.queries import (
    LIST_WINDOWS,
    SPAN_CLOCK_MARGIN,
    ListWindow,
    list_window,
)

from .queries import (
    KEY_LOOKUP_MAX,
    Prices,
    Sql,
    TraceFilters,
    Window,
    active_session_count,
    failure_start,
    member_totals,
    named,
    session_members,
    session_page,
    session_page_since,
    session_totals,
    session_turns,
    trace_count,
    trace_groups,
    trace_ids_between,
    trace_page,
    trace_totals,
    window_params,
)

Runner = Callable[[Sql], pd.DataFrame]

TOTAL_COLUMNS = ("spans", "tokens", "cost", "errors", "tripped", "first_agent", "last_error")


def newest_first(
    run: Runner, window: Window, count: Callable[[datetime], Sql], column: str, need: int
) -> ListWindow:
    """store.queries.list_window (the search the named latest_traces query makes) over the
    traces of `window`: the narrowest window before its newest trace in which `count(start)`
    (a one-row count in `column` of what a list would choose from, from `start` on) finds
    `need` rows, or the whole range."""
    ends = run(named("trace_start_range", until=window_params(window)["until"]))

    def counted(start: datetime) -> int:
        return int(run(count(start))[column].iloc[0])

    return list_window(ends["newest"].iloc[0], ends["oldest"].iloc[0], counted, need, window.start)


def trace_window(run: Runner, filters: TraceFilters, need: int) -> ListWindow:
    """Where the trace list finds its first `need` rows newest-first (`newest_first`)."""
    return newest_first(
        run,
        filters.window,
        lambda start: trace_count(narrowed(filters, start)),
        "traces",
        need,
    )


def narrowed(filters: TraceFilters, since: datetime | None) -> TraceFilters:
    """The filters over the traces of [since, the range's end): their span conditions
    (failing, one agent, tripped, the text search) read the spans of that time too, from
    SPAN_CLOCK_MARGIN before it (a trace's spans start at or after it, but another host's
    clock may run behind), so the traces this picks from that window are the same."""
    if since is None:
        return filters
    spans_from = since - SPAN_CLOCK_MARGIN
    if filters.window.start is not None:
        spans_from = max(spans_from, utc_naive(filters.window.start))
    return replace(filters, window=Window(since, filters.window.end), spans_from=spans_from)


@dataclass(frozen=True)
class TraceCount:
    """How many traces a list chooses from: `traces` exactly when `exact`, else at least that
    many (the traces since `since`; older ones were not counted)."""

    traces: int
    exact: bool
    since: datetime | None = None
    # The window search that found them, for the page (trace_rows) to read from.
    found: ListWindow | None = None


def search_count(run: Runner, filters: TraceFilters, need: int) -> TraceCount:
    """The count a text search shows: the search scans the spans of the time it reads, so
    counting every match would scan every span. Counted within the window the list reads
    for its first `need` rows (`trace_window`): exact when that is the whole range, else "at
    least N" with the moment it counts from. `trace_count` gives the exact count on request."""
    found = trace_window(run, filters, need)
    if found.since is None or found.rows is None:
        exact = int(run(trace_count(filters))["traces"].iloc[0])
        return TraceCount(exact, True, found=found)
    return TraceCount(found.rows, False, found.since, found)


def trace_rows(
    run: Runner,
    filters: TraceFilters,
    prices: Prices,
    limit: int = 50,
    offset: int = 0,
    found: ListWindow | None = None,
) -> pd.DataFrame:
    """A page of the trace list with span counts, tokens, cost, errors and trips: the page
    read from the narrowest window that holds `offset + limit` rows (`trace_window`; `found`
    when the caller searched already, for at least that many rows)."""
    if found is None or (found.rows is not None and found.rows < offset + limit):
        found = trace_window(run, filters, offset + limit)
    page = run(trace_page(narrowed(filters, found.since), limit, offset))
    if page.empty:
        return page.assign(**{column: [] for column in TOTAL_COLUMNS})
    # A running trace has no end yet: its spans may reach up to now.
    end = None if page["ended_at"].isna().any() or page["running"].any() else page["ended_at"].max()
    totals = run(trace_totals(page["trace_id"].tolist(), page["started_at"].min(), end, prices))
    rows = page.merge(totals, on="trace_id", how="left")
    rows["spans"] = rows["spans"].fillna(0).astype(int)
    rows["errors"] = rows["errors"].fillna(0).astype(int)
    rows["tripped"] = rows["tripped"].fillna(0).astype(int)
    return rows


def latest_failures(run: Runner, window: Window, limit: int = 50) -> pd.DataFrame:
    """The newest `limit` failed spans of the window (the recent_errors query), read from
    where they are (`failure_since`): a plain top-N of the failed spans reads the status of
    every span first."""
    since = failure_since(run, window, limit)
    narrowed = window if since is None else Window(since, window.end)
    return run(named("recent_errors", **window_params(narrowed), limit=limit))


def failure_since(run: Runner, window: Window, need: int) -> datetime | None:
    """The latest moment from which the window holds its newest `need` failed spans, from the
    failed spans per quarter hour of span_quarters and those after its complete_until
    (`failure_start`), reaching back over LIST_WINDOWS in turn; None: the whole window."""
    for reach in LIST_WINDOWS:
        found = run(failure_start(window, need, reach)).iloc[0]
        complete_until = found["complete_until"]
        if complete_until is None or pd.isna(complete_until):
            return None  # no rollup yet: the whole window
        since = None
        if int(found["tail"]) >= need:
            since = pd.Timestamp(complete_until).to_pydatetime()
        elif not pd.isna(found["since"]):
            since = pd.Timestamp(found["since"]).to_pydatetime()
        if since is not None:
            if window.start is not None and since <= utc_naive(window.start):
                return None
            return since
        if bool(found["reached_all"]):
            return None
    return None


def session_window(run: Runner, window: Window, search: str | None, need: int) -> ListWindow:
    """Where the conversations list finds its first `need` rows (store.queries.list_window, as
    the trace list): the narrowest window before the newest trace in which `need`
    conversations were last active, or the whole range."""
    return newest_first(
        run, window, lambda start: active_session_count(window, search, start), "sessions", need
    )


def session_rows(
    run: Runner, window: Window, search: str | None = None, limit: int = 50, offset: int = 0
) -> pd.DataFrame:
    """A page of conversations with their tokens and failed spans, most recently active first:
    picked among the conversations active in the narrowest window before the newest trace
    that holds `offset + limit` of them (`session_window`)."""
    found = session_window(run, window, search, offset + limit)
    if found.since is None:
        groups = run(session_page(window, search, limit, offset))
    else:
        groups = run(session_page_since(window, search, found.since, limit, offset))
    if groups.empty:
        return groups.assign(tokens=[], errors=[])
    totals = conversation_totals(run, groups)
    rows = groups.merge(totals, on="group_id", how="left")
    rows["errors"] = rows["errors"].fillna(0).astype(int)
    return rows


def conversation_totals(run: Runner, groups: pd.DataFrame) -> pd.DataFrame:
    """Tokens and failed spans of the conversations of a page (session_totals). The spans of
    their time name their traces; when those are few, each is looked up by key and only the
    spans are read (member_totals): reading every trace's conversation id grows with the
    traces."""
    group_ids = groups["group_id"].tolist()
    start, end = groups["first_started_at"].min(), groups["last_active_at"].max()
    trace_ids = run(trace_ids_between(start, end))["trace_id"].tolist()
    if len(trace_ids) > KEY_LOOKUP_MAX:
        return run(session_totals(group_ids, start, end))
    members = (
        run(trace_groups(trace_ids))
        if trace_ids
        else pd.DataFrame({"trace_id": [], "group_id": []})
    )
    members = members[members["group_id"].isin(group_ids)]
    return run(
        member_totals(
            group_ids, members["trace_id"].tolist(), members["group_id"].tolist(), start, end
        )
    )


def session_traces(run: Runner, group_id: str) -> pd.DataFrame:
    """One conversation's traces in order, with totals and first input / last output."""
    members = run(session_members(group_id))
    if members.empty:
        return members
    end = None if members["inferred"].any() else members["ended_at"].max()
    turns = run(session_turns(members["trace_id"].tolist(), members["started_at"].min(), end))
    rows = members.merge(turns, on="trace_id", how="left")
    rows["errors"] = rows["errors"].fillna(0).astype(int)
    return rows
