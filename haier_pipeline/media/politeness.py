"""Adaptive politeness towards each image host: as fast as the host allows, and no faster.

A fixed requests-per-second budget is either too slow for a CDN or too fast for a small host.
Each host instead gets its own pace, adjusted by what it answers (AIMD, as TCP does):

* it starts modestly (``START_RATE`` requests/s, the old fixed budget, and ``START_WINDOW`` requests in flight);
* every answer that arrives while latency holds (its moving average within
  ``LATENCY_TOLERANCE`` × the best recently seen) grows the pace and the window: the pace quickly at
  first, then, once the host has throttled us, by about 5 % a second — never beyond twice what the
  host was actually served in the last second. The window (requests in flight) grows as far as the
  answers allow, up to the fetcher's pool (``HAIER_IMAGE_CONCURRENCY``), so a far host is not latency-bound;
* latency that rises holds the pace and the window where they are;
* faults are not congestion: a 500, 502 or 504, a dropped connection, or a lone 503 is retried
  (``fetch.py``) and leaves the pace alone. Only a 429, a 503 carrying ``Retry-After``, or 503s that
  make up ``CONGESTION_SHARE`` of the last second's answers (their rate rises with the pace) slow the
  host: the pace (from what the host actually served in the last second) and the window are halved, at
  most once per ``max(pause, 1 s)``, and nothing is sent to that host until its ``Retry-After`` has passed
  (or a short back-off when it gives none). A cut on 503s alone never takes the pace below
  ``FAULT_FLOOR`` × the best rate the host served, so random failures cannot grind a pass down;
* ``HAIER_IMAGE_RATE_LIMIT``, when set, is a hard ceiling the pace never exceeds.

The pace reached per host is reported in the images asset's metadata (``image_rate_reached``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from haier_pipeline.haier_api.transport import parse_retry_after

THROTTLING_STATUSES = frozenset({429, 503})  # asked again after a pause; only some of them slow the host
FAULT_STATUSES = frozenset({500, 502, 503, 504})  # retried without judging the host (503: unless congestion)
CONGESTION_SHARE = 0.25  # 503s at least this share of the last second's answers (and >= 5): the host is overloaded
FAULT_FLOOR = 0.5  # a cut on 503s keeps at least this share of the best rate the host served
START_RATE = 50.0  # requests per second to a host never seen before (the old fixed budget: nothing starts slower)
START_WINDOW = 2  # requests in flight to a host never seen before
MIN_RATE = 1.0
LATENCY_TOLERANCE = 2.0
LATENCY_SLACK_S = 0.01  # latencies this close count as equal (a local host answers in a millisecond)
BASELINE_DRIFT = 1.005  # per answer: the best latency seen is forgotten over a few hundred answers
USED_HEADROOM = 2.0  # the pace stays within this multiple of the rate the host was served at in the last second
SLOW_START_GROWTH = 1.05  # per answer, until the host first throttles
AVOIDANCE_GROWTH_PER_S = 0.05  # share of the pace added per second afterwards
MAX_RETRY_AFTER_S = 30.0
DEFAULT_PAUSE_S = 0.5
MAX_THROTTLED_ATTEMPTS = 6
_EWMA_WEIGHT = 0.2
_WINDOW_S = 1.0


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), capped at ``MAX_RETRY_AFTER_S``."""
    seconds = parse_retry_after(value)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


@dataclass
class HostPace:
    """One host's current pace and what it has answered so far."""

    rate: float
    window: float
    ceiling: float | None
    in_flight: int = 0
    next_slot: float = 0.0
    paused_until: float = 0.0
    throttled_before: bool = False
    last_cut: float = float("-inf")
    best_latency: float | None = None
    mean_latency: float | None = None
    answers: int = 0
    throttled: int = 0
    first_sent: float | None = None
    last_answer: float | None = None
    peak_rate: float = 0.0
    faults: int = 0
    recent: deque[float] = field(default_factory=deque)
    recent_unavailable: deque[float] = field(default_factory=deque)  # times of the last second's 503s

    def served_last_second(self, now: float) -> float:
        while self.recent and self.recent[0] < now - _WINDOW_S:
            self.recent.popleft()
        return float(len(self.recent))

    def figures(self) -> dict[str, float | int]:
        """Answers per second over the pass, peak one-second rate, the pace and window at the end, 429/503s."""
        span = (self.last_answer or 0.0) - (self.first_sent or 0.0)
        mean = self.answers / span if span > 0 else 0.0
        return {"mean_rate": round(mean, 1), "peak_rate": round(self.peak_rate, 1), "pace": round(self.rate, 1),
                "window": int(self.window), "answers": self.answers, "throttled": self.throttled,
                "faults": self.faults}

    def congested(self, now: float) -> bool:
        """503s are a share of the last second's answers that random failures do not reach."""
        while self.recent_unavailable and self.recent_unavailable[0] < now - _WINDOW_S:
            self.recent_unavailable.popleft()
        unavailable = len(self.recent_unavailable)
        return unavailable >= 5 and unavailable >= CONGESTION_SHARE * (unavailable + self.served_last_second(now))


class AdaptivePoliteness:
    """Per-host pacing shared by every download thread; see the module docstring for the rules."""

    def __init__(self, *, max_window: int = 8, ceiling: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ceiling is not None and not ceiling > 0:
            raise ValueError("ceiling must be a positive number of requests per second")
        self.max_window = max(1, max_window)
        self.ceiling = ceiling
        self._clock = clock
        self._hosts: dict[str, HostPace] = {}
        self._changed = threading.Condition()

    def _pace(self, host: str) -> HostPace:
        pace = self._hosts.get(host)
        if pace is None:
            start = START_RATE if self.ceiling is None else min(START_RATE, self.ceiling)
            window = min(START_WINDOW, self.max_window)
            pace = self._hosts[host] = HostPace(rate=start, window=window, ceiling=self.ceiling)
        return pace

    def acquire(self, host: str, deadline: float | None = None) -> bool:
        """Wait for this host's next slot; ``False`` when ``deadline`` (a ``clock`` time) passes first."""
        with self._changed:
            while True:
                pace = self._pace(host)
                now = self._clock()
                wait = self._wait(pace, now)
                if wait == 0.0:
                    pace.in_flight += 1
                    pace.next_slot = max(pace.next_slot, now) + 1.0 / pace.rate
                    if pace.first_sent is None:
                        pace.first_sent = now
                    return True
                if deadline is not None and now >= deadline:
                    return False
                self._changed.wait(max(min(wait, deadline - now) if deadline is not None else wait, 0.0005))

    def wait_time(self, host: str) -> float:
        """Seconds until ``host`` may be sent the next request (0 when it may be now)."""
        with self._changed:
            return self._wait(self._pace(host), self._clock())

    @staticmethod
    def _wait(pace: HostPace, now: float) -> float:
        if pace.in_flight >= int(pace.window):
            return max(0.05, pace.paused_until - now)  # an answer (which notifies) frees a place
        return max(0.0, pace.paused_until - now, pace.next_slot - now)

    def answered(self, host: str, latency: float, status: int, retry_after: float | None = None) -> None:
        """Record one answer (its time to headers and status) and adjust the host's pace."""
        with self._changed:
            pace = self._pace(host)
            now = self._clock()
            pace.in_flight = max(0, pace.in_flight - 1)
            if status == 503:
                pace.recent_unavailable.append(now)
            if status == 429 or (status == 503 and (retry_after is not None or pace.congested(now))):
                self._throttled(pace, now, retry_after, floor=MIN_RATE if status == 429 else
                                FAULT_FLOOR * pace.peak_rate)
            elif status in FAULT_STATUSES:
                pace.faults += 1  # retried by the fetcher; says nothing about the pace
            else:
                self._served(pace, now, latency)
            self._changed.notify_all()

    def released(self, host: str, fault: bool = False) -> None:
        """A request that got no answer (network error): free its place without judging the host."""
        with self._changed:
            pace = self._pace(host)
            pace.in_flight = max(0, pace.in_flight - 1)
            pace.faults += fault
            self._changed.notify_all()

    def _served(self, pace: HostPace, now: float, latency: float) -> None:
        pace.answers += 1
        pace.last_answer = now
        pace.recent.append(now)
        served = pace.served_last_second(now)
        pace.peak_rate = max(pace.peak_rate, served)
        pace.mean_latency = latency if pace.mean_latency is None else (
            (1 - _EWMA_WEIGHT) * pace.mean_latency + _EWMA_WEIGHT * latency)
        # The baseline forgets slowly, so a host (or a busy machine) settling at a higher latency can grow again.
        best = pace.mean_latency if pace.best_latency is None else pace.best_latency * BASELINE_DRIFT
        pace.best_latency = min(best, pace.mean_latency)
        if pace.mean_latency > LATENCY_TOLERANCE * pace.best_latency + LATENCY_SLACK_S:
            return  # latency rising: hold the pace and the window
        if pace.throttled_before:
            # about `rate` answers arrive per second, so this adds AVOIDANCE_GROWTH_PER_S of the pace (≥ 1/s) per second
            pace.rate += max(AVOIDANCE_GROWTH_PER_S, 1.0 / pace.rate)
        else:
            pace.rate *= SLOW_START_GROWTH
        # A pace far above what the host is actually served at proves nothing: keep it within reach.
        pace.rate = min(pace.rate, max(START_RATE, USED_HEADROOM * served))
        pace.window = min(float(self.max_window), pace.window + 1.0 / pace.window)
        if pace.ceiling is not None:
            pace.rate = min(pace.rate, pace.ceiling)

    def _throttled(self, pace: HostPace, now: float, retry_after: float | None, floor: float = MIN_RATE) -> None:
        pace.throttled += 1
        pace.throttled_before = True
        pause = retry_after if retry_after is not None else DEFAULT_PAUSE_S
        pace.paused_until = max(pace.paused_until, now + pause)
        if now - pace.last_cut >= max(pause, _WINDOW_S):  # answers to one burst count as one signal
            served = pace.served_last_second(now)
            halved = max(MIN_RATE, 0.5 * (min(pace.rate, served) if served else pace.rate))
            pace.rate = max(halved, min(floor, pace.rate))
            if pace.ceiling is not None:
                pace.rate = min(pace.rate, pace.ceiling)
            pace.window = max(1.0, pace.window / 2)
            pace.last_cut = now

    def figures(self) -> dict[str, dict[str, float | int]]:
        """Per host: the rates reached and the pace at the end (see :meth:`HostPace.figures`)."""
        with self._changed:
            return {host: pace.figures() for host, pace in sorted(self._hosts.items())}

    def rate_reached(self) -> float:
        """The fastest host's mean answers per second over the pass (0 before any answer)."""
        return max((float(figures["mean_rate"]) for figures in self.figures().values()), default=0.0)
