"""The stock refresh settings (``HAIER_STOCK_*``): window, call budget, maximum age and weights.

Parsed and validated by ``settings.load_settings`` (with the other settings' number reader); a bad value stops
start-up with one line naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from .planner import PlanSettings


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
