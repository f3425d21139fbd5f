"""What one bulk write did, row by row: the numbers every writer returns and every asset reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """Rows inserted, updated, left unchanged, skipped on purpose, or failed by one bulk write.

    ``skipped`` counts rows a rule kept the sync away from (``source='local'`` products,
    prices or stock for products the catalog does not hold); ``failed`` counts inputs that
    could not be written (e.g. an empty key). Counts add up with ``+``.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def written(self) -> int:
        """Rows that reached the database (inserted or updated)."""
        return self.inserted + self.updated

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.failed + self.skipped

    def __add__(self, other: WriteCounts) -> WriteCounts:
        if not isinstance(other, WriteCounts):
            return NotImplemented
        return WriteCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.failed + other.failed,
            self.skipped + other.skipped,
        )
