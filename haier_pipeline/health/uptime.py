"""The API's uptime (系统可用时间, target > 99.9 %) from the health checks, kept as daily counts.

The health sensor's cursor holds one ``[ok, checks]`` pair per UTC day for the last 30 days and
the current run of failures, so the figure needs no table and survives daemon restarts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW_DAYS = 30
UPTIME_TARGET = 0.999


@dataclass
class HealthLedger:
    """What the health sensor remembers between ticks."""

    days: dict[str, list[int]] = field(default_factory=dict)  # "YYYY-MM-DD" -> [ok, checks]
    failures_in_row: int = 0
    alerted: bool = False
    last_ok_at: str | None = None

    @classmethod
    def from_cursor(cls, cursor: str | None) -> HealthLedger:
        data = json.loads(cursor) if cursor else {}
        return cls(days={day: [int(ok), int(total)] for day, (ok, total) in data.get("days", {}).items()},
                   failures_in_row=int(data.get("failures_in_row", 0)), alerted=bool(data.get("alerted", False)),
                   last_ok_at=data.get("last_ok_at"))

    def to_cursor(self) -> str:
        return json.dumps({"days": self.days, "failures_in_row": self.failures_in_row, "alerted": self.alerted,
                           "last_ok_at": self.last_ok_at}, sort_keys=True)

    def record(self, ok: bool, now: datetime) -> None:
        """Count one check at ``now`` (timezone-aware) and forget days older than the window."""
        day = now.date().isoformat()
        counts = self.days.setdefault(day, [0, 0])
        counts[0] += int(ok)
        counts[1] += 1
        self.failures_in_row = 0 if ok else self.failures_in_row + 1
        if ok:
            self.last_ok_at = now.isoformat()
        oldest = (now - timedelta(days=WINDOW_DAYS - 1)).date().isoformat()
        self.days = {d: c for d, c in self.days.items() if d >= oldest}

    @property
    def checks(self) -> int:
        return sum(total for _, total in self.days.values())

    @property
    def uptime(self) -> float:
        """Share of the window's checks that passed (1.0 before the first check)."""
        checks = self.checks
        return sum(ok for ok, _ in self.days.values()) / checks if checks else 1.0
