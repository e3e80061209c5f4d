"""The audio endpoints of the fake OpenAI server: `POST /v1/audio/transcriptions` (a multipart
upload, answered with JSON `{"text": ...}`) and `POST /v1/audio/speech` (answered with the audio
as a chunked stream, as the real API does for `response_format="pcm"`).

Scripted items, queued with `server.enqueue(...)` like model replies:
- `FakeTranscription(text)`: the transcript to return.
- `FakeSpeech(duration_s=..., fail_after_bytes=None)`: `duration_s` of a 24 kHz mono PCM16 tone,
  streamed in `chunk_bytes` pieces; with `fail_after_bytes` the connection drops mid-stream.
A `FakeError` works here too.

The captured request body of a transcription is a dict of its form fields, the uploaded file's
bytes under "file".
"""

from __future__ import annotations

import email.parser
import email.policy
import math
import time
from dataclasses import dataclass
from typing import Any

SPEECH_RATE = 24_000
AUDIO_ENDPOINTS = ("/v1/audio/transcriptions", "/v1/audio/speech")


@dataclass
class FakeTranscription:
    text: str
    delay_s: float = 0.0


@dataclass
class FakeSpeech:
    duration_s: float = 0.5
    frequency_hz: float = 220.0
    chunk_bytes: int = 4096
    fail_after_bytes: int | None = None
    delay_s: float = 0.0

    def pcm(self) -> bytes:
        frames = round(self.duration_s * SPEECH_RATE)
        step = 2 * math.pi * self.frequency_hz / SPEECH_RATE
        samples = (round(8000 * math.sin(step * n)) for n in range(frames))
        return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


def parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """The fields of a multipart/form-data body; file parts as bytes."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[str(name)] = data if part.get_filename() else data.decode()
    return fields


def answer_audio(handler: Any, endpoint: str, item: Any) -> None:
    """Answer one audio request on `handler` (the server's request handler) with `item`."""
    if item.delay_s > 0:
        time.sleep(item.delay_s)
    if endpoint == "/v1/audio/transcriptions":
        if not isinstance(item, FakeTranscription):
            raise TypeError(f"expected a FakeTranscription for {endpoint}, got {item!r}")
        handler._send_json(200, {"text": item.text})
        return
    if not isinstance(item, FakeSpeech):
        raise TypeError(f"expected a FakeSpeech for {endpoint}, got {item!r}")
    pcm = item.pcm()
    limit = len(pcm) if item.fail_after_bytes is None else item.fail_after_bytes
    handler.send_response(200)
    handler.send_header("content-type", "application/octet-stream")
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()
    handler.close_connection = True
    for start in range(0, limit, item.chunk_bytes):
        chunk = pcm[start : min(start + item.chunk_bytes, limit)]
        handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        handler.wfile.flush()
    if item.fail_after_bytes is None:
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
