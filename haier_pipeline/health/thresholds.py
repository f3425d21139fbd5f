"""The original system's monitoring targets (监控指标) and how a sync's figures are judged against them.

| figure | target | judged when |
|---|---|---|
| ``products_per_minute`` | ≥ 100 | the sync handled at least 100 records (a 3-product sync says nothing about speed) |
| ``success_rate`` | ≥ 95 % | the sync received anything |
| ``api_p95_latency_ms`` | < 5,000 ms | the sync made API calls |
| ``error_rate`` | < 5 % | the sync received anything |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

MIN_RECORDS_FOR_SPEED = 100


@dataclass(frozen=True)
class Target:
    """One figure's line: ``value`` must be ``at_least`` or ``below`` the threshold."""

    figure: str
    threshold: float
    direction: Literal["at_least", "below"]
    unit: str
    description: str

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "at_least" else value < self.threshold

    @property
    def line(self) -> str:
        return f"{'≥' if self.direction == 'at_least' else '<'} {self.threshold:g}{self.unit}"


TARGETS: tuple[Target, ...] = (
    Target("products_per_minute", 100.0, "at_least", " /min", "records synced per minute"),
    Target("success_rate", 0.95, "at_least", "", "share of records synced"),
    Target("api_p95_latency_ms", 5000.0, "below", " ms", "95th percentile of the API's answer times"),
    Target("error_rate", 0.05, "below", "", "share of records that failed"),
)
TARGETS_BY_FIGURE = {target.figure: target for target in TARGETS}


@dataclass(frozen=True)
class Verdict:
    """A figure judged: its value, its line, and whether it held (``None``: not judged, with the reason)."""

    target: Target
    value: float | None
    passed: bool
    skipped: str | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "figure": self.target.figure,
            "value": self.value if self.value is not None else "n/a",
            "threshold": self.target.threshold,
            "target": self.target.line,
            **({"not_judged": self.skipped} if self.skipped else {}),
        }


def _number(value: Any) -> float | None:
    raw = getattr(value, "value", value)  # a MetadataValue or a plain number
    return float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None


def judge(target: Target, figures: Mapping[str, Any]) -> Verdict:
    """Judge ``target`` on one materialisation's metadata ``figures``."""
    value = _number(figures.get(target.figure))
    if value is None:
        return Verdict(target, None, True, f"the materialisation has no {target.figure}")
    received = _number(figures.get("records_received")) or 0.0
    if target.figure == "products_per_minute" and received < MIN_RECORDS_FOR_SPEED:
        return Verdict(target, value, True, f"only {received:g} records (speed is judged from {MIN_RECORDS_FOR_SPEED})")
    if target.figure in ("success_rate", "error_rate") and received == 0:
        return Verdict(target, value, True, "no records received")
    if target.figure == "api_p95_latency_ms" and not _number(figures.get("api_calls")):
        return Verdict(target, value, True, "no API calls")
    return Verdict(target, value, target.passes(value))
