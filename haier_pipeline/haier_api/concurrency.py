"""How many gateway calls may be in flight: as many as the wire's answer times allow, never beyond a ceiling.

A fixed number of calls in flight caps the rate at ``in_flight / answer_time`` (Little's law): eight calls
that each answer in 150 ms never pass ~53 calls/s, whatever the account's budget. The budget
(:mod:`.ratelimit`) stays the one rate authority; this module only makes sure enough calls are on the wire
for the budget to be the limit, and that no more are sent than the gateway can answer without queueing.

The rule is a gradient limiter in the manner of TCP Vegas, Netflix's ``Gradient2`` and Envoy's
adaptive-concurrency filter, one :class:`AdaptiveLimit` per endpoint (stock answers slower than prices):

* answers are judged in *rounds* of ``ROUND_SAMPLES`` (or ``limit``, if more) answer times; a round's median,
  smoothed over a few rounds, is the *current* answer time (a median, since the wire's tail is long);
* the *baseline* is the lowest current answer time of the last ``BASELINE_WINDOW_S`` seconds, re-measured
  every ``PROBE_INTERVAL_S`` by one round at a quarter of the limit (Envoy's min-RTT probe), so a gateway
  that answers slower for good is accepted and a queue the limiter itself built is not taken for a baseline;
* while the current answer time stays within ``TOLERANCE`` × the baseline (or within ``latency_target``
  when one is set) and at least half the limit was in use, the limit grows: by half per round until the
  first cut or until answers take 1.2 × the baseline (slow start, with Vegas's early exit), then by √limit
  per round (Gradient2's queue allowance);
* when it rises past that, the gateway is queueing: the limit is cut by threshold ÷ current (never below
  half; in slow start as soon as half a round's answers show it), so a tail's noise costs a few percent;
* a 429 halves the limit; answers to calls sent before a cut are not judged again (one cut per round
  trip); a 5xx, a dropped connection or a garbled answer says nothing about queueing, so it is neither a
  sample nor a cut (the transport retries it).

:meth:`AdaptiveLimit.figures` reports what it did (in-flight reached, baseline, cuts and why) for asset
metadata.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

INITIAL_LIMIT = 8
MIN_LIMIT = 1
ROUND_SAMPLES = 16
TOLERANCE = 1.5
SMOOTHING = 0.5  # weight of the newest round's median in the current answer time
BASELINE_WINDOW_S = 60.0
PROBE_INTERVAL_S = 30.0
PROBE_SAMPLES = 8
SLOW_START_EXIT = 1.2  # slow start ends once answers take this multiple of the baseline (TCP Vegas's early exit)
SLOW_START_GROWTH = 1.5  # per round until the first cut (doubling overshot a queueing gateway's knee)
MAX_CUT = 0.5  # a cut keeps at least this share of the limit

CUT_QUEUEING = "answer time rose (gateway queueing)"
CUT_THROTTLED = "HTTP 429"


@dataclass
class _Round:
    samples: list[float] = field(default_factory=list)
    peak_on_wire: int = 0
    throttled: bool = False


class AdaptiveLimit:
    """The in-flight limit of one endpoint; thread-safe. ``acquire`` a permit, ``sending`` at the wire, ``release``."""

    def __init__(self, ceiling: int, *, latency_target: float = 0.0, initial: int = INITIAL_LIMIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be >= 1")
        if latency_target < 0:
            raise ValueError("latency_target must be >= 0")
        self.ceiling = ceiling
        self.latency_target = latency_target
        self._clock = clock
        self._limit = float(min(ceiling, max(MIN_LIMIT, initial)))
        self._slow_start = True
        self._held = 0
        self._on_wire = 0
        self._round = _Round()
        self._current: float | None = None
        self._baselines: deque[tuple[float, float]] = deque()  # (when, current answer time)
        self._next_probe = clock() + PROBE_INTERVAL_S
        self._probe_restore: float | None = None  # the limit to return to after a probe round
        self._cut_at = float("-inf")
        self.peak_on_wire = 0
        self.peak_limit = self._limit
        self.cuts: Counter[str] = Counter()
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        return max(MIN_LIMIT, int(self._limit))

    @property
    def baseline(self) -> float | None:
        """The answer time the gateway gives without a queue (seconds), once a round has been judged."""
        return min((value for _, value in self._baselines), default=None)

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for a place under the limit; ``False`` if ``timeout`` seconds pass first."""
        end = None if timeout is None else self._clock() + timeout
        with self._changed:
            while self._held >= self.limit:
                remaining = None if end is None else end - self._clock()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining)
            self._held += 1
            return True

    def sending(self) -> None:
        """The permit's request is going on the wire now (its slot of the budget came)."""
        with self._changed:
            self._on_wire += 1
            self._round.peak_on_wire = max(self._round.peak_on_wire, self._on_wire)
            self.peak_on_wire = max(self.peak_on_wire, self._on_wire)

    def release(self, answer_time: float | None, *, on_wire: bool = True, throttled: bool = False) -> None:
        """Give the permit back. ``answer_time``: seconds the gateway took (``None`` for a fault, not judged)."""
        with self._changed:
            self._held -= 1
            if on_wire:
                self._on_wire -= 1
            if throttled:
                self._round.throttled = True
            # A call sent before the last cut shows the old limit's queue: judged already (one cut per round trip).
            if answer_time is not None and self._clock() - answer_time < self._cut_at:
                answer_time, throttled = None, False
            if answer_time is not None or throttled:
                if answer_time is not None:
                    self._round.samples.append(answer_time)
                self._maybe_judge()
            self._changed.notify_all()

    def _round_size(self) -> int:
        return PROBE_SAMPLES if self._probe_restore is not None else max(ROUND_SAMPLES, self.limit)

    def _maybe_judge(self) -> None:
        rnd = self._round
        if rnd.throttled and len(rnd.samples) < self._round_size():
            self._cut(MAX_CUT, CUT_THROTTLED)  # at once, and once per round
            self._round = _Round()
            return
        if len(rnd.samples) < self._round_size() and not self._queue_showing(rnd.samples):
            return
        self._round = _Round()
        now = self._clock()
        median = statistics.median(rnd.samples)
        if self._probe_restore is not None:
            # The probe ran below any queue: its answer time is the baseline from now on.
            self._baselines.clear()
            self._baselines.append((now, median))
            self._current = median
            self._limit, self._probe_restore = self._probe_restore, None
            self._next_probe = now + PROBE_INTERVAL_S
            return
        self._current = median if self._current is None else (1 - SMOOTHING) * self._current + SMOOTHING * median
        self._baselines.append((now, self._current))
        while self._baselines and self._baselines[0][0] < now - BASELINE_WINDOW_S:
            self._baselines.popleft()
        threshold = self.latency_target or TOLERANCE * (self.baseline or self._current)
        if rnd.throttled:
            self._cut(MAX_CUT, CUT_THROTTLED)
        elif self._current > threshold:
            # In proportion to the excess (Gradient2): a tail's noise costs a few percent, a real queue more.
            self._cut(threshold / self._current, CUT_QUEUEING)
        elif rnd.peak_on_wire * 2 >= self.limit:  # only a limit in use proves anything
            if self._current > SLOW_START_EXIT * (self.baseline or self._current):
                self._slow_start = False  # answers are slowing: from here on grow by steps, not by half
            grown = self._limit * SLOW_START_GROWTH if self._slow_start else self._limit + math.sqrt(self._limit)
            self._limit = min(float(self.ceiling), grown)
            self.peak_limit = max(self.peak_limit, self._limit)
        if now >= self._next_probe and self._limit >= 4:
            self._probe_restore = self._limit
            self._limit = max(float(MIN_LIMIT), self._limit / 4)

    def _queue_showing(self, samples: list[float]) -> bool:
        """In slow start, half a round already over the threshold: judge now, not a round later (it overshoots)."""
        if not self._slow_start or len(samples) < PROBE_SAMPLES or self._current is None:
            return False
        threshold = self.latency_target or TOLERANCE * (self.baseline or self._current)
        return statistics.median(samples) > threshold

    def _cut(self, share: float, reason: str) -> None:
        self._slow_start = False
        self._limit = max(float(MIN_LIMIT), self._limit * max(MAX_CUT, min(1.0, share)))
        self.cuts[reason] += 1
        self._cut_at = self._clock()
        self._round = _Round()

    def figures(self) -> dict[str, float | int | dict[str, int]]:
        """For metadata: calls on the wire at once at most, the limit now and at most, baseline, cuts by reason."""
        with self._changed:
            baseline = self.baseline
            return {
                "in_flight_reached": self.peak_on_wire,
                "limit": self.limit,
                "limit_reached": int(self.peak_limit),
                "ceiling": self.ceiling,
                "baseline_ms": round(baseline * 1000, 1) if baseline is not None else 0.0,
                "current_ms": round(self._current * 1000, 1) if self._current is not None else 0.0,
                "cuts": dict(self.cuts),
            }


class ConcurrencyLimits:
    """One :class:`AdaptiveLimit` per endpoint, created on first use, all under the same ceiling."""

    def __init__(self, ceiling: int, latency_target: float = 0.0) -> None:
        self.ceiling = ceiling
        self.latency_target = latency_target
        self._limits: dict[str, AdaptiveLimit] = {}
        self._lock = threading.Lock()

    def for_endpoint(self, endpoint: str) -> AdaptiveLimit:
        with self._lock:
            limit = self._limits.get(endpoint)
            if limit is None:
                limit = self._limits[endpoint] = AdaptiveLimit(self.ceiling, latency_target=self.latency_target)
            return limit

    def figures(self) -> dict[str, dict[str, float | int | dict[str, int]]]:
        """Per endpoint, :meth:`AdaptiveLimit.figures`."""
        with self._lock:
            limits = dict(self._limits)
        return {endpoint: limit.figures() for endpoint, limit in sorted(limits.items())}
