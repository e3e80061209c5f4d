"""The `session.update` the OpenAI Realtime API (GA protocol) expects, built from the session's
model settings: instructions, audio formats, transcription, turn detection, voice, tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import UserError
from ..handoffs import Handoff
from ..tool import FunctionTool
from .audio import wire_format
from .config import RealtimeSessionModelSettings

DEFAULT_REALTIME_MODEL = "gpt-realtime"

DEFAULT_MODEL_SETTINGS: RealtimeSessionModelSettings = {
    "voice": "ash",
    "modalities": ["audio"],
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
    "turn_detection": {"type": "semantic_vad", "interrupt_response": True},
}

_CAMEL_TURN_KEYS = {
    "createResponse": "create_response",
    "interruptResponse": "interrupt_response",
    "prefixPaddingMs": "prefix_padding_ms",
    "silenceDurationMs": "silence_duration_ms",
    "idleTimeoutMs": "idle_timeout_ms",
}


def _setting(
    settings: Mapping[str, Any], nested: Mapping[str, Any], nested_key: str, flat_key: str
) -> tuple[bool, Any]:
    """(present, value): the nested `audio.*` key wins over the flat legacy key, which wins
    over the default."""
    if nested_key in nested:
        return True, nested[nested_key]
    if flat_key in settings:
        return True, settings[flat_key]
    if flat_key in DEFAULT_MODEL_SETTINGS:
        return True, DEFAULT_MODEL_SETTINGS[flat_key]  # type: ignore[literal-required]
    return False, None


def _turn_detection(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    result = {_CAMEL_TURN_KEYS.get(key, key): item for key, item in value.items()}
    return result


def check_tools(tools: list[Any], handoffs: list[Handoff]) -> None:
    """Only function tools (a realtime model runs no hosted tools), every name once."""
    names: set[str] = set()
    for name in [getattr(t, "name", t) for t in tools] + [h.tool_name for h in handoffs]:
        if name in names:
            raise UserError(f"Realtime tool name {name!r} is used twice")
        names.add(name)
    for tool in tools:
        if not isinstance(tool, FunctionTool):
            raise UserError(
                f"Realtime agents support function tools only; {getattr(tool, 'name', tool)!r} "
                "is not one"
            )
        # Settings a realtime session cannot honour are errors, not silently skipped checks.
        for setting in ("needs_approval", "tool_input_guardrails", "tool_output_guardrails"):
            if getattr(tool, setting, None):
                raise UserError(
                    f"Realtime tool {tool.name!r}: {setting} is not supported in realtime sessions"
                )
    for handoff in handoffs:
        if handoff.input_filter is not None or handoff.nest_handoff_history:
            raise UserError(
                f"Realtime handoff {handoff.tool_name!r}: input filters and nested history do "
                "not apply (the server keeps one conversation)"
            )


def _function(name: str, description: str | None, parameters: Any) -> dict[str, Any]:
    return {"type": "function", "name": name, "description": description, "parameters": parameters}


def session_tools(tools: list[Any], handoffs: list[Handoff]) -> list[dict[str, Any]]:
    """Function tools and handoffs (both as functions the model may call) as the session's
    `tools`; disabled ones are left out."""
    check_tools(tools, handoffs)
    return [
        _function(tool.name, tool.description, tool.params_json_schema)
        for tool in tools
        if tool.is_enabled is not False
    ] + [
        _function(handoff.tool_name, handoff.tool_description, handoff.input_json_schema)
        for handoff in handoffs
        if handoff.is_enabled is not False
    ]


def session_config(settings: RealtimeSessionModelSettings, default_model: str) -> dict[str, Any]:
    """The `session` object of a session.update."""
    audio = settings.get("audio") or {}
    audio_in: Mapping[str, Any] = audio.get("input") or {}
    audio_out: Mapping[str, Any] = audio.get("output") or {}

    input_args: dict[str, Any] = {}
    present, value = _setting(settings, audio_in, "format", "input_audio_format")
    if present and value is not None:
        input_args["format"] = wire_format(value)
    present, value = _setting(settings, audio_in, "noise_reduction", "input_audio_noise_reduction")
    if present:
        input_args["noise_reduction"] = value
    present, value = _setting(settings, audio_in, "transcription", "input_audio_transcription")
    if present:
        input_args["transcription"] = value
    present, value = _setting(settings, audio_in, "turn_detection", "turn_detection")
    if present:
        input_args["turn_detection"] = _turn_detection(value)

    output_args: dict[str, Any] = {}
    present, value = _setting(settings, audio_out, "voice", "voice")
    if present and value is not None:
        output_args["voice"] = value
    present, value = _setting(settings, audio_out, "format", "output_audio_format")
    if present and value is not None:
        output_args["format"] = wire_format(value)
    present, value = _setting(settings, audio_out, "speed", "speed")
    if present and value is not None:
        output_args["speed"] = value

    session: dict[str, Any] = {
        "type": "realtime",
        "model": settings.get("model_name") or default_model,
        "output_modalities": settings.get("output_modalities")
        or settings.get("modalities")
        or DEFAULT_MODEL_SETTINGS["modalities"],
        "audio": {"input": input_args, "output": output_args},
        "tools": session_tools(settings.get("tools") or [], settings.get("handoffs") or []),
    }
    for key in ("instructions", "max_output_tokens", "tool_choice", "parallel_tool_calls"):
        if key in settings:
            session[key] = settings[key]
    if settings.get("reasoning") is not None:
        session["reasoning"] = settings["reasoning"]
    prompt = settings.get("prompt")
    if prompt is not None:
        session["prompt"] = dict(prompt) if isinstance(prompt, Mapping) else prompt
    return session


def interrupts_by_itself(session: Mapping[str, Any] | None) -> bool:
    """True when the server cancels its own response as the user starts speaking."""
    if not session:
        return False
    audio = session.get("audio") or {}
    turn_detection = (audio.get("input") or {}).get("turn_detection") or {}
    return bool(turn_detection.get("interrupt_response"))


def output_audio_format(session: Mapping[str, Any] | None) -> Any:
    if not session:
        return None
    return ((session.get("audio") or {}).get("output") or {}).get("format")
