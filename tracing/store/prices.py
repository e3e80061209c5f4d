"""The built-in model price table, in one place for every reader of it.

Prices are US dollars per million tokens; a model name matches the longest prefix in the table
(case-insensitive), so `gpt-4o-mini-2024-07-18` costs what `gpt-4o-mini` costs. The table lives
in the store package, not the dashboard, because a rollup that keeps costs at the default prices
(issue 22: the costliest traces per hour) must price spans with the same table the dashboard
starts from; the dashboard imports it from here and lets the user edit a copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1M tokens. `cached_input` None means cached tokens cost the full input price."""

    model: str
    input: float
    cached_input: float | None
    output: float


# OpenAI's published list prices as of 2025.
DEFAULT_PRICES: tuple[ModelPrice, ...] = (
    ModelPrice("gpt-5", 1.25, 0.125, 10.00),
    ModelPrice("gpt-5-mini", 0.25, 0.025, 2.00),
    ModelPrice("gpt-5-nano", 0.05, 0.005, 0.40),
    ModelPrice("gpt-4.1", 2.00, 0.50, 8.00),
    ModelPrice("gpt-4.1-mini", 0.40, 0.10, 1.60),
    ModelPrice("gpt-4.1-nano", 0.10, 0.025, 0.40),
    ModelPrice("gpt-4o", 2.50, 1.25, 10.00),
    ModelPrice("gpt-4o-mini", 0.15, 0.075, 0.60),
    ModelPrice("o1", 15.00, 7.50, 60.00),
    ModelPrice("o3", 2.00, 0.50, 8.00),
    ModelPrice("o3-mini", 1.10, 0.55, 4.40),
    ModelPrice("o4-mini", 1.10, 0.275, 4.40),
    ModelPrice("gpt-4-turbo", 10.00, None, 30.00),
    ModelPrice("gpt-3.5-turbo", 0.50, None, 1.50),
)


def match_price(model: str | None, prices: Iterable[ModelPrice]) -> ModelPrice | None:
    """The price whose model is the longest prefix of `model` (case-insensitive)."""
    if not model:
        return None
    name = model.lower()
    best: ModelPrice | None = None
    for price in prices:
        key = price.model.lower()
        if name.startswith(key) and (best is None or len(key) > len(best.model)):
            best = price
    return best


def prices_match_defaults(models: Iterable[str | None], prices: Iterable[ModelPrice]) -> bool:
    """Whether `prices` cost every one of `models` exactly as the defaults do (an edit to a
    model nobody used, or a reordered table, changes no cost). A reader of costs kept at the
    default prices may use them only then."""
    prices = list(prices)
    for model in models:
        if not model:
            continue
        mine, default = match_price(model, prices), match_price(model, DEFAULT_PRICES)
        if _rates(mine) != _rates(default):
            return False
    return True


def _rates(price: ModelPrice | None) -> tuple[float, float, float] | None:
    # The model name is not a rate: `gpt-4o` and `GPT-4o` rows with equal rates cost the same.
    return None if price is None else _per_million(price)


def _per_million(price: ModelPrice) -> tuple[float, float, float]:
    """Dollars per million input, cached input (the input rate when none is set) and output
    tokens."""
    cached = price.input if price.cached_input is None else price.cached_input
    return price.input, cached, price.output


def per_token_rates(price: ModelPrice) -> tuple[float, float, float]:
    """Dollars per input, cached input and output token (the rates SQL costs spans with; the
    trace_costs rollup and the dashboard compute them here, so both get the same numbers)."""
    input_rate, cached_rate, output_rate = _per_million(price)
    return input_rate / 1_000_000, cached_rate / 1_000_000, output_rate / 1_000_000


def default_rates_sql() -> str:
    """SQL rows (prefix, input_rate, cached_rate, output_rate) of DEFAULT_PRICES, the prefix in
    lower case, the rates as exact doubles. Changing DEFAULT_PRICES needs a migration that
    rebuilds trace_costs (its costs are at these prices)."""
    rows = []
    for price in DEFAULT_PRICES:
        rates = ", ".join(f"CAST('{rate!r}' AS DOUBLE)" for rate in per_token_rates(price))
        rows.append(f"('{price.model.lower()}', {rates})")
    return f"VALUES {', '.join(rows)}"
