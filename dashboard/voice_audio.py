"""Voice spans in the span detail panel: what was heard or said, and an audio player.

Audio in `transcription` and `speech` spans is base64 of 24 kHz mono PCM16 (the official SDK's
"pcm", and ours). It is there only when the run kept sensitive audio, and it may have been cut
by its own limit (`AGENTOSCOPE_MAX_AUDIO_CHARS`): the part that is there still plays,
with a note saying so.
"""

from __future__ import annotations

import base64
import binascii
import io
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

PCM_RATE = 24_000
_TRUNCATED = "…[truncated"


@dataclass(frozen=True)
class SpanAudio:
    wav: bytes
    seconds: float
    truncated: bool


def span_audio(data: Mapping[str, Any]) -> SpanAudio | None:
    """The playable audio of a voice span's data, as WAV, or None when none was kept."""
    kind = data.get("type")
    field = data.get("input") if kind == "transcription" else data.get("output")
    if not isinstance(field, Mapping) or not isinstance(field.get("data"), str):
        return None
    encoded: str = field["data"]
    if not encoded or str(field.get("format") or "pcm").lower() not in ("pcm", "pcm16"):
        return None
    truncated = _TRUNCATED in encoded
    if truncated:
        encoded = encoded.split(_TRUNCATED, 1)[0]
    encoded = encoded[: len(encoded) - len(encoded) % 4]
    try:
        pcm = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    if not pcm:
        return None
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(PCM_RATE)
        wav.writeframes(pcm)
    return SpanAudio(out.getvalue(), len(pcm) / 2 / PCM_RATE, truncated)


def _player(data: Mapping[str, Any]) -> None:
    audio = span_audio(data)
    if audio is None:
        st.caption("No audio kept (trace_include_sensitive_audio_data was off).")
        return
    st.audio(audio.wav, format="audio/wav")
    if audio.truncated:
        st.caption(
            f"Only the first {audio.seconds:.1f} s were stored: the audio limit "
            "(AGENTOSCOPE_MAX_AUDIO_CHARS) cut the rest."
        )


def _settings(data: Mapping[str, Any]) -> None:
    config = data.get("model_config")
    if isinstance(config, Mapping) and config:
        with st.expander("Model settings"):
            st.json(dict(config))


def _quote(label: str, text: Any) -> None:
    """A bold label over the text quoted, or a note that the trace did not keep it."""
    st.markdown(f"**{label}**")
    st.markdown(f"> {text}" if text else "*(not recorded)*")


def show_transcription(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    st.markdown(f"**Model** `{data.get('model') or '?'}`")
    _quote("Heard", data.get("output"))
    _player(data)
    _settings(data)


def show_speech(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    st.markdown(f"**Model** `{data.get('model') or '?'}`")
    config = data.get("model_config") if isinstance(data.get("model_config"), Mapping) else {}
    first_audio = (config or {}).get("time_to_first_audio_ms")
    if first_audio is not None:
        st.caption(f"first audio after {first_audio} ms")
    _quote("Said", data.get("input"))
    _player(data)
    _settings(data)


def show_speech_group(span: Mapping[str, Any], data: dict[str, Any]) -> None:
    _quote("The spoken answer of this turn", data.get("input"))
    st.caption("Its speech spans below hold the audio, piece by piece.")


VOICE_RENDERERS: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], None]] = {
    "transcription": show_transcription,
    "speech": show_speech,
    "speech_group": show_speech_group,
}
