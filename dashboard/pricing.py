"""Model prices and the cost of token counts.

Prices are US dollars per million tokens. A model name matches the longest price-table prefix, so
`gpt-4o-mini-2024-07-18` costs what `gpt-4o-mini` costs, not what `gpt-4o` costs. Cached input
tokens are part of the input tokens (the OpenAI usage convention) and are billed at the cached
price instead of the input price; reasoning tokens are part of the output tokens.

The defaults (OpenAI's published list prices as of 2025) live in tracing/store/prices.py, the one
table a rollup at the default prices also reads; the dashboard lets the user edit them
(and keep their edits in a JSON file), because prices change and nobody should trust a baked-in
table with their bill.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from agentoscope.tracing.store.prices import (
    DEFAULT_PRICES,
    ModelPrice,
    match_price,
    per_token_rates,
)

PRICES_ENV = "AGENTOSCOPE_PRICES"
PRICE_COLUMNS = ("model", "input", "cached_input", "output")


def default_price_frame() -> pd.DataFrame:
    return price_frame(DEFAULT_PRICES)


def price_frame(prices: Iterable[ModelPrice]) -> pd.DataFrame:
    return pd.DataFrame([asdict(price) for price in prices], columns=list(PRICE_COLUMNS))


def prices_from_frame(frame: pd.DataFrame) -> list[ModelPrice]:
    """The rows of an edited price table that name a model; blank prices count as 0."""
    prices = []
    for row in frame.to_dict("records"):
        model = str(row.get("model") or "").strip()
        if not model or model == "nan":
            continue
        cached = _number(row.get("cached_input"))
        prices.append(
            ModelPrice(
                model=model,
                input=_number(row.get("input")) or 0.0,
                cached_input=cached,
                output=_number(row.get("output")) or 0.0,
            )
        )
    return prices


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN from an emptied cell


def token_cost(
    price: ModelPrice | None,
    input_tokens: float,
    output_tokens: float,
    cached_input_tokens: float = 0,
) -> float | None:
    """Dollars for these tokens; None when the model has no price (unknown, not free)."""
    if price is None:
        return None
    cached = min(cached_input_tokens or 0, input_tokens or 0)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    dollars = (
        ((input_tokens or 0) - cached) * price.input
        + cached * cached_rate
        + (output_tokens or 0) * price.output
    )
    return dollars / 1_000_000


def price_lists(
    models: Iterable[str | None], prices: Iterable[ModelPrice]
) -> tuple[list[str], list[float], list[float], list[float]]:
    """Per-exact-model dollar rates per token, as four parallel lists for a SQL parameter join.

    SQL can then cost any aggregate without Python loops over rows: the price table reaches the
    query as values, never as SQL text.
    """
    prices = list(prices)
    names: list[str] = []
    input_rates: list[float] = []
    cached_rates: list[float] = []
    output_rates: list[float] = []
    for model in models:
        price = match_price(model, prices)
        if model is None or price is None:
            continue
        names.append(model)
        rates = per_token_rates(price)
        input_rates.append(rates[0])
        cached_rates.append(rates[1])
        output_rates.append(rates[2])
    return names, input_rates, cached_rates, output_rates


def prices_path() -> Path:
    """Where edited prices are kept: $AGENTOSCOPE_PRICES, else ~/.config/agentoscope/prices.json."""
    configured = os.environ.get(PRICES_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "agentoscope" / "prices.json"


def load_prices(path: Path | None = None) -> list[ModelPrice]:
    """Saved prices, or the defaults when none are saved. A broken file raises ValueError."""
    path = path or prices_path()
    if not path.exists():
        return list(DEFAULT_PRICES)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
            raise ValueError("expected a JSON list of objects")
        return prices_from_frame(pd.DataFrame(rows, columns=list(PRICE_COLUMNS)))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the price table {path}: {error}") from error


def save_prices(prices: Iterable[ModelPrice], path: Path | None = None) -> Path:
    path = path or prices_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [asdict(price) for price in prices]
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
