"""Splitting streamed text into pieces worth speaking."""

from __future__ import annotations

import re
from collections.abc import Callable

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def get_sentence_based_splitter(min_sentence_length: int = 20) -> Callable[[str], tuple[str, str]]:
    """A splitter for `TTSModelSettings.text_splitter`: it releases the complete sentences of the
    buffer once they hold at least `min_sentence_length` characters, and keeps the rest (with its
    trailing space, so the next delta does not glue onto the last word)."""

    def split(buffer: str) -> tuple[str, str]:
        sentences = _SENTENCE_END.split(buffer.strip())
        complete = " ".join(sentences[:-1])
        if len(complete) < min_sentence_length:
            return "", buffer
        trailing = buffer[len(buffer.rstrip()) :]
        return complete, sentences[-1] + trailing

    return split
