"""Which product × county stock pairs a run asks: a refresh plan under the account's call budget.

``planner`` is pure numpy (no database, no Dagster): it ranks pairs by the importance-weighted staleness a
refresh removes. ``rates`` estimates each pair's change rate from what earlier passes saw.
"""

from .planner import Plan, PlanSettings, plan_refresh
from .rates import estimate_rates

__all__ = ["Plan", "PlanSettings", "estimate_rates", "plan_refresh"]
