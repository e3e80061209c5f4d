"""Settings of a realtime session, with the SDK's names: what the model is told
(`RealtimeSessionModelSettings`), how the session runs (`RealtimeRunConfig`) and what the user
sends (`RealtimeUserInput`). All are TypedDicts, so SDK code that builds them as dicts ports as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypeAlias

from typing_extensions import TypedDict

from ..exceptions import UserError
from ..guardrail import OutputGuardrail
from ..handoffs import Handoff
from ..tool import Tool

RealtimeModelName: TypeAlias = (
    Literal[
        "gpt-realtime",
        "gpt-realtime-mini",
        "gpt-4o-realtime-preview",
        "gpt-4o-mini-realtime-preview",
    ]
    | str
)
"""A realtime model's name; any string the server accepts."""

RealtimeAudioFormat: TypeAlias = (
    Literal["pcm16", "g711_ulaw", "g711_alaw"] | str | Mapping[str, Any]
)
"""`pcm16` (24 kHz, 16-bit mono), `g711_ulaw`, `g711_alaw`, or the wire shape
`{"type": "audio/pcm", "rate": 24000}`."""

RealtimeReasoningEffort: TypeAlias = Literal["minimal", "low", "medium", "high"] | str


class RealtimeClientMessage(TypedDict):
    """A raw client event: `type` plus fields merged from `other_data`."""

    type: str
    other_data: NotRequired[dict[str, Any]]


class RealtimeInputAudioTranscriptionConfig(TypedDict):
    language: NotRequired[str]
    model: NotRequired[str]
    prompt: NotRequired[str]


class RealtimeInputAudioNoiseReductionConfig(TypedDict):
    type: NotRequired[Literal["near_field", "far_field"]]


class RealtimeTurnDetectionConfig(TypedDict):
    """Server-side voice activity detection."""

    type: NotRequired[Literal["semantic_vad", "server_vad"]]
    create_response: NotRequired[bool]
    eagerness: NotRequired[Literal["auto", "low", "medium", "high"]]
    interrupt_response: NotRequired[bool]
    """True: the server cancels its response itself when the user starts speaking."""
    prefix_padding_ms: NotRequired[int]
    silence_duration_ms: NotRequired[int]
    threshold: NotRequired[float]
    idle_timeout_ms: NotRequired[int]


class RealtimeAudioInputConfig(TypedDict, total=False):
    format: RealtimeAudioFormat
    noise_reduction: RealtimeInputAudioNoiseReductionConfig | None
    transcription: RealtimeInputAudioTranscriptionConfig
    turn_detection: RealtimeTurnDetectionConfig | None


class RealtimeAudioOutputConfig(TypedDict, total=False):
    format: RealtimeAudioFormat
    voice: str
    speed: float


class RealtimeAudioConfig(TypedDict, total=False):
    input: RealtimeAudioInputConfig
    output: RealtimeAudioOutputConfig


class RealtimeReasoningConfig(TypedDict, total=False):
    effort: RealtimeReasoningEffort


class RealtimeModelTracingConfig(TypedDict):
    """Names the session's trace: its workflow name, group id and metadata."""

    workflow_name: NotRequired[str]
    group_id: NotRequired[str]
    metadata: NotRequired[dict[str, Any]]


class RealtimeSessionModelSettings(TypedDict):
    """What the session tells the model (sent as `session.update`)."""

    model_name: NotRequired[RealtimeModelName]
    instructions: NotRequired[str]
    prompt: NotRequired[Any]
    modalities: NotRequired[list[Literal["text", "audio"]]]
    output_modalities: NotRequired[list[Literal["text", "audio"]]]
    audio: NotRequired[RealtimeAudioConfig]
    voice: NotRequired[str]
    speed: NotRequired[float]
    max_output_tokens: NotRequired[int | Literal["inf"]]
    input_audio_format: NotRequired[RealtimeAudioFormat]
    output_audio_format: NotRequired[RealtimeAudioFormat]
    input_audio_transcription: NotRequired[RealtimeInputAudioTranscriptionConfig | None]
    input_audio_noise_reduction: NotRequired[RealtimeInputAudioNoiseReductionConfig | None]
    turn_detection: NotRequired[RealtimeTurnDetectionConfig | None]
    tool_choice: NotRequired[Any]
    parallel_tool_calls: NotRequired[bool]
    reasoning: NotRequired[RealtimeReasoningConfig]
    tools: NotRequired[list[Tool]]
    handoffs: NotRequired[list[Handoff]]
    tracing: NotRequired[RealtimeModelTracingConfig | None]
    """Our local trace's workflow name, group id and metadata; None turns local tracing off."""


class RealtimeGuardrailsSettings(TypedDict):
    debounce_text_length: NotRequired[int]
    """Output guardrails run each time the streamed transcript of a message has grown by this
    many characters (default 100), on the whole transcript so far."""


class RealtimeRunConfig(TypedDict):
    """How a realtime session runs."""

    model_settings: NotRequired[RealtimeSessionModelSettings]
    output_guardrails: NotRequired[list[OutputGuardrail]]
    guardrails_settings: NotRequired[RealtimeGuardrailsSettings]
    tracing_disabled: NotRequired[bool]
    async_tool_calls: NotRequired[bool]
    """True (default): tools run in background tasks, so events keep flowing meanwhile."""
    trace_include_sensitive_data: NotRequired[bool]
    """Agentoscope: transcripts, tool inputs/outputs and response output on spans (default:
    the process-wide data policy)."""
    trace_include_sensitive_audio_data: NotRequired[bool]
    """Agentoscope: base64 audio on transcription and speech spans (default False: audio is
    large and is the user's voice)."""


class RealtimeUserInputText(TypedDict):
    type: Literal["input_text"]
    text: str


class RealtimeUserInputImage(TypedDict, total=False):
    type: Literal["input_image"]
    image_url: str
    detail: NotRequired[str]


class RealtimeUserInputMessage(TypedDict):
    type: Literal["message"]
    role: Literal["user"]
    content: list[RealtimeUserInputText | RealtimeUserInputImage]


RealtimeUserInput: TypeAlias = str | RealtimeUserInputMessage
"""What `send_message` takes: a string or a user message with text/image parts."""

_RUN_CONFIG_KEYS = frozenset(RealtimeRunConfig.__annotations__)
_MODEL_SETTINGS_KEYS = frozenset(RealtimeSessionModelSettings.__annotations__)


def check_run_config(config: Mapping[str, Any]) -> None:
    """Unknown keys are an error, not a silent no-op: the SDK's `tool_execution` and
    `tool_error_formatter` (approvals, tool guardrails) are not supported here."""
    unknown = sorted(set(config) - _RUN_CONFIG_KEYS)
    if unknown:
        raise UserError(f"RealtimeRunConfig: unsupported key(s) {', '.join(unknown)}")
    check_model_settings(config.get("model_settings") or {}, "RealtimeRunConfig.model_settings")
    debounce = (config.get("guardrails_settings") or {}).get("debounce_text_length", 100)
    if not isinstance(debounce, int) or debounce < 1:
        raise UserError(
            "RealtimeRunConfig.guardrails_settings.debounce_text_length must be an int >= 1, "
            f"got {debounce!r}"
        )


def check_model_settings(settings: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(settings) - _MODEL_SETTINGS_KEYS)
    if unknown:
        raise UserError(f"{where}: unsupported key(s) {', '.join(unknown)}")
