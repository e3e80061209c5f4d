"""What the rollup-backed named queries stand in for: the same figures grouped from every span
of the window (the oracles the rollup tests compare with)."""

NAMED_FROM_SPANS = {
    "error_rate_per_agent_per_day": """
SELECT date_trunc('day', started_at) AS day, agent_name,
       count(*) FILTER (WHERE span_type = 'agent') AS runs,
       count(*) FILTER (WHERE span_type = 'agent' AND status = 'error') AS failed_runs,
       failed_runs / nullif(runs, 0) AS error_rate,
       count(*) FILTER (WHERE status = 'error') AS errors
FROM spans
WHERE agent_name IS NOT NULL AND (span_type = 'agent' OR status = 'error')
  AND started_at >= CAST($since AS TIMESTAMP) AND started_at < CAST($until AS TIMESTAMP)
GROUP BY ALL ORDER BY day, agent_name""",
    "tokens_per_model_per_hour": """
SELECT date_trunc('hour', started_at) AS hour, model, count(*) AS calls,
       coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
       coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
       coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens,
       coalesce(sum(cached_input_tokens), 0)::BIGINT AS cached_input_tokens,
       coalesce(sum(reasoning_tokens), 0)::BIGINT AS reasoning_tokens
FROM spans WHERE model IS NOT NULL
  AND started_at >= CAST($since AS TIMESTAMP) AND started_at < CAST($until AS TIMESTAMP)
GROUP BY ALL ORDER BY hour, model""",
    "tokens_per_agent_per_day": """
SELECT date_trunc('day', started_at) AS day, agent_name, count(*) AS calls,
       coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
       coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
       coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens
FROM spans WHERE model IS NOT NULL
  AND started_at >= CAST($since AS TIMESTAMP) AND started_at < CAST($until AS TIMESTAMP)
GROUP BY ALL ORDER BY day, agent_name NULLS LAST""",
}

# Named queries without a window (all time).
WORKFLOWS_FROM_TRACES = """
SELECT workflow_name, count(*) AS traces, max(started_at) AS last_started_at
FROM traces WHERE workflow_name IS NOT NULL GROUP BY 1 ORDER BY 3 DESC"""
