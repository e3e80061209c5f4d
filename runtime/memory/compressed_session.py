"""A wrapper that stores large text fields of any session compressed.

Tool outputs and long answers are where history gets big; they are strings. `CompressedSession`
replaces each string longer than `threshold` characters, wherever it sits in an item, with
`{"$agentoscope.zlib": "<base64 of zlib(utf-8)>"}` when that is actually smaller, and restores it
on the way out, so callers get back exactly what they stored. A stored dict that happens to use
one of the marker keys is wrapped as `{"$agentoscope.literal": {...}}`, so user data can never be
mistaken for a marker.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from .codec import encode_item
from .errors import CorruptRow, CorruptRowLog
from .session import Session, SessionABC, SessionSettings, TResponseInputItem

ZLIB_KEY = "$agentoscope.zlib"
LITERAL_KEY = "$agentoscope.literal"
_MARKERS = (ZLIB_KEY, LITERAL_KEY)
_MARKER_PREFIX = "$agentoscope."


class CompressedSession(SessionABC):
    """`CompressedSession(SQLiteSession(...), threshold=1024)`: same history, smaller store.

    Anything else of the wrapped session (`close()`, `get_session_stats()`, ...) is reachable
    through this object.
    """

    def __init__(
        self,
        base: Session | None = None,
        threshold: int = 1024,
        level: int | None = None,
        *,
        base_session: Session | None = None,
        compression_level: int | None = None,
    ) -> None:
        # `base_session` and `compression_level` are the seeds' names for `base` and `level`.
        if base is not None and base_session is not None:
            raise TypeError(
                "CompressedSession: pass the wrapped session once (base or base_session)"
            )
        base = base if base is not None else base_session
        if base is None:
            raise TypeError("CompressedSession needs the session to wrap (base)")
        if level is not None and compression_level is not None and level != compression_level:
            raise ValueError(
                f"CompressedSession: level={level} and compression_level={compression_level} "
                "disagree; pass one of them"
            )
        level = level if level is not None else compression_level
        level = 6 if level is None else level
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0 characters, got {threshold!r}")
        if not -1 <= level <= 9:
            raise ValueError(f"zlib level must be -1..9, got {level!r}")
        self.base = base
        self.threshold = threshold
        self.level = level
        self.compression_level = level
        self._corrupt = CorruptRowLog("CompressedSession")

    @property
    def session_id(self) -> str:  # type: ignore[override]
        return self.base.session_id

    @property
    def session_settings(self) -> SessionSettings | None:  # type: ignore[override]
        return self.base.session_settings

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks: the wrapped backend's extras.
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    # -- Session -----------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        items = await self.base.get_items(limit)
        restored = []
        for item in items:
            ok, value = self._restore(item)
            if ok:
                restored.append(value)
        return restored

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        await self.base.add_items([self.compress_item(item) for item in items])

    async def pop_item(self) -> TResponseInputItem | None:
        item = await self.base.pop_item()
        if item is None:
            return None
        ok, value = self._restore(item)
        return value if ok else item

    async def clear_session(self) -> None:
        await self.base.clear_session()

    @property
    def corrupt_rows(self) -> list[CorruptRow]:
        """Unreadable rows met by the wrapped session, then compressed fields that failed here."""
        return list(getattr(self.base, "corrupt_rows", [])) + self._corrupt.rows

    # -- the transformation ------------------------------------------------------------------

    def compress_item(self, item: TResponseInputItem) -> Any:
        """The item as stored: large strings compressed, marker-like keys escaped."""
        text = encode_item(item)  # also refuses what cannot be stored at all
        if len(text) <= self.threshold and _MARKER_PREFIX not in text:
            return item  # no string can exceed the threshold and nothing needs escaping
        return self._compress(item)

    def _compress(self, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) <= self.threshold:
                return value
            packed = base64.b64encode(zlib.compress(value.encode("utf-8"), self.level))
            return {ZLIB_KEY: packed.decode("ascii")} if len(packed) < len(value) else value
        if isinstance(value, list):
            return [self._compress(element) for element in value]
        if isinstance(value, dict):
            compressed = {key: self._compress(element) for key, element in value.items()}
            if any(marker in value for marker in _MARKERS):
                return {LITERAL_KEY: compressed}
            return compressed
        return value

    def _restore(self, item: Any) -> tuple[bool, Any]:
        try:
            return True, decompress_value(item)
        except ValueError as exc:
            row_id = item.get("id") if isinstance(item, dict) else None
            self._corrupt.report(self.session_id, row_id, str(exc), repr(item))
            return False, None


def decompress_value(value: Any) -> Any:
    """Undo `CompressedSession.compress_item`; ValueError when a compressed field is damaged."""
    if isinstance(value, list):
        return [decompress_value(element) for element in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        if ZLIB_KEY in value:
            return _inflate(value[ZLIB_KEY])
        if LITERAL_KEY in value and isinstance(value[LITERAL_KEY], dict):
            return {key: decompress_value(element) for key, element in value[LITERAL_KEY].items()}
    return {key: decompress_value(element) for key, element in value.items()}


def _inflate(packed: Any) -> str:
    if not isinstance(packed, str):
        raise ValueError(f"compressed field holds {type(packed).__name__}, expected base64 text")
    try:
        return zlib.decompress(base64.b64decode(packed, validate=True)).decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(f"compressed field cannot be restored: {exc}") from exc
