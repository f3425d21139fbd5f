"""Throttling and injected faults: the token bucket behind 429s and the seeded dice behind 5xx and drops.

The bucket holds ``rate`` tokens (capacity = rate) and refills at ``rate`` per second; a call that
finds it empty is refused with the whole seconds until the next token (at least 1), which is what a
standard ``Retry-After`` header can carry. Fault dice come from a ``random.Random`` seeded by the
profile, drawn under a lock, so N calls always meet the same faults in the same order.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Literal

from .options import FaultProfile

FaultKind = Literal["none", "drop", "error", "html_error", "app_error", "burst_429"]
ERROR_STATUSES = (500, 502, 503, 504)


class TokenBucket:
    """A classic token bucket; ``rate`` None or 0 lets everything through."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate or 0.0
        self._tokens = self.rate
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take one token: 0.0 when granted, else the seconds until one will be there."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


def retry_after(wait: float) -> str:
    """The ``Retry-After`` value for a wait: whole seconds, at least 1 (RFC 9110 delay-seconds)."""
    return str(max(1, math.ceil(wait)))


@dataclass(frozen=True)
class FaultDecision:
    """What one call will suffer."""

    kind: FaultKind = "none"
    status: int = 200  # the 5xx status when kind == "error"
    slow: bool = False


class FaultInjector:
    """Rolls the dice of the current :class:`FaultProfile`; the profile can be swapped at runtime."""

    def __init__(self, profile: FaultProfile) -> None:
        self._lock = threading.Lock()
        self.set_profile(profile)

    @property
    def profile(self) -> FaultProfile:
        return self._profile

    def set_profile(self, profile: FaultProfile) -> None:
        """Install ``profile`` and restart its seeded stream."""
        with self._lock:
            self._profile = profile
            self._rng = random.Random(profile.seed)

    def draw(self, token_call: bool = False, endpoint: str | None = None, image: bool = False) -> FaultDecision:
        with self._lock:
            profile = self._profile
            excluded = (token_call and not profile.include_token) or (image and not profile.include_images)
            if not profile.active or excluded:
                return FaultDecision()
            if image:  # an image host knows drops, 5xx and slow answers, not gateway envelopes or 429 bursts
                roll, slow_roll, status = self._rng.random(), self._rng.random(), self._rng.choice(ERROR_STATUSES)
                errors_below = profile.drop_rate + profile.error_rate
                hit: FaultKind = "drop" if roll < profile.drop_rate else "error" if roll < errors_below else "none"
                return FaultDecision(hit, status if hit == "error" else 200, slow_roll < profile.slow_rate)
            if endpoint is not None and profile.endpoints and endpoint not in profile.endpoints:
                return FaultDecision()
            roll, slow_roll, status = self._rng.random(), self._rng.random(), self._rng.choice(ERROR_STATUSES)
        slow = slow_roll < profile.slow_rate
        for kind, rate in (("drop", profile.drop_rate), ("error", profile.error_rate),
                           ("html_error", profile.html_error_rate), ("app_error", profile.app_error_rate),
                           ("burst_429", profile.burst_429_rate)):
            if roll < rate:
                return FaultDecision(kind, status if kind == "error" else 200, slow)  # type: ignore[arg-type]
            roll -= rate
        return FaultDecision("none", 200, slow)
