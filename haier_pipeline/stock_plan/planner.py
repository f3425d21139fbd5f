"""Choose the stock pairs one window's call budget asks: overdue pairs first, then the largest staleness gain.

A pair whose value changes as a Poisson process of rate ``λ`` and was asked ``a`` seconds ago is stale with
probability ``1 - e^{-λa}``. Asking it now keeps it fresh over the next window ``H`` for the share
``(1 - e^{-λH}) / (λH)`` of it (Cho & Garcia-Molina, SIGMOD 2000), so the importance-weighted staleness a
call removes is ``w · (1 - e^{-λa}) · (1 - e^{-λH}) / (λH)``. Spending the budget on the highest such gains
is the greedy form of the Lagrangian optimum of Kolobov et al. (SIGIR 2019): a pair that changes far faster
than it can be asked gains little (its value is stale again almost at once), and a pair that barely moves
gains little until its age makes a change likely — neither uniform nor "proportional to change rate",
which Cho & Garcia-Molina show is worse than uniform.

Every pair is still asked before it reaches ``max_age``: pairs that would pass it before the next window
come first, oldest first. Pairs asked in the current window are never asked again in it (a resumed run).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NEVER = np.inf  # the age of a pair never asked


@dataclass(frozen=True)
class PlanSettings:
    """The knobs of a plan: the window (seconds between runs), the age bound, and the level emphasis."""

    window_seconds: float = 1800.0
    max_age_seconds: float = 86_400.0
    # A stored level of 0 counts (1 + low_stock_boost) times as much as a deep one: the next change of a pair
    # near zero is the one that sells what is gone (or hides a restock).
    low_stock_boost: float = 1.0

    def __post_init__(self) -> None:
        if self.window_seconds <= 0:
            raise ValueError("window_seconds: must be positive")
        if self.max_age_seconds <= self.window_seconds:
            raise ValueError("max_age_seconds: must be longer than one window")
        if self.low_stock_boost < 0:
            raise ValueError("low_stock_boost: must not be negative")


@dataclass(frozen=True)
class Plan:
    """The pairs to ask (indices into the planner's arrays, in asking order) and what the plan saw."""

    ask: IntArray
    due: int  # pairs that must be asked this window to stay under the age bound
    overdue_unasked: int  # due pairs the budget could not reach
    fresh_skipped: int  # pairs already asked in this window
    expected_staleness: float  # importance-weighted share of pairs expected stale now (0..1)
    expected_staleness_after: float  # the same, once the asked pairs are fresh


def freshness_over(rate: FloatArray, seconds: float) -> FloatArray:
    """Expected share of the next ``seconds`` a just-asked pair stays right: ``(1 - e^{-λH}) / (λH)``."""
    x = rate * seconds
    out = np.ones_like(x)
    moving = x > 1e-12
    out[moving] = -np.expm1(-x[moving]) / x[moving]
    return out


def stale_probability(rate: FloatArray, age: FloatArray) -> FloatArray:
    """Probability a pair asked ``age`` seconds ago (``inf``: never) has changed since."""
    with np.errstate(invalid="ignore"):
        p = -np.expm1(-rate * age)
    return np.where(np.isinf(age), 1.0, np.nan_to_num(p, nan=0.0))


def level_factor(level: npt.ArrayLike, boost: float) -> FloatArray:
    """``1 + boost`` at level 0 (or unknown, negative), falling as ``1/(1 + level)`` above it."""
    stock = np.asarray(level, dtype=np.float64)
    return 1.0 + boost / (1.0 + np.where(stock < 0, 0.0, stock))


def plan_refresh(
    age: npt.ArrayLike, rate: npt.ArrayLike, weight: npt.ArrayLike, budget: int, settings: PlanSettings,
    level: npt.ArrayLike | None = None, asked_this_window: npt.ArrayLike | None = None,
) -> Plan:
    """Choose at most ``budget`` pairs: due pairs, then the largest staleness gains per call; each oldest first.

    ``age`` in seconds (``inf`` for never asked), ``rate`` changes per second, ``weight`` >= 0 per pair;
    ``level`` the stored stock (negative: unknown); ``asked_this_window`` marks pairs the window already asked.
    """
    ages = np.asarray(age, dtype=np.float64)
    rates = np.maximum(np.asarray(rate, dtype=np.float64), 0.0)
    weights = np.asarray(weight, dtype=np.float64)
    if level is not None:
        weights = weights * level_factor(level, settings.low_stock_boost)
    done = (np.zeros(ages.shape, dtype=bool) if asked_this_window is None
            else np.asarray(asked_this_window, dtype=bool))
    stale = stale_probability(rates, ages)
    total_weight = float(weights.sum()) or 1.0
    gain = weights * stale * freshness_over(rates, settings.window_seconds)
    gain[done] = -1.0
    due_mask = (ages + settings.window_seconds > settings.max_age_seconds) & ~done
    due_idx = np.flatnonzero(due_mask)
    budget = max(int(budget), 0)
    due_first = due_idx[np.argsort(-ages[due_idx], kind="stable")][:budget]
    rest_budget = budget - len(due_first)
    gain[due_mask] = -1.0
    candidates = np.flatnonzero(gain >= 0)
    if rest_budget <= 0 or not len(candidates):
        chosen = np.empty(0, dtype=np.int64)
    elif rest_budget < len(candidates):
        chosen = candidates[np.argpartition(-gain[candidates], rest_budget - 1)[:rest_budget]]
    else:
        chosen = candidates
    # Oldest first, so a pair asked every window is asked at the same point of each (even intervals: uneven
    # ones are staler on average, the loss being convex in the interval).
    chosen = chosen[np.argsort(-ages[chosen], kind="stable")]
    ask = np.concatenate([due_first, chosen]).astype(np.int64)
    stale_weight = float((weights * stale).sum())
    return Plan(
        ask=ask, due=len(due_idx), overdue_unasked=len(due_idx) - len(due_first), fresh_skipped=int(done.sum()),
        expected_staleness=stale_weight / total_weight,
        expected_staleness_after=(stale_weight - float((weights[ask] * stale[ask]).sum())) / total_weight,
    )
