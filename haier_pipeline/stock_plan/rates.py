"""A change rate per stock pair from the asks already made, shrunk towards the catalogue's pooled rate.

A pass sees a pair only when it asks, so several changes between two asks count as one. Cho & Garcia-Molina
(ICDE 2003) correct that undercount with ``-n·ln((n - k + 0.5)/(n + 0.5))`` changes for ``k`` detected in ``n``
asks. That corrected count is the evidence of a Gamma prior (mean: the pooled rate of every pair,
strength: ``prior_seconds`` of observation), so a new pair starts at the catalogue's typical rate and a
pair asked often follows its own history.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DEFAULT_PRIOR_RATE = 1 / 86_400.0  # one change a day, before any pair has been watched twice
DEFAULT_PRIOR_SECONDS = 86_400.0


def corrected_changes(asks: npt.ArrayLike, changes: npt.ArrayLike) -> FloatArray:
    """Changes implied by ``changes`` detected over ``asks`` intervals (Cho & Garcia-Molina's estimator)."""
    n = np.asarray(asks, dtype=np.float64)
    k = np.minimum(np.asarray(changes, dtype=np.float64), n)
    return -n * np.log((n - k + 0.5) / (n + 0.5))


def estimate_rates(
    asks: npt.ArrayLike, changes: npt.ArrayLike, observed_seconds: npt.ArrayLike,
    prior_rate: float | None = None, prior_seconds: float = DEFAULT_PRIOR_SECONDS,
) -> FloatArray:
    """Posterior mean change rate per second of each pair (``asks`` intervals totalling ``observed_seconds``).

    ``prior_rate`` None: pooled from every pair (empirical Bayes), :data:`DEFAULT_PRIOR_RATE` while none has
    been watched.
    """
    seen = np.asarray(observed_seconds, dtype=np.float64)
    implied = corrected_changes(asks, changes)
    if prior_rate is None:
        total = float(seen.sum())
        prior_rate = float(implied.sum()) / total if total > 0 and implied.sum() > 0 else DEFAULT_PRIOR_RATE
    return (prior_rate * prior_seconds + implied) / (prior_seconds + seen)
