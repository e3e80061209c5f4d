"""Speech models: OpenAI's (on the `openai` package and its realtime transcription websocket) and
offline ones that need no key or network (PocketSphinx for speech-to-text, espeak-ng for
text-to-speech)."""
