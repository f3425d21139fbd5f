"""Counters of what the sandbox saw and answered, so tests and benchmarks can check a client's manners.

One lock guards every counter; :meth:`StatsRecorder.snapshot` hands out an immutable copy.

``max_calls_in_one_second`` counts calls by the moment their request line was read, not the moment a
handler thread got round to them: on a loaded machine a handler can wait tens of milliseconds for the
GIL or a core, and stamping then would crowd calls that arrived evenly into one second (the gateway
this stands in for has its own machine). Those stamps reach :meth:`StatsRecorder.call_started` slightly
out of order, so the recent ones are kept sorted and each new one re-counts the windows it falls in.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
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


RECENT_SECONDS = 5.0  # how late a stamp may reach the recorder and still be counted with its neighbours


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
            self._recent: list[float] = []  # arrival stamps of the last few seconds' business calls, sorted
            self._max_per_second = 0

    def count(self, name: str, amount: int = 1) -> None:
        if name not in self._COUNTERS:
            raise KeyError(name)
        with self._lock:
            self._counts[name] += amount

    def call_started(self, endpoint: str, received_at: float | None = None) -> None:
        """A business call arrived; ``received_at`` is its ``time.monotonic()`` stamp (default: now)."""
        with self._lock:
            self._count_in_window(time.monotonic() if received_at is None else received_at)
            self._calls[endpoint] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _count_in_window(self, stamp: float) -> None:
        recent = self._recent
        bisect.insort(recent, stamp)
        if recent[0] < recent[-1] - RECENT_SECONDS:
            del recent[:bisect.bisect_left(recent, recent[-1] - RECENT_SECONDS)]
        # The busiest window ends on a call: check the one-second windows ending at this call and at each later one.
        start = bisect.bisect_left(recent, stamp)
        for end in range(start, len(recent)):
            if recent[end] >= stamp + 1.0:
                break
            calls = bisect.bisect_right(recent, recent[end]) - bisect.bisect_right(recent, recent[end] - 1.0)
            self._max_per_second = max(self._max_per_second, calls)

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
