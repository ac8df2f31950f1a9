"""What a call cost: a price table in USD per million tokens, matched by model prefix.

The table holds list prices of common OpenAI and Anthropic models (checked 2026-11);
`[debug.prices]` in cairn.toml adds or overrides entries, e.g.

    [debug.prices]
    "llama3.2" = { input = 0.0, output = 0.0 }
    "gpt-4o" = { input = 2.5, output = 10.0, cache_read = 1.25 }

The local GGUF model costs nothing. A model with no entry has an unknown cost (None),
which is shown as such rather than as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float | None = None  # None: billed as input
    cache_write: float | None = None


# Longest matching prefix wins: "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini".
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.0, 0.125),
    "gpt-5-mini": Price(0.25, 2.0, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-4.1": Price(2.0, 8.0, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4o": Price(2.50, 10.0, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "o3": Price(2.0, 8.0, 0.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "claude-opus-4": Price(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4-5": Price(5.0, 25.0, 0.50, 6.25),
    "claude-sonnet-4": Price(3.0, 15.0, 0.30, 3.75),
    "claude-3-7-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-3-5-sonnet": Price(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4-5": Price(1.0, 5.0, 0.10, 1.25),
    "claude-3-5-haiku": Price(0.80, 4.0, 0.08, 1.0),
    "claude-3-haiku": Price(0.25, 1.25, 0.03, 0.30),
}


class PriceTable:
    def __init__(self, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.prices = dict(DEFAULT_PRICES)
        for model, entry in (overrides or {}).items():
            self.prices[model] = Price(
                float(entry.get("input", 0.0)),
                float(entry.get("output", 0.0)),
                None if entry.get("cache_read") is None else float(entry["cache_read"]),
                None if entry.get("cache_write") is None else float(entry["cache_write"]),
            )
        # Longest first, so the first prefix that matches is the most specific one.
        self._order = sorted(self.prices, key=len, reverse=True)

    def lookup(self, model: str) -> Price | None:
        for prefix in self._order:
            if model.startswith(prefix):
                return self.prices[prefix]
        return None

    def cost(self, provider: str, model: str, usage: Mapping[str, int]) -> float | None:
        """USD for one call's usage; None when the model's price is unknown."""
        if provider == "local":
            return 0.0
        price = self.lookup(model)
        if price is None:
            return None
        inp = int(usage.get("input_tokens", 0))
        out = int(usage.get("output_tokens", 0))
        read = int(usage.get("cache_read_tokens", 0))
        write = int(usage.get("cache_write_tokens", 0))
        if provider == "openai":
            inp -= read  # OpenAI counts cached tokens inside prompt_tokens; Anthropic apart
        total = inp * price.input + out * price.output
        total += read * (price.input if price.cache_read is None else price.cache_read)
        total += write * (price.input if price.cache_write is None else price.cache_write)
        return round(total / 1_000_000, 10)
