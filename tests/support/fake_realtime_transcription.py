"""A local websocket server speaking OpenAI's realtime transcription protocol, for the real
streamed `OpenAISTTModel` session: `ws://127.0.0.1:<port>/v1/realtime?intent=transcription`.

It sends `session.created`, answers `session.update` with `session.updated`, takes
`input_audio_buffer.append` audio (base64 24 kHz PCM16) and runs its own VAD: a turn is speech
followed by `vad_silence_ms` of silence (20 ms frames, RMS over `threshold`). Each turn is
committed (`input_audio_buffer.committed`) and answered with the next scripted transcript
(`conversation.item.input_audio_transcription.completed`), or `...failed` for the turn numbers in
`fail_turns`. `input_audio_buffer.commit` commits what is left (or answers the
`input_audio_buffer_commit_empty` error), `input_audio_buffer.clear` answers `...cleared`.

    async with FakeTranscriptionServer(["hello there", "bye"]) as server:
        client = AsyncOpenAI(api_key="test-key", base_url=server.base_url)
        # or, with the HTTP API elsewhere: AsyncOpenAI(..., websocket_base_url=...)
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve

FRAME = 480  # 20 ms at 24 kHz


class FakeTranscriptionServer:
    def __init__(
        self,
        transcripts: list[str],
        *,
        fail_turns: frozenset[int] = frozenset(),
        vad_silence_ms: int = 300,
        threshold: float = 0.01,
        refuse_session: bool = False,
    ) -> None:
        self.transcripts = list(transcripts)
        self.fail_turns = fail_turns
        self.vad_frames = vad_silence_ms // 20
        self.threshold = threshold
        self.refuse_session = refuse_session
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.sessions: list[dict[str, Any]] = []
        self.received: list[str] = []
        self.appended_samples = 0
        self._server: Server | None = None
        self._turns = 0

    async def __aenter__(self) -> FakeTranscriptionServer:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    @property
    def websocket_base_url(self) -> str:
        """For `AsyncOpenAI(websocket_base_url=...)`, next to an HTTP `base_url` elsewhere."""
        return self.base_url.replace("http://", "ws://")

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        await ws.send(json.dumps({"type": "session.created", "session": {}}))
        buffer: list[np.ndarray] = []
        partial = np.zeros(0, dtype=np.float32)
        speaking, silent = False, 0
        async for message in ws:
            event = json.loads(message)
            kind = event["type"]
            self.received.append(kind)
            if kind == "session.update":
                if self.refuse_session:
                    error = {"type": "invalid_request_error", "message": "bad session"}
                    await ws.send(json.dumps({"type": "error", "error": error}))
                    continue
                self.sessions.append(event["session"])
                await ws.send(json.dumps({"type": "session.updated", "session": event["session"]}))
            elif kind == "input_audio_buffer.append":
                pcm = np.frombuffer(base64.b64decode(event["audio"]), dtype="<i2")
                self.appended_samples += pcm.size
                buffer.append(pcm)
                data = np.concatenate([partial, pcm.astype(np.float32) / 32767])
                whole = data.size - data.size % FRAME
                partial = data[whole:]
                first = self.appended_samples - pcm.size - (data.size - pcm.size)
                for start in range(0, whole, FRAME):
                    frame = data[start : start + FRAME]
                    loud = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) >= self.threshold
                    at_ms = (first + start) * 1000 // 24_000
                    if loud and not speaking:
                        await self._send(ws, "input_audio_buffer.speech_started", at_ms)
                    if loud:
                        speaking, silent = True, 0
                    elif speaking:
                        silent += 1
                        if silent >= self.vad_frames:
                            await self._send(ws, "input_audio_buffer.speech_stopped", at_ms)
                            await self._commit(ws)
                            buffer, speaking, silent = [], False, 0
            elif kind == "input_audio_buffer.commit":
                if speaking:
                    await self._commit(ws)
                    buffer, speaking, silent = [], False, 0
                else:
                    error = {
                        "type": "invalid_request_error",
                        "code": "input_audio_buffer_commit_empty",
                        "event_id": event.get("event_id"),
                    }
                    await ws.send(json.dumps({"type": "error", "error": error}))
            elif kind == "input_audio_buffer.clear":
                buffer, partial, speaking, silent = [], np.zeros(0, dtype=np.float32), False, 0
                await ws.send(json.dumps({"type": "input_audio_buffer.cleared"}))

    async def _send(self, ws: ServerConnection, kind: str, at_ms: int) -> None:
        """speech_started / speech_stopped, with the offset in the session's audio."""
        key = "audio_start_ms" if kind.endswith("started") else "audio_end_ms"
        await ws.send(json.dumps({"type": kind, key: at_ms, "item_id": f"item_{self._turns}"}))

    async def _commit(self, ws: ServerConnection) -> None:
        turn = self._turns
        self._turns += 1
        item_id = f"item_{turn}"
        await ws.send(json.dumps({"type": "input_audio_buffer.committed", "item_id": item_id}))
        if turn in self.fail_turns:
            failed = {
                "type": "conversation.item.input_audio_transcription.failed",
                "item_id": item_id,
                "error": {"message": "audio unintelligible"},
            }
            await ws.send(json.dumps(failed))
            return
        transcript = self.transcripts[turn] if turn < len(self.transcripts) else ""
        completed = {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id,
            "transcript": transcript,
        }
        await ws.send(json.dumps(completed))
