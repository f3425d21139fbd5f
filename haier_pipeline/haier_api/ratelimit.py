"""One client-side rate limiter shared by every thread: calls leave evenly spaced, never in bursts.

Haier throttles above 100 calls/s per account (the sandbox enforces it with a
token bucket of capacity 100). A limiter that allowed "100 per second" as a
burst could still trip it across a window boundary; spacing calls exactly
``1/rate`` apart (pyrate-limiter's GCRA with ``burst=1``) never can.

Waiters queue on a lock so only one thread at a time sleeps towards the next
slot. Left to pyrate alone, every waiting thread wakes for every slot and the
stampede (plus the GIL on a busy machine) made the late ones miss slots:
measured 65-94 calls/s at a configured 100. Queued, it holds 95-100.
"""

from __future__ import annotations

import math
import threading
import time

from pyrate_limiter import GCRA, Limiter, Rate, SingleBucketFactory, StateBucket

_CALLS_PER_WINDOW = 1000


class RateLimiter:
    """Blocks each caller until its slot: at most one call per ``1/calls_per_second`` seconds overall."""

    def __init__(self, calls_per_second: float) -> None:
        if not calls_per_second > 0 or math.isinf(calls_per_second):
            raise ValueError("rate_limit must be a positive number of calls per second")
        self.calls_per_second = calls_per_second
        # GCRA spaces items ceil(interval_ms * 1000 / limit) microseconds apart; with limit=1000
        # that is interval_ms microseconds, i.e. ceil(1e6 / rate): never faster than configured.
        spacing_us = math.ceil(1_000_000 / calls_per_second)
        rate = Rate(_CALLS_PER_WINDOW, spacing_us, burst=1)
        bucket = StateBucket([rate], algorithm=GCRA())
        # buffer_ms=0: the GCRA wait is exact, and any extra buffer would cap throughput below the rate.
        self._limiter = Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=0)
        self._queue = threading.Lock()

    @property
    def spacing_s(self) -> float:
        """Seconds between two consecutive calls at full speed."""
        return math.ceil(1_000_000 / self.calls_per_second) / 1_000_000

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the next slot; ``False`` when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if not self._queue.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())):
            return False
        try:
            wait = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            result = self._limiter.try_acquire("haier", blocking=True, timeout=wait)
            assert isinstance(result, bool)
            return result
        finally:
            self._queue.release()

    def close(self) -> None:
        self._limiter.close()
