"""A stock market for the sandbox: every product × county level moves over time, and the truth is known.

Each pair changes as a Poisson process with its own rate, drawn heavy-tailed (log-normal, so a few pairs
sell all day and most barely move) and tied to the pair's popularity; a share of pairs never moves. A
change is a sale (the level drops by one; a pair at zero cannot sell) or a restock (the level refills to
the pair's capacity). :class:`MarketClock` runs faster than real time, and :meth:`StockMarket.levels`
is the truth at the market's current instant, so a benchmark can score how often a stored value is wrong.
Vectorised with numpy: a market of a million pairs advances in milliseconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MarketShape:
    """How the market's pairs behave: rates per second, the share that never moves, restock odds."""

    pairs: int
    median_rate: float = 1 / 259_200.0  # half the moving pairs change less than once in three days
    popularity_spread: float = 2.5  # log-normal sigma of popularity (a shop's sales): heavy-tailed
    rate_coupling: float = 0.3  # rate grows as popularity ** coupling: sales are changes, restocks are not
    rate_spread: float = 1.0  # log-normal sigma of the rest of a pair's rate
    still_share: float = 0.2  # pairs that never move
    restock_share: float = 0.1  # the share of changes that are restocks (a pair at zero always restocks)
    seed: int = 1


class MarketClock:
    """Market time in seconds, running ``speed`` times faster than the wall clock (manual when speed is 0)."""

    def __init__(self, speed: float = 0.0, start: float = 0.0) -> None:
        self.speed, self._offset, self._wall = speed, start, time.monotonic()

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._wall) * self.speed if self.speed else self._offset

    def advance(self, seconds: float) -> float:
        """Move a manual clock forward (a running clock keeps its own pace and is moved too)."""
        self._offset += seconds
        return self.now()


class StockMarket:
    """The true stock of every pair at the clock's instant; :meth:`ask` is one gateway call's answer."""

    def __init__(self, shape: MarketShape, clock: MarketClock | None = None) -> None:
        rng = np.random.default_rng(shape.seed)
        self.shape, self.clock, self._rng = shape, clock or MarketClock(), rng
        popularity = rng.lognormal(0.0, shape.popularity_spread, shape.pairs)
        self.weight: FloatArray = popularity / popularity.mean()  # what a shop's sales would say of each pair
        noise = rng.lognormal(0.0, shape.rate_spread, shape.pairs)
        self.rate: FloatArray = shape.median_rate * popularity ** shape.rate_coupling * noise
        self.rate[rng.random(shape.pairs) < shape.still_share] = 0.0
        self.capacity: IntArray = rng.integers(1, 30, shape.pairs)
        self.level: IntArray = rng.integers(0, self.capacity + 1)
        self._at = self.clock.now()

    def advance_to(self, moment: float) -> None:
        """Play every pair's changes up to ``moment`` (market seconds): sales drain, restocks refill."""
        seconds = moment - self._at
        if seconds <= 0:
            return
        self._at = moment
        events = self._rng.poisson(self.rate * seconds)
        moved = np.flatnonzero(events)
        if not len(moved):
            return
        count = events[moved]
        restocks = self._rng.binomial(count, self.shape.restock_share)
        level = self.level[moved]
        # Sales after the last restock drain the refilled level; without a restock they drain what was there.
        after_restock = np.where(restocks > 0, self._rng.binomial(count - restocks, 0.5), count)
        start = np.where(restocks > 0, self.capacity[moved], level)
        drained = np.maximum(start - after_restock, 0)
        # A pair that sat at zero with no restock among its events restocks anyway: stock comes back.
        empty = (level == 0) & (restocks == 0)
        drained[empty] = self.capacity[moved][empty]
        self.level[moved] = drained

    def levels(self) -> IntArray:
        """The truth at the clock's current instant."""
        self.advance_to(self.clock.now())
        return self.level

    def ask(self, pairs: npt.ArrayLike) -> IntArray:
        """The levels a gateway call would answer for ``pairs`` (indices) right now."""
        return self.levels()[np.asarray(pairs, dtype=np.int64)].copy()
