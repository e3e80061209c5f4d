"""A finished span of ours as one plain tuple: the form in which batching processors queue it.

Why a tuple: in a busy process the agent's thread makes spans faster than the workers (which
share the GIL with it) can drain them, and the queues hold 100k spans and more. A queued `Span`
and its span data are objects the garbage collector tracks: they survive into the oldest
generation, their number sets off full collections, and each full collection walks them all on
whichever thread happens to allocate, the agent's included (40 ms for 100k queued spans here).
A tuple holding only strings, numbers and None is untracked by the collector's next young pass
(CPython does this for exact tuples), so what waits costs the collections nothing. Span data
that holds containers (message lists, dicts) keeps its tuple tracked: correct, only not cheaper.

Batching processors queue the tuple of every finished span, made once on the agent's thread for
all of them (`processors.batching.SpanFanOut`, ~0.1 µs). The tuple names the span data's class
by a string (a class object would keep it tracked) and holds the values of its slots; `restore`
rebuilds an equivalent span for `records.span_record`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import span_data as span_data_module
from .ids import span_id_from_bits
from .span_data import SpanData

# The span's own fields, then the span data's class name, then the values of its slots.
_SPAN_FIELDS = (
    "trace_id",
    "_span_id",
    "_id_bits",
    "parent_id",
    "_start_ns",
    "_end_ns",
    "agent_name",
    "error",
    "span_data.__class__.__name__",  # as a constant in the tuple, see `_freezer`
)
TRACE_ID, SPAN_ID, ID_BITS, PARENT_ID, START, END, AGENT, ERROR, KIND = range(len(_SPAN_FIELDS))
VALUES = len(_SPAN_FIELDS)

# Our span data classes by name (with their slots), and per class one function that makes the
# tuple: a flat tuple, because a nested one is untracked only a collection later than the tuple
# holding it. The functions are written out per class from its slots (as `namedtuple` and
# `dataclasses` write theirs): a plain tuple display of attribute reads costs ~100 ns on the
# agent's thread, `operator.attrgetter` with dotted paths ~190 ns.
_CLASSES: dict[str, tuple[type[SpanData], tuple[str, ...]]] = {}
FREEZERS: dict[type[SpanData], Callable[[Any], tuple[Any, ...]]] = {}


def _freezer(cls: type[SpanData], slots: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    own = ", ".join(f"span.{name}" for name in _SPAN_FIELDS[:KIND])
    data = "".join(f", data.{name}" for name in slots)
    source = (
        f"def freeze(span):\n    data = span.span_data\n"
        f"    return ({own}, {cls.__name__!r}{data})\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<freeze {cls.__name__}>", "exec"), namespace)
    function: Callable[[Any], tuple[Any, ...]] = namespace["freeze"]
    return function


for _cls in vars(span_data_module).values():
    if isinstance(_cls, type) and issubclass(_cls, SpanData) and _cls is not SpanData:
        _slots: tuple[str, ...] = _cls.__slots__
        if _cls.__bases__ != (SpanData,) or "__dict__" in _slots:
            continue  # every attribute must be in the tuple: only direct, fully slotted classes
        if not all(name.isidentifier() for name in _slots):
            continue
        _CLASSES[_cls.__name__] = (_cls, _slots)
        FREEZERS[_cls] = _freezer(_cls, _slots)


def freeze(span: Any) -> tuple[Any, ...] | None:
    """The finished `span` as a tuple, or None when its span data is not one of our classes
    (the span is then queued as it is)."""
    make = FREEZERS.get(span.span_data.__class__)
    return None if make is None else make(span)


class FinishedSpan:
    """What `restore` gives: the attributes of a finished span that `span_record` reads."""

    __slots__ = (
        "agent_name",
        "ended_at_ns",
        "error",
        "parent_id",
        "span_data",
        "span_id",
        "started_at_ns",
        "trace_id",
    )


# Per class name, the function that rebuilds a span from its tuple, written out as `_freezer`'s
# are (the generic loop of `setattr`s took ~0.9 µs a span of the worker's ~4 µs per record).
_RESTORERS: dict[str, Callable[[tuple[Any, ...]], FinishedSpan]] = {}


def _restorer(cls: type[SpanData], slots: tuple[str, ...]) -> Callable[[Any], FinishedSpan]:
    data = "".join(f"    data.{name} = item[{VALUES + i}]\n" for i, name in enumerate(slots))
    source = (
        "def restore(item):\n"
        "    data = new(cls)\n"
        f"{data}"
        "    span = new(FinishedSpan)\n"
        f"    span.trace_id = item[{TRACE_ID}]\n"
        f"    span_id = item[{SPAN_ID}]\n"
        f"    span.span_id = span_id if span_id is not None else spell(item[{ID_BITS}])\n"
        f"    span.parent_id = item[{PARENT_ID}]\n"
        f"    span.started_at_ns = item[{START}]\n"
        f"    span.ended_at_ns = item[{END}]\n"
        f"    span.agent_name = item[{AGENT}]\n"
        f"    span.error = item[{ERROR}]\n"
        "    span.span_data = data\n"
        "    return span\n"
    )
    namespace: dict[str, Any] = {
        "new": object.__new__,
        "cls": cls,
        "FinishedSpan": FinishedSpan,
        "spell": span_id_from_bits,
    }
    exec(compile(source, f"<restore {cls.__name__}>", "exec"), namespace)
    function: Callable[[Any], FinishedSpan] = namespace["restore"]
    return function


for _name, (_cls, _slots) in _CLASSES.items():
    _RESTORERS[_name] = _restorer(_cls, _slots)

# Per class name, how many values its tuple holds: what reads tuples laid end to end in one
# flat tuple (`processors.batching.SpanFanOut`) steps by.
LENGTHS: dict[str, int] = {name: VALUES + len(slots) for name, (_cls, slots) in _CLASSES.items()}


def restore(item: tuple[Any, ...]) -> FinishedSpan:
    """The span a `freeze` tuple was made from, as far as its record needs."""
    return _RESTORERS[item[KIND]](item)
