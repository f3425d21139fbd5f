"""One stock run's plan from the catalogue: which pairs to ask, in which order, and the figures shown for it.

Bridges ``catalog.stock_refresh`` (the per-pair state) and :func:`planner.plan_refresh`. A full pass asks
every pair, as today's pass did, and so does every run whose call budget covers every pair. A planned run
skips the pairs already asked in the current window (the run's slot of the schedule: 02:00-02:30 for a
30-minute window), so a killed run resumes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection

from haier_pipeline.catalog.raw_store import store_raw_stock
from haier_pipeline.catalog.stock_refresh import read_refresh_state, record_asks
from haier_pipeline.catalog.writes import WriteCounts
from haier_pipeline.runs.liveness import utc_now

from .config import StockRefreshSettings
from .planner import plan_refresh
from .rates import estimate_rates

# The run-metadata names of a plan's figures (sync_overview repeats the last run's).
PLAN_FIGURES = ("stock_pairs", "stock_pairs_due", "stock_pairs_asked", "stock_pairs_fresh_skipped",
                "stock_pairs_never_asked", "stock_due_left_unasked", "stock_call_budget", "stock_full_pass",
                "stock_expected_staleness", "stock_expected_staleness_after", "stock_oldest_age_hours",
                "stock_oldest_pair")


@dataclass(frozen=True)
class StockRunPlan:
    """The pairs to ask (product, county) and what the plan saw, for the run's metadata."""

    pairs: list[tuple[str, str]]
    figures: dict[str, float | int | str] = field(default_factory=dict)


def window_start(now: datetime, window_seconds: float) -> datetime:
    """The start of the schedule window ``now`` falls in (windows counted from midnight UTC)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    return midnight + timedelta(seconds=elapsed - elapsed % window_seconds)


def plan_stock_run(conn: Connection, codes: Sequence[str], counties: Sequence[str], now: datetime,
                   settings: StockRefreshSettings, full_pass: bool = False,
                   weights: Mapping[str, float] | None = None) -> StockRunPlan:
    """Plan this run: every pair in today's order (``full_pass``), else the budget's best pairs not asked in
    this window. ``weights`` per product code (the shop's); missing codes weigh ``settings.weight``."""
    state = read_refresh_state(conn, codes, counties)
    asked = state["asked_at"]
    age = (now - asked).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.inf)
    done = (asked >= window_start(now, settings.window_seconds)).fillna(False).to_numpy(dtype=bool)
    rate = estimate_rates(state["asks"].fillna(0).to_numpy(), state["changes"].fillna(0).to_numpy(),
                          state["observed_seconds"].fillna(0.0).to_numpy())
    level = state["stock"].fillna(-1).to_numpy(dtype=np.float64)
    weight = (state["product_code"].map(weights).fillna(settings.weight).to_numpy(dtype=np.float64) if weights
              else np.full(len(state), settings.weight))
    # A budget that covers every pair asks every pair, as today's pass did (the nightly full sync included).
    full_pass = full_pass or len(state) <= settings.calls_per_window
    budget = len(state) if full_pass else settings.calls_per_window
    plan = plan_refresh(age, rate, weight, budget, settings.plan_settings(), level=level, asked_this_window=done)
    order = np.arange(len(state)) if full_pass else plan.ask
    pairs = list(zip(state["product_code"].to_numpy()[order], state["county_code"].to_numpy()[order], strict=True))
    finite = np.where(np.isinf(age), -1.0, age)
    oldest = int(finite.argmax()) if len(finite) and finite.max() >= 0 else -1
    figures: dict[str, float | int | str] = {
        "stock_pairs": len(state),
        "stock_pairs_due": plan.due,
        "stock_pairs_asked": len(pairs),
        "stock_pairs_fresh_skipped": plan.fresh_skipped,
        "stock_pairs_never_asked": int(np.isinf(age).sum()),
        "stock_due_left_unasked": 0 if full_pass else plan.overdue_unasked,
        "stock_call_budget": int(budget),
        "stock_full_pass": int(full_pass),
        "stock_expected_staleness": round(plan.expected_staleness, 6),
        "stock_expected_staleness_after": round(plan.expected_staleness_after, 6),
        "stock_oldest_age_hours": round(float(finite[oldest]) / 3600, 3) if oldest >= 0 else 0.0,
        "stock_oldest_pair": (f"{state['product_code'].iat[oldest]}@{state['county_code'].iat[oldest]}"
                              if oldest >= 0 else ""),
    }
    return StockRunPlan(pairs, figures)


def store_stock_asks(conn: Connection, rows: Sequence[tuple[str, str, dict]], run_id: str | None,
                     now: datetime) -> WriteCounts:
    """Store raw stock answers and record them as asked (now) in one transaction: a killed run resumes."""
    counts = store_raw_stock(conn, rows, run_id, now)
    record_asks(conn, rows, utc_now())
    return counts
