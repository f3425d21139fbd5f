"""Stock freshness under the account's budget: the refresh planner against today's round-robin pass.

```bash
.venv/bin/python -m benchmarks.stock_freshness                 # 20,000 pairs, 3 seeds, 1,000,000-pair planning
.venv/bin/python -m benchmarks.stock_freshness --pairs 5000 --seeds 1 --plan-pairs 200000
```

A simulated market (``haier_pipeline.sandbox.market``) runs a warm-up day and a scored day in 30-minute
windows. Both policies get the same calls per window, spent evenly over it (the same calls per second:
planning costs no gateway call). Cases, each the median over seeds:

- ``overloaded`` — the pairs need 3× the calls a window allows.
- ``covered`` — a window's budget covers every pair.

Printed per case: importance-weighted staleness (share of weighted time a stored value differs from the
truth) of each policy, their ratio, and the oldest stored value against the maximum age. Then the time and
peak memory (``tracemalloc``) of planning ``--plan-pairs`` pairs, and of estimating their rates.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from haier_pipeline.sandbox.market import MarketShape
from haier_pipeline.stock_plan.planner import PlanSettings, plan_refresh
from haier_pipeline.stock_plan.rates import estimate_rates
from haier_pipeline.stock_plan.simulate import simulate

DAY = 86_400.0
SETTINGS = PlanSettings(window_seconds=1800.0, max_age_seconds=DAY)


def compare(pairs: int, budget: int, seeds: int) -> dict[str, float]:
    rr, plan, oldest = [], [], []
    for seed in range(1, seeds + 1):
        shape = MarketShape(pairs=pairs, seed=seed)
        rr.append(simulate(shape, budget, SETTINGS, DAY, "round_robin", warmup_seconds=DAY).weighted_staleness)
        scored = simulate(shape, budget, SETTINGS, DAY, "plan", warmup_seconds=DAY)
        plan.append(scored.weighted_staleness)
        oldest.append(scored.max_age_seconds)
    return {"round_robin": statistics.median(rr), "plan": statistics.median(plan),
            "ratio": statistics.median(r / p for r, p in zip(rr, plan, strict=True)), "oldest_s": max(oldest)}


def planning_cost(pairs: int, repeats: int = 3) -> tuple[float, float]:
    """Median seconds and peak MiB of estimating rates and planning ``pairs`` pairs (inputs excluded)."""
    rng = np.random.default_rng(7)
    asks = rng.integers(0, 40, pairs)
    changes = rng.binomial(asks, 0.3)
    observed = asks * 1800.0 * 3
    age = rng.exponential(20_000.0, pairs)
    age[rng.random(pairs) < 0.01] = np.inf
    weight = rng.lognormal(0.0, 2.0, pairs)
    level = rng.integers(-1, 30, pairs)
    done = rng.random(pairs) < 0.1
    seconds, peaks = [], []
    for _ in range(repeats):
        tracemalloc.start()
        started = time.perf_counter()
        rate = estimate_rates(asks, changes, observed)
        plan_refresh(age, rate, weight, pairs // 3, SETTINGS, level=level, asked_this_window=done)
        seconds.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return statistics.median(seconds), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--plan-pairs", type=int, default=1_000_000)
    args = parser.parse_args()
    for case, budget in (("overloaded", args.pairs // 3), ("covered", args.pairs)):
        result = compare(args.pairs, budget, args.seeds)
        print(f"{case:10} pairs={args.pairs} calls/window={budget}: round-robin {result['round_robin']:.4f}, "
              f"plan {result['plan']:.4f}, round-robin/plan {result['ratio']:.2f}×, oldest "
              f"{result['oldest_s'] / 3600:.2f} h (max age {SETTINGS.max_age_seconds / 3600:.0f} h)")
    seconds, mib = planning_cost(args.plan_pairs)
    print(f"planning   pairs={args.plan_pairs}: {seconds:.2f} s (median), peak {mib:.0f} MiB "
          "(targets < 5 s, < 500 MiB)")


if __name__ == "__main__":
    main()
