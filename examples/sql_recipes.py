"""SQL recipes over the store: cost per agent, slowest tools, handoff paths, guardrail trip rate.

    agentoscope demo --no-dashboard          # makes .agentoscope/traces.duckdb
    python examples/sql_recipes.py [--store PATH | --server URL]

Each recipe is plain SQL over the documented tables and views, so the same text works in
`agentoscope sql "..."`, the dashboard's SQL page, pandas, or the `duckdb` CLI.
"""

from __future__ import annotations

import argparse

import pandas as pd

RECIPES: dict[str, str] = {
    "Cost per agent (USD; prices per 1M tokens, cached input at the cached price)": """
        WITH prices(model, input_usd, cached_usd, output_usd) AS (VALUES
            ('gpt-4.1', 2.00, 0.50, 8.00),
            ('gpt-4.1-mini', 0.40, 0.10, 1.60),
            ('gpt-4o-mini', 0.15, 0.075, 0.60))
        SELECT s.agent_name,
               count(*) AS model_calls,
               sum(s.input_tokens) AS input_tokens,
               sum(s.output_tokens) AS output_tokens,
               round(sum(((s.input_tokens - coalesce(s.cached_input_tokens, 0)) * p.input_usd
                          + coalesce(s.cached_input_tokens, 0) * p.cached_usd
                          + s.output_tokens * p.output_usd) / 1e6), 6) AS cost_usd
        FROM spans s JOIN prices p USING (model)
        WHERE s.span_type IN ('generation', 'response')
        GROUP BY ALL ORDER BY cost_usd DESC
    """,
    "Slowest tools (p50/p95 ms, error rate)": """
        SELECT tool_name,
               count(*) AS calls,
               round(quantile_cont(duration_ms, 0.5), 1) AS p50_ms,
               round(quantile_cont(duration_ms, 0.95), 1) AS p95_ms,
               round(avg(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 3) AS error_rate
        FROM spans WHERE span_type = 'function'
        GROUP BY ALL ORDER BY p95_ms DESC
    """,
    "Handoff paths": """
        SELECT json_extract_string(data, '$.from_agent') AS from_agent,
               json_extract_string(data, '$.to_agent') AS to_agent,
               count(*) AS handoffs
        FROM spans WHERE span_type = 'handoff'
        GROUP BY ALL ORDER BY handoffs DESC
    """,
    "Guardrail trip rate": """
        SELECT name AS guardrail,
               count(*) AS checks,
               count(*) FILTER (WHERE json_extract(data, '$.triggered')::BOOLEAN) AS trips,
               round(trips / checks, 3) AS trip_rate
        FROM spans WHERE span_type = 'guardrail'
        GROUP BY ALL ORDER BY trip_rate DESC
    """,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--store", help="store file (default: as `agentoscope sql`)")
    source.add_argument("--server", help="an `agentoscope serve` URL")
    args = parser.parse_args()

    if args.server:
        from agentoscope.tracing.store.client import StoreClient

        reader = StoreClient(args.server)
    else:
        from agentoscope.tracing import SpanStore

        reader = SpanStore(args.store, read_only=True)

    pd.set_option("display.width", 120)
    for title, sql in RECIPES.items():
        print(f"\n== {title}\n")
        print(reader.query(sql).to_string(index=False))


if __name__ == "__main__":
    main()
