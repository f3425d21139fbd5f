"""How a catalogue changes from one generation to the next: delistings, new products, price and stock moves.

Generation 0 lists products ``0 .. size-1``. Each later generation, drawn from a seeded stream of its
own, delists about 2 % of the listed products (for good), appends about 2 % new ones at the end of
the universe, moves about 5 % of the listed prices and changes about 10 % of the listed stock.
With ``changes="prices"`` a generation only moves prices (benchmarks of a price-only re-sync).
States are cached, so generation ``g + 1`` is built from ``g`` rather than from scratch.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from .hashing import Draws

DELIST_SHARE = 0.02
ADD_SHARE = 0.02
PRICE_MOVE_SHARE = 0.05
STOCK_CHANGE_SHARE = 0.10
CHANGE_PROFILES = ("all", "prices")


@dataclass(frozen=True)
class GenerationState:
    """Which products exist at one generation, and what has happened to them so far."""

    generation: int
    universe: int  # indexes 0 .. universe-1 have been listed at some generation up to this one
    delisted: Mapping[int, int]  # index -> the generation that delisted it
    price_moves: Mapping[int, tuple[int, ...]]  # index -> generations at which its price moved, in order
    stock_versions: Mapping[int, int]  # index -> how many times its stock changed

    def is_listed(self, index: int) -> bool:
        return 0 <= index < self.universe and index not in self.delisted

    def listed(self) -> list[int]:
        delisted = self.delisted
        return [index for index in range(self.universe) if index not in delisted]


def _rng(seed: int, generation: int, purpose: str) -> random.Random:
    return random.Random(Draws(seed, "generation", generation, purpose).below(1 << 64))


def _share(count: int, share: float) -> int:
    return min(count, max(1, round(count * share))) if count else 0


@lru_cache(maxsize=32)
def generation_state(size: int, seed: int, generation: int, changes: str = "all") -> GenerationState:
    """The state of catalogue ``(size, seed)`` at ``generation`` (a pure, cached function).

    ``changes="prices"``: each generation moves about 5 % of prices and nothing else.
    """
    if generation < 0:
        raise ValueError("generation must be >= 0")
    if changes not in CHANGE_PROFILES:
        raise ValueError(f"changes must be one of {CHANGE_PROFILES}")
    if generation == 0:
        empty: Mapping = MappingProxyType({})
        return GenerationState(0, size, empty, empty, empty)
    before = generation_state(size, seed, generation - 1, changes)
    if changes == "prices":
        price_moves, still_listed = dict(before.price_moves), before.listed()
        for index in _rng(seed, generation, "price").sample(still_listed, _share(len(still_listed), PRICE_MOVE_SHARE)):
            price_moves[index] = (*price_moves.get(index, ()), generation)
        return GenerationState(generation, before.universe, before.delisted, MappingProxyType(price_moves),
                               before.stock_versions)
    listed = before.listed()
    delisted = dict(before.delisted)
    for index in _rng(seed, generation, "delist").sample(listed, _share(len(listed), DELIST_SHARE)):
        delisted[index] = generation
    universe = before.universe + _share(size, ADD_SHARE)
    now_listed = [index for index in range(universe) if index not in delisted]
    price_moves = dict(before.price_moves)
    for index in _rng(seed, generation, "price").sample(now_listed, _share(len(now_listed), PRICE_MOVE_SHARE)):
        price_moves[index] = (*price_moves.get(index, ()), generation)
    stock_versions = dict(before.stock_versions)
    for index in _rng(seed, generation, "stock").sample(now_listed, _share(len(now_listed), STOCK_CHANGE_SHARE)):
        stock_versions[index] = stock_versions.get(index, 0) + 1
    return GenerationState(
        generation, universe, MappingProxyType(delisted), MappingProxyType(price_moves),
        MappingProxyType(stock_versions),
    )
