"""The detail panel for one span: what it was, how long it took, what went in and came out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from .controls import metric_row
from .format import count, duration, is_missing, money, parse_json, pretty, span_icon, timestamp
from .messages import conversation
from .pricing import ModelPrice, match_price, token_cost
from .span_tree import mcp_server_of
from .voice_audio import VOICE_RENDERERS

ROLE_AVATARS = {
    "user": ":material/person:",
    "assistant": ":material/smart_toy:",
    "system": ":material/settings:",
    "developer": ":material/settings:",
    "tool": ":material/build:",
    "reasoning": ":material/psychology:",
}


def _value(span: Mapping[str, Any], key: str) -> Any:
    value = span.get(key)
    return None if is_missing(value) else value


def show_span(span: Mapping[str, Any], prices: list[ModelPrice]) -> None:
    """Render `span` (one row of queries.trace_spans as a dict)."""
    span_type = str(_value(span, "span_type") or "span")
    data = parse_json(_value(span, "data"))
    data = data if isinstance(data, dict) else {}
    st.subheader(f"{span_icon(span_type)} {_value(span, 'name') or span_type}")
    st.caption(
        f"**{span_type}** span · `{span.get('span_id')}`"
        + (f" · agent **{_value(span, 'agent_name')}**" if _value(span, "agent_name") else "")
    )
    if _value(span, "status") == "error":
        _show_error(span)
    # The duration has the panel's width to itself: in a third of it, "54.5 ms" was cut.
    st.metric("Duration", duration(_value(span, "duration_ms")))
    st.caption(
        f"started {timestamp(_value(span, 'started_at'))} · "
        f"ended {timestamp(_value(span, 'ended_at'))}"
    )

    if _value(span, "input_tokens") is not None or _value(span, "output_tokens") is not None:
        _show_usage(span, prices)
    renderer = _RENDERERS.get(span_type)
    if renderer is not None:
        renderer(span, data)
    else:
        _show_other(span, data)
    metadata = parse_json(_value(span, "metadata"))
    if metadata:
        with st.expander("Metadata"):
            st.json(metadata)
    with st.expander("Raw span data (JSON)"):
        st.json(data or {})
        if _value(span, "parent_id"):
            st.caption(f"parent `{span.get('parent_id')}`")


def _show_error(span: Mapping[str, Any]) -> None:
    error_type = _value(span, "error_type") or "Error"
    message = _value(span, "error_message") or ""
    st.error(f"**{error_type}**: {message}", icon=":material/error:")
    error = parse_json(_value(span, "error"))
    details = error.get("data") if isinstance(error, dict) else None
    if details:
        with st.expander("Error data"):
            st.json(details)


def _show_usage(span: Mapping[str, Any], prices: list[ModelPrice]) -> None:
    model = _value(span, "model")
    input_tokens = _value(span, "input_tokens") or 0
    output_tokens = _value(span, "output_tokens") or 0
    cached = _value(span, "cached_input_tokens") or 0
    reasoning = _value(span, "reasoning_tokens")
    price = match_price(model, prices)
    cost = token_cost(price, input_tokens, output_tokens, cached)
    # A model's name is too long for a quarter of the panel at a metric's size: a line of its own.
    st.markdown(f"**Model** `{model or '?'}`")
    row = metric_row()
    row.metric(
        "Input tokens",
        count(input_tokens),
        help=f"{count(cached)} of them cached",
        width="content",
    )
    row.metric(
        "Output tokens",
        count(output_tokens),
        help=None if reasoning is None else f"{count(reasoning)} of them reasoning",
        width="content",
    )
    row.metric(
        "Cost",
        money(cost),
        help=f"priced as {price.model}" if price else "no price for this model (Usage & cost)",
        width="content",
    )


def _show_turns(title: str, value: Any) -> None:
    turns = conversation(value)
    if not turns:
        return
    st.markdown(f"**{title}**")
    for turn in turns:
        with st.chat_message(turn.role, avatar=ROLE_AVATARS.get(turn.role, ":material/notes:")):
            if turn.kind in ("tool_call", "json"):
                st.code(turn.text, language="json" if turn.kind == "json" else None)
            elif turn.kind == "tool_result":
                st.code(pretty(turn.text), language=None)
            else:
                st.markdown(turn.text or "*(empty)*")


def _show_model_call(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    if data.get("input") is None and data.get("output") is None:
        st.caption("Inputs and outputs were not recorded (sensitive data switched off).")
    _show_turns("Input", data.get("input"))
    _show_turns("Output", data.get("output"))
    settings = data.get("model_config")
    if settings:
        with st.expander("Model settings"):
            st.json(settings)


def _show_function(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    server = mcp_server_of(data)
    beside = f" · MCP server `{server}`" if server else ""
    st.markdown(f"**Tool** `{data.get('name') or _value(span, 'tool_name')}`{beside}")
    if data.get("call_id"):
        st.caption(f"call id `{data['call_id']}`")
    st.markdown("**Arguments**")
    st.code(pretty(data.get("input")) or "(none)", language="json", wrap_lines=True)
    st.markdown("**Result**")
    result = data.get("output")
    st.code(pretty(result) if result is not None else "(no result)", wrap_lines=True)
    if data.get("mcp_data"):
        with st.expander("MCP"):
            st.json(data["mcp_data"])


def _show_handoff(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    source, target = data.get("from_agent") or "?", data.get("to_agent") or "?"
    st.markdown(f"### {source} → {target}")
    st.caption("The conversation was handed from one agent to the other.")


def _show_guardrail(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    where = f" ({data['source']})" if data.get("source") else ""
    if data.get("triggered"):
        st.warning(f"Guardrail **{data.get('name')}**{where} **tripped**: the run was stopped.")
    else:
        st.success(f"Guardrail **{data.get('name')}**{where} passed.")


def _show_agent(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    tools, handoffs = data.get("tools") or [], data.get("handoffs") or []
    st.markdown(f"**Tools:** {', '.join(f'`{t}`' for t in tools) if tools else 'none'}")
    st.markdown(f"**Can hand off to:** {', '.join(handoffs) if handoffs else 'nobody'}")
    if data.get("output_type"):
        st.markdown(f"**Output type:** `{data['output_type']}`")


def _show_other(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    shown = {key: value for key, value in data.items() if key not in ("type",)}
    if shown:
        st.json(shown)


_RENDERERS = {
    "generation": _show_model_call,
    "response": _show_model_call,
    "function": _show_function,
    "handoff": _show_handoff,
    "guardrail": _show_guardrail,
    "agent": _show_agent,
    **VOICE_RENDERERS,
}
