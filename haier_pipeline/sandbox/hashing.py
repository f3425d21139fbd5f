"""Deterministic randomness keyed by names, so every sandbox fact is a pure function of its key.

Each fact (a product's brand, a county's stock, an image's kind) hashes its own key with BLAKE2b,
so it never depends on how many other facts were computed before it or in which order.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


class Draws:
    """A stream of uniform draws taken from one 512-bit digest of ``parts`` (ample for a dozen draws)."""

    __slots__ = ("_value",)

    def __init__(self, *parts: object) -> None:
        key = "\x1f".join(str(part) for part in parts).encode("utf-8")
        self._value = int.from_bytes(hashlib.blake2b(key, digest_size=64).digest(), "little")

    def below(self, bound: int) -> int:
        """A whole number in ``[0, bound)``."""
        self._value, result = divmod(self._value, bound)
        return result

    def chance(self, probability: float) -> bool:
        """True with ``probability`` (resolution 1e-6)."""
        return self.below(1_000_000) < probability * 1_000_000

    def pick(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def weighted(self, table: Weighted[T]) -> T:
        """One item of ``table``, chosen with its weights."""
        return table.items[bisect_right(table.bounds, self.below(table.total))]


class Weighted(Generic[T]):
    """Items with integer weights, prepared once for fast weighted draws."""

    __slots__ = ("items", "bounds", "total")

    def __init__(self, pairs: Sequence[tuple[T, int]]) -> None:
        self.items = tuple(item for item, _ in pairs)
        self.bounds = tuple(accumulate(weight for _, weight in pairs))
        self.total = self.bounds[-1]
