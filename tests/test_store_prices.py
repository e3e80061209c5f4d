"""The one default price table, and when a page's prices cost like it."""

from __future__ import annotations

from dataclasses import replace

from agentoscope.dashboard import pricing
from agentoscope.tracing.store import DEFAULT_PRICES, ModelPrice, prices_match_defaults

MODELS = ["gpt-4o-2024-08-06", "gpt-4o-mini", "mystery-model", None]


def test_the_dashboard_starts_from_the_store_table() -> None:
    assert pricing.DEFAULT_PRICES is DEFAULT_PRICES
    assert pricing.price_frame(DEFAULT_PRICES)["model"].tolist()[0] == DEFAULT_PRICES[0].model


def test_unedited_or_reordered_prices_match_the_defaults() -> None:
    assert prices_match_defaults(MODELS, DEFAULT_PRICES)
    assert prices_match_defaults(MODELS, list(reversed(DEFAULT_PRICES)))


def test_an_edit_to_a_model_in_use_does_not_match() -> None:
    edited = [replace(p, input=p.input * 2) if p.model == "gpt-4o" else p for p in DEFAULT_PRICES]
    assert not prices_match_defaults(MODELS, edited)


def test_an_edit_to_a_model_nobody_used_still_matches() -> None:
    edited = [replace(p, output=99.0) if p.model == "o1" else p for p in DEFAULT_PRICES]
    assert prices_match_defaults(MODELS, edited)


def test_pricing_a_model_the_defaults_leave_unpriced_does_not_match() -> None:
    added = [*DEFAULT_PRICES, ModelPrice("mystery", 1.0, None, 2.0)]
    assert not prices_match_defaults(MODELS, added)
    assert prices_match_defaults(["gpt-4o"], added)
