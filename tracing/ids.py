"""Trace, span and group ids in the official SDK's formats, from a fast private random source.

`uuid4()` costs about 2 µs; a Mersenne Twister draw costs about 0.1 µs. The generator is private (a
user's `random.seed(...)` cannot make ids collide) and reseeded from the OS after `fork()`.
Digits come from `int.to_bytes(...).hex()` (fixed width, lowercase): a `:024x` format spec costs
0.37 µs on its own, more than the rest of the id.
"""

from __future__ import annotations

import os
import random

_rng = random.Random(int.from_bytes(os.urandom(16), "big"))
_bits = _rng.getrandbits
random_bits = _bits  # for spans, which spell out their ids lazily (spans.Span.span_id)


def _reseed() -> None:
    _rng.seed(int.from_bytes(os.urandom(16), "big"))


os.register_at_fork(after_in_child=_reseed)


def gen_trace_id() -> str:
    """`trace_` + 32 hex digits: the 128 bits are the OpenTelemetry trace id."""
    return "trace_" + _bits(128).to_bytes(16, "big").hex()


def gen_span_id() -> str:
    """`span_` + 24 hex digits, as the official SDK."""
    return span_id_from_bits(_bits(96))


def span_id_from_bits(bits: int) -> str:
    """The span id spelled from 96 random bits (a Span draws them and spells them lazily)."""
    return "span_" + bits.to_bytes(12, "big").hex()


def gen_group_id() -> str:
    """`group_` + 24 hex digits, as the official SDK."""
    return "group_" + _bits(96).to_bytes(12, "big").hex()
