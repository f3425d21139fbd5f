"""The stock refresh settings (``HAIER_STOCK_*``): window, call budget, maximum age and weights.

Read by ``settings.load_settings``; a bad value stops start-up with one line naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .planner import PlanSettings


class StockRefreshError(ValueError):
    """A ``HAIER_STOCK_*`` value is refused; the message starts with the variable's name."""


@dataclass(frozen=True)
class StockRefreshSettings:
    """How stock runs spend their calls: ``calls_per_window`` each window, every pair within ``max_age``."""

    window_seconds: float = 1800.0
    max_age_seconds: float = 86_400.0
    calls_per_window: int = 144_000  # 30 min × 100 calls/s × 0.8 (the share left after prices and listing)
    weight: float = 1.0  # every pair's importance when no shop says better
    low_stock_boost: float = 1.0

    def plan_settings(self) -> PlanSettings:
        return PlanSettings(self.window_seconds, self.max_age_seconds, self.low_stock_boost)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StockRefreshError(f"{name}: {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise StockRefreshError(f"{name}: {raw!r} is not a finite number")
    if value < 0:
        raise StockRefreshError(f"{name}: {value:g} is negative; must be 0 or more")
    return value


def parse_stock_refresh(env: Mapping[str, str], rate_limit: float) -> StockRefreshSettings:
    """The validated settings; the budget defaults to window × ``rate_limit`` × ``HAIER_STOCK_BUDGET_SHARE``."""
    window = _float(env, "HAIER_STOCK_WINDOW_MINUTES", 30.0) * 60
    if window <= 0:
        raise StockRefreshError("HAIER_STOCK_WINDOW_MINUTES: must be more than 0")
    max_age = _float(env, "HAIER_STOCK_MAX_AGE_HOURS", 24.0) * 3600
    if max_age <= window:
        raise StockRefreshError(
            f"HAIER_STOCK_MAX_AGE_HOURS: {max_age / 3600:g} h is not longer than one window "
            f"({window / 60:g} min, HAIER_STOCK_WINDOW_MINUTES)")
    share = _float(env, "HAIER_STOCK_BUDGET_SHARE", 0.8)
    if not 0 < share <= 1:
        raise StockRefreshError(f"HAIER_STOCK_BUDGET_SHARE: {share:g} must be more than 0 and at most 1")
    calls = _float(env, "HAIER_STOCK_CALLS_PER_WINDOW", 0.0)
    if calls and calls != int(calls):
        raise StockRefreshError(f"HAIER_STOCK_CALLS_PER_WINDOW: {calls:g} is not a whole number")
    budget = int(calls) or max(int(window * rate_limit * share), 1)
    return StockRefreshSettings(
        window_seconds=window, max_age_seconds=max_age, calls_per_window=budget,
        weight=_float(env, "HAIER_STOCK_WEIGHT", 1.0),
        low_stock_boost=_float(env, "HAIER_STOCK_LOW_STOCK_BOOST", 1.0),
    )
