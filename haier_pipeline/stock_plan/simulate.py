"""Score a refresh policy against a :class:`~haier_pipeline.sandbox.market.StockMarket`: the share of
importance-weighted time the stored stock differs from the truth.

The planner (``policy="plan"``) and today's fixed-order pass (``policy="round_robin"``) get the same calls
per window, spent evenly over the window; both keep the same per-pair state a stock run keeps (last ask,
asks, detected changes, observed seconds, stored level), so the planner learns rates as the runs would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from haier_pipeline.sandbox.market import MarketClock, MarketShape, StockMarket

from .planner import PlanSettings, plan_refresh
from .rates import estimate_rates


@dataclass(frozen=True)
class Score:
    """What one simulated policy achieved."""

    policy: str
    weighted_staleness: float  # share of weighted time a stored value was wrong (0..1)
    max_age_seconds: float  # the oldest any stored value got
    calls: int


def simulate(shape: MarketShape, budget: int, settings: PlanSettings, seconds: float, policy: str,
             warmup_seconds: float = 0.0, steps_per_window: int = 10) -> Score:
    """Run ``policy`` for ``warmup_seconds`` unscored, then ``seconds`` scored."""
    clock = MarketClock()
    market = StockMarket(shape, clock)
    n = shape.pairs
    stored = np.full(n, -1, dtype=np.int64)
    asked_at = np.full(n, -np.inf)
    asks = np.zeros(n)
    changes = np.zeros(n)
    observed = np.zeros(n)
    step = settings.window_seconds / steps_per_window
    cursor, calls, stale_time, oldest = 0, 0, 0.0, 0.0
    total = warmup_seconds + seconds
    order = np.arange(n)
    now = 0.0
    while now < total - 1e-9:
        window_start = now
        if policy == "plan":
            rate = estimate_rates(asks, changes, observed)
            done = asked_at >= window_start
            order = plan_refresh(window_start - asked_at, rate, market.weight, budget, settings,
                                 level=stored, asked_this_window=done).ask
        else:
            order = (cursor + np.arange(min(budget, n))) % n
            cursor = (cursor + len(order)) % n
        for part in np.array_split(order, steps_per_window):
            truth = market.ask(part)
            seen = asked_at[part] > -np.inf
            changes[part] += seen & (stored[part] != truth)
            asks[part] += seen
            observed[part] += np.where(seen, now - asked_at[part], 0.0)
            stored[part], asked_at[part] = truth, now
            calls += len(part) if now >= warmup_seconds else 0
            clock.advance(step)
            now += step
            if now > warmup_seconds:
                wrong = stored != market.levels()
                stale_time += float((market.weight * wrong).sum()) / float(market.weight.sum()) * step
                oldest = max(oldest, float((now - asked_at).max()))
    return Score(policy, stale_time / seconds, oldest, calls)
