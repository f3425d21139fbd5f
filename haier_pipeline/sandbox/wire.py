"""How long the sandbox takes to answer, like a gateway across the wire rather than on loopback.

A real gateway answers in tens to hundreds of milliseconds, each endpoint at its own pace (stock asks
Haier's ERP), with a long tail: the 99th percentile several times the median. And it has only so many
workers: past a *knee* of calls in flight, calls wait for one, so every answer takes longer in
proportion. A :class:`WireProfile` gives each business endpoint a lognormal answer time (median and
p99 ÷ median) and, optionally, that knee; the answer times come from a seeded stream. Image requests
take ``answer_times["images"]`` (a sandbox started as a separate image host: ``image_host``).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

IMAGES = "images"  # the answer_times key of image requests (never "*")
Z_99 = 2.3263478740408408  # the standard normal's 99th percentile


@dataclass(frozen=True)
class AnswerTime:
    """A lognormal answer time: its ``median`` (seconds) and ``tail`` = p99 ÷ median (1: always the median)."""

    median: float = 0.0
    tail: float = 1.0

    def __post_init__(self) -> None:
        if not (0 <= self.median < math.inf):
            raise ValueError(f"answer time median must be >= 0 seconds, got {self.median!r}")
        if not (1 <= self.tail < math.inf):
            raise ValueError(f"answer time tail (p99 / median) must be >= 1, got {self.tail!r}")

    @property
    def sigma(self) -> float:
        return math.log(self.tail) / Z_99

    def draw(self, rng: random.Random) -> float:
        if self.median <= 0:
            return 0.0
        return self.median * math.exp(rng.gauss(0.0, self.sigma)) if self.tail > 1 else self.median

    @classmethod
    def parse(cls, text: str) -> AnswerTime:
        """``"0.15"`` or ``"0.15:4"`` (median seconds, then p99 ÷ median)."""
        median, _, tail = text.partition(":")
        try:
            return cls(float(median), float(tail) if tail else 1.0)
        except ValueError as exc:
            raise ValueError(f"answer time {text!r}: {exc}") from None


@dataclass(frozen=True)
class WireProfile:
    """Answer times per business endpoint (``"*"`` for the others) and the knee past which calls queue."""

    answer_times: Mapping[str, AnswerTime] = field(default_factory=dict)
    knee: int = 0  # business calls in flight the gateway serves at once; 0: no queue
    seed: int = 0

    def __post_init__(self) -> None:
        times = {name: value if isinstance(value, AnswerTime) else AnswerTime(**value)
                 for name, value in dict(self.answer_times).items()}
        object.__setattr__(self, "answer_times", times)  # plain dicts after a JSON round trip
        if self.knee < 0:
            raise ValueError("WireProfile.knee must be >= 0")

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.answer_times.items())), self.knee, self.seed))

    @property
    def active(self) -> bool:
        return self.knee > 0 or any(value.median > 0 for value in self.answer_times.values())

    def for_endpoint(self, endpoint: str) -> AnswerTime:
        return self.answer_times.get(endpoint) or self.answer_times.get("*") or AnswerTime()

    def to_dict(self) -> dict[str, Any]:
        return {"answer_times": {name: {"median": value.median, "tail": value.tail}
                                 for name, value in self.answer_times.items()}, "knee": self.knee, "seed": self.seed}

    def cli_arguments(self) -> list[str]:
        args = [arg for name, value in sorted(self.answer_times.items())
                for arg in ("--answer-time", f"{name}={value.median}:{value.tail}")]
        return args + ["--knee", str(self.knee), "--wire-seed", str(self.seed)]

    @classmethod
    def parse(cls, answer_times: list[str], knee: int = 0, seed: int = 0) -> WireProfile:
        """From ``--answer-time ENDPOINT=MEDIAN[:TAIL]`` values (``ENDPOINT`` ``*``: every other endpoint)."""
        times: dict[str, AnswerTime] = {}
        for text in answer_times:
            name, sep, value = text.partition("=")
            if not sep or not name:
                raise ValueError(f"--answer-time {text!r}: expected ENDPOINT=MEDIAN[:TAIL], e.g. stock=0.15:4")
            times[name] = AnswerTime.parse(value)
        return cls(times, knee, seed)


class Wire:
    """Draws each business call's answer time and counts the calls in flight (for the knee)."""

    def __init__(self, profile: WireProfile) -> None:
        self.profile = profile
        self._rng = random.Random(profile.seed)
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak_in_flight = 0

    @contextmanager
    def call(self) -> Iterator[None]:
        """Around one business call, from arrival to answer."""
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def image_answer_time(self) -> float:
        """Seconds an image request takes (``answer_times["images"]``: the CDN's own answer time)."""
        answer = self.profile.answer_times.get(IMAGES)
        if answer is None:
            return 0.0
        with self._lock:
            return answer.draw(self._rng)

    def answer_time(self, endpoint: str) -> float:
        """Seconds this call of ``endpoint`` takes, queueing past the knee included."""
        with self._lock:
            seconds = self.profile.for_endpoint(endpoint).draw(self._rng)
            in_flight = self._in_flight
        knee = self.profile.knee
        if knee and in_flight > knee:
            seconds = max(seconds, 0.001) * in_flight / knee  # workers shared by more calls than there are
        return seconds
