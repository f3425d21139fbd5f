"""Counters of what the sandbox saw and answered, so tests and benchmarks can check a client's manners.

One lock guards every counter; :meth:`StatsRecorder.snapshot` hands out an immutable copy.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SandboxStats:
    """A snapshot. ``calls`` counts business calls per endpoint name, whatever their answer."""

    calls: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status of every business answer
    answered_400: int = 0
    answered_401: int = 0
    answered_429: int = 0
    injected_5xx: int = 0
    drops: int = 0
    html_errors: int = 0
    app_errors: int = 0
    slow_calls: int = 0
    max_product_codes: int = 0
    max_in_flight: int = 0
    max_calls_in_one_second: int = 0  # most business calls received in any sliding one-second window
    token_requests: int = 0
    tokens_issued: int = 0
    image_requests: int = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["statuses"] = {str(status): count for status, count in self.statuses.items()}
        data["total_calls"] = self.total_calls
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxStats:
        values = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        values["statuses"] = {int(status): count for status, count in data.get("statuses", {}).items()}
        return cls(**values)


class StatsRecorder:
    """Thread-safe counters behind :class:`SandboxStats`."""

    _COUNTERS = ("answered_400", "answered_401", "answered_429", "injected_5xx", "drops", "html_errors",
                 "app_errors", "slow_calls", "token_requests", "tokens_issued", "image_requests")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: Counter[str] = Counter()
            self._statuses: Counter[int] = Counter()
            self._counts: Counter[str] = Counter()
            self._max_codes = 0
            self._in_flight = 0
            self._max_in_flight = 0
            self._recent: deque[float] = deque()  # arrival times of the last second's business calls
            self._max_per_second = 0

    def count(self, name: str, amount: int = 1) -> None:
        if name not in self._COUNTERS:
            raise KeyError(name)
        with self._lock:
            self._counts[name] += amount

    def call_started(self, endpoint: str) -> None:
        with self._lock:
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            self._recent.append(now)
            self._max_per_second = max(self._max_per_second, len(self._recent))
            self._calls[endpoint] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def call_finished(self, status: int | None) -> None:
        """``status`` None: the call was dropped without an answer."""
        with self._lock:
            self._in_flight -= 1
            if status is not None:
                self._statuses[status] += 1

    def saw_product_codes(self, count: int) -> None:
        with self._lock:
            self._max_codes = max(self._max_codes, count)

    def snapshot(self) -> SandboxStats:
        with self._lock:
            return SandboxStats(
                calls=dict(self._calls), statuses=dict(self._statuses), max_product_codes=self._max_codes,
                max_in_flight=self._max_in_flight, max_calls_in_one_second=self._max_per_second,
                **{name: self._counts[name] for name in self._COUNTERS},
            )
