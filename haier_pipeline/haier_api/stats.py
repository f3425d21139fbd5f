"""Thread-safe counters for what the client did: calls, attempts, retries, throttling, tokens, latency.

The pipeline puts a snapshot in asset metadata; tests compare it with what the
sandbox saw. Every attempt's latency is kept (8 bytes each, with a one-byte endpoint index), so
a step can report the p95 and the slowest answer of its own calls: take ``snapshot()["attempts"]``
at its start and ask :meth:`ClientStats.latency_since` at its end.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClientStats:
    """Counters updated from every worker thread under one lock; read them through :meth:`snapshot`."""

    calls: Counter[str] = field(default_factory=Counter)
    failed_calls: Counter[str] = field(default_factory=Counter)
    attempts_by_endpoint: Counter[str] = field(default_factory=Counter)  # HTTP requests, token ones included
    attempts: int = 0
    retries: int = 0
    throttled_429: int = 0
    server_errors_5xx: int = 0
    network_errors: int = 0
    unauthorized_401: int = 0
    refreshes_after_401: int = 0
    tokens_fetched: int = 0
    total_latency_s: float = 0.0
    max_codes_per_call: int = 0
    _latencies: array = field(default_factory=lambda: array("d"), repr=False, compare=False)
    _latency_endpoints: array = field(default_factory=lambda: array("B"), repr=False, compare=False)
    _endpoint_ids: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **increments: float) -> None:
        """Add to scalar counters by name, atomically."""
        with self._lock:
            for name, amount in increments.items():
                setattr(self, name, getattr(self, name) + amount)

    def call_started(self, endpoint: str, codes: int) -> None:
        with self._lock:
            self.calls[endpoint] += 1
            self.max_codes_per_call = max(self.max_codes_per_call, codes)

    def call_failed(self, endpoint: str) -> None:
        with self._lock:
            self.failed_calls[endpoint] += 1

    def attempt_finished(self, endpoint: str, latency_s: float) -> None:
        with self._lock:
            self.attempts_by_endpoint[endpoint] += 1
            self.attempts += 1
            self.total_latency_s += latency_s
            self._latencies.append(latency_s)
            self._latency_endpoints.append(self._endpoint_ids.setdefault(endpoint, len(self._endpoint_ids) % 256))

    def latency_since(self, start: int = 0) -> LatencySummary:
        """p95 and slowest of the attempts after the first ``start`` (a ``snapshot()["attempts"]``)."""
        with self._lock:
            values = self._latencies[start:]
            ids = self._latency_endpoints[start:]
            names = {index: name for name, index in self._endpoint_ids.items()}
        if not values:
            return LatencySummary(0, 0.0, 0.0, None)
        slowest = max(range(len(values)), key=values.__getitem__)
        return LatencySummary(len(values), percentile(values, 0.95), values[slowest], names.get(ids[slowest]))

    @property
    def mean_latency_s(self) -> float:
        with self._lock:
            return self.total_latency_s / self.attempts if self.attempts else 0.0

    def snapshot(self) -> dict[str, Any]:
        """A consistent plain-dict copy (safe for Dagster metadata: numbers and dicts only)."""
        with self._lock:
            attempts = self.attempts
            return {
                "calls": dict(self.calls),
                "total_calls": sum(self.calls.values()),
                "failed_calls": dict(self.failed_calls),
                "attempts": attempts,
                "attempts_by_endpoint": dict(self.attempts_by_endpoint),
                "retries": self.retries,
                "throttled_429": self.throttled_429,
                "server_errors_5xx": self.server_errors_5xx,
                "network_errors": self.network_errors,
                "unauthorized_401": self.unauthorized_401,
                "refreshes_after_401": self.refreshes_after_401,
                "tokens_fetched": self.tokens_fetched,
                "total_latency_s": self.total_latency_s,
                "mean_latency_s": self.total_latency_s / attempts if attempts else 0.0,
                "max_codes_per_call": self.max_codes_per_call,
            }


@dataclass(frozen=True)
class LatencySummary:
    """The latency figures of a run of attempts: how many, their p95, and the slowest with its endpoint."""

    attempts: int
    p95_s: float
    max_s: float
    slowest_endpoint: str | None


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q ≤ 1) of ``values``: a latency some attempt really had."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0
