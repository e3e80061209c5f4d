"""`PocketSphinxSTTModel`: offline speech-to-text on CMU PocketSphinx, whose US English model
ships inside the `pocketsphinx` wheel: no key, no network, no download.

PocketSphinx's general language model garbles conversational speech ("what is the weather in
paris today" comes back as "well it's not whether we today"). Give it the phrases you expect
(`phrases=[...]`, or a JSGF grammar of your own with `grammar=...`) and it picks the one spoken,
exactly and in a few milliseconds: the way to use it for commands, menus and demos.

It has no turn detection of its own: `VoicePipeline` finds the turns of streamed audio by silence.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any

from ...exceptions import UserError
from ..audio import to_pcm16_mono
from ..exceptions import VoiceModelError
from ..input import AudioInput, StreamedAudioInput
from ..model import StreamedTranscriptionSession, STTModel, STTModelSettings
from ..silence import SilenceTurnSession, silence_settings
from .utterance_span import utterance_span

MODEL_RATE = 16_000
_ENGLISH = frozenset({"en", "en-us", "en_us", "english"})
_NOT_WORD = re.compile(r"[^a-z' ]+")


def _phrase_words(phrase: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", phrase.lower()).split())


class PocketSphinxSTTModel(STTModel):
    detects_turns = False

    def __init__(
        self,
        phrases: Sequence[str] | None = None,
        *,
        grammar: str | None = None,
        model_name: str = "pocketsphinx-en-us",
    ) -> None:
        """`phrases`: the utterances to expect (punctuation and case are ignored; every word
        must be in the model's dictionary). `grammar`: a JSGF grammar instead. Neither: the
        general English model (free dictation, often wrong)."""
        if phrases is not None and grammar is not None:
            raise UserError("PocketSphinxSTTModel takes phrases or grammar, not both")
        if phrases is not None and not [p for p in phrases if _phrase_words(p)]:
            raise UserError("PocketSphinxSTTModel.phrases has no words")
        self._phrases = [w for w in (_phrase_words(p) for p in phrases or ()) if w]
        self._grammar = grammar
        self._model_name = model_name
        self._decoder: Any = None
        self._searches: set[str] = set()
        self._lock = threading.Lock()  # one decoder, used from worker threads

    @property
    def model_name(self) -> str:
        return self._model_name

    # --- the decoder -----------------------------------------------------------------------

    def _get_decoder(self) -> Any:
        if self._decoder is None:
            try:
                from pocketsphinx import Decoder
            except ImportError as error:
                raise UserError(
                    "PocketSphinxSTTModel needs the pocketsphinx package: "
                    "pip install 'agentoscope[voice]'"
                ) from error
            # bestpath=False keeps the grammar search's own result: the lattice rescoring
            # drops the last words of longer phrases.
            self._decoder = Decoder(samprate=MODEL_RATE, loglevel="FATAL", bestpath=False)
        return self._decoder

    def _search_for(self, decoder: Any, keywords: list[str] | None) -> str | None:
        """The named search to activate (None: the general language model)."""
        phrases = self._phrases + [w for w in (_phrase_words(k) for k in keywords or ()) if w]
        if self._grammar is None and not phrases:
            return None
        if self._grammar is not None and not keywords:
            grammar = self._grammar
        elif self._grammar is not None:
            raise UserError(
                "STTModelSettings.keywords cannot be added to PocketSphinxSTTModel's own JSGF "
                "grammar; put them in the grammar or use phrases=..."
            )
        else:
            unknown = sorted(
                {w for p in phrases for w in p.split() if decoder.lookup_word(w) is None}
            )
            if unknown:
                raise UserError(
                    f"PocketSphinxSTTModel: words not in the model's dictionary: {unknown}"
                )
            alternatives = " | ".join(dict.fromkeys(phrases))
            grammar = f"#JSGF V1.0;\ngrammar phrases;\npublic <phrase> = {alternatives};\n"
        name = "g" + hashlib.sha1(grammar.encode()).hexdigest()[:12]
        if name not in self._searches:
            try:
                decoder.add_jsgf_string(name, grammar)
            except RuntimeError as error:
                raise UserError(f"PocketSphinxSTTModel: invalid JSGF grammar: {error}") from error
            self._searches.add(name)
        return name

    def _decode(self, pcm: bytes, keywords: list[str] | None) -> str:
        with self._lock:
            decoder = self._get_decoder()
            search = self._search_for(decoder, keywords)
            decoder.activate_search(search)  # None: the default language model
            try:
                decoder.start_utt()
                decoder.process_raw(pcm, full_utt=True)
                decoder.end_utt()
            except RuntimeError as error:
                raise VoiceModelError(
                    f"PocketSphinx could not decode the audio: {error}"
                ) from error
            hypothesis = decoder.hyp()
            return hypothesis.hypstr if hypothesis is not None else ""

    # --- STTModel --------------------------------------------------------------------------

    @staticmethod
    def _check(settings: STTModelSettings) -> None:
        for language in [settings.language, *(settings.languages or [])]:
            if language is not None and language.lower() not in _ENGLISH:
                raise UserError(
                    f"PocketSphinxSTTModel ships an English model only; language {language!r} "
                    "(STTModelSettings.language/languages) is not available"
                )
        if settings.prompt is not None:
            raise UserError("PocketSphinxSTTModel takes no STTModelSettings.prompt (use phrases)")
        if settings.temperature is not None:
            raise UserError("PocketSphinxSTTModel takes no STTModelSettings.temperature")

    async def transcribe(
        self,
        input: AudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> str:
        self._check(settings)
        if input.frames == 0:
            raise UserError("AudioInput.buffer is empty: there is no speech to transcribe")
        mode = (
            "grammar"
            if self._grammar
            else "phrases"
            if self._phrases or settings.keywords
            else "free"
        )
        with utterance_span(
            self._model_name,
            input,
            {"language": "en-us", "search": mode, "sample_rate": MODEL_RATE},
            trace_include_sensitive_audio_data,
        ) as span:
            pcm = to_pcm16_mono(input.buffer, input.frame_rate, input.channels, MODEL_RATE)
            text = await asyncio.to_thread(
                self._decode, pcm.astype("<i2").tobytes(), settings.keywords
            )
            if trace_include_sensitive_data:
                span.span_data.output = text
            return text

    async def create_session(
        self,
        input: StreamedAudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> StreamedTranscriptionSession:
        self._check(settings)
        threshold, duration = silence_settings(settings.turn_detection)
        return SilenceTurnSession(
            self,
            input,
            settings,
            trace_include_sensitive_data,
            trace_include_sensitive_audio_data,
            threshold=threshold,
            silence_duration_ms=duration,
        )
