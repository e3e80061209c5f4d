"""Query results on stdout: a `rich` table on a terminal or in a file, CSV or JSON for programs."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import IO, Any

# Piped into a file or another program, a table is as wide as its content: wrapping it at an
# invented 80 columns would break the one-row-per-line shape that grep and awk rely on.
UNBOUNDED_WIDTH = 10_000


# Values this short (a time, a duration, a name) are never wrapped: two lines of a date read worse
# than a table one column narrower.
SHORT = 20


def plain(value: Any) -> Any:
    """A cell as a JSON/CSV-friendly Python value."""
    import pandas as pd

    if value is None:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays (DuckDB lists)
        return value.tolist()
    if isinstance(value, float) and value != value:  # NaN
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def console(file: IO[str] | None = None, unbounded: bool = False) -> Any:
    """A rich Console on `file` (stdout): the terminal's width on a terminal, unbounded else."""
    from rich.console import Console

    target = file or sys.stdout
    terminal = target.isatty() and not unbounded
    return Console(
        file=target,
        width=None if terminal else UNBOUNDED_WIDTH,
        highlight=False,
        soft_wrap=not terminal,
    )


def print_frame(frame: Any, output_format: str, max_width: int = 60) -> None:
    import orjson

    if output_format == "json":
        rows = [
            {str(column): plain(value) for column, value in zip(frame.columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif output_format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        print_table(frame, max_width)


def print_table(frame: Any, max_width: int = 60, keep_whole: tuple[str, ...] = ()) -> None:
    """The frame as a table, numbers right-aligned, then a row count. Columns named in
    `keep_whole` (ids a user copies) are never cut or wrapped, whatever the terminal's width."""
    out = console()
    if frame.empty:
        out.print("(no rows)" if len(frame.columns) else "(no result)")
        return
    table = table_of(frame, max_width, keep_whole)
    if narrowest(table) > out.width:
        # Fitting would break words and ids letter by letter: one row per line instead, which
        # the terminal wraps as it wraps any long line.
        out = console(unbounded=True)
    out.print(table, crop=False)
    out.print(f"({len(frame)} row{'s' if len(frame) != 1 else ''})")


def table_of(frame: Any, max_width: int = 60, keep_whole: tuple[str, ...] = ()) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "iuf"
        whole = str(column) in keep_whole
        table.add_column(
            str(column),
            justify="right" if numeric else "left",
            no_wrap=whole or numeric or _widest(frame[column]) <= SHORT,
            # A word (an id, a time) folds only when it alone is wider than the terminal.
            min_width=_widest(frame[column]) if whole else None,
            overflow="fold",
        )
    for row in frame.itertuples(index=False, name=None):
        table.add_row(*(Text(cell(value, max_width)) for value in row))
    return table


def narrowest(table: Any) -> int:
    """The table's width with every column folded between words (never inside one)."""
    widths = []
    for column in table.columns:
        texts = [str(column.header), *(str(cell) for cell in column.cells)]
        if column.no_wrap:
            widths.append(max(len(text) for text in texts))
        else:
            widths.append(max((len(word) for text in texts for word in text.split()), default=1))
    return sum(widths) + 2 * (len(widths) - 1)  # one space of padding each side, none at edges


def _widest(column: Any) -> int:
    return max((len(str(value)) for value in column), default=0)


def cell(value: Any, max_width: int = 60) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    else:
        text = str(value).replace("\n", " ")
    if len(text) > max_width > 1:
        text = text[: max_width - 1] + "…"
    return text
