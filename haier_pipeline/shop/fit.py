"""Values the shop's columns cannot hold exactly, stored the way Django would have stored them, and counted.

Django 5 hands a ``Decimal`` to the driver unchanged (``adapt_decimalfield_value`` no longer
quantizes): PostgreSQL then rounds ``numeric(10, 2)`` half away from zero, while SQLite keeps
the value and Django's ORM reads it back quantized half-even with the field's context. So a
value is rounded the way the shop's own ORM will show it on that database, and the stored
row is that value exactly. Too many integer digits (Django would fail the save) becomes NULL
in a nullable column. Text longer than a ``CharField`` is cut to ``max_length`` (PostgreSQL
would refuse it; SQLite would keep it and ``full_clean`` would reject it); NULL in a NOT NULL
``CharField`` becomes ``""``, its default. Every adjustment is counted by column and kind;
the project's own catalogue is never changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from sqlalchemy import Column, String

from haier_pipeline.catalog.types import ExactDecimal

ROUNDING = {"postgresql": ROUND_HALF_UP, "sqlite": ROUND_HALF_EVEN}
EXAMPLES = 20


@dataclass
class Adjustments:
    """What had to change to fit: ``{"stock_rebate rounded": 12, "name truncated": 1}`` and a few examples."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def note(self, column: str, kind: str, code: str, before: object, after: object) -> None:
        self.counts[f"{column} {kind}"] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{code}: {column} {before!r} → {after!r}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Fitter:
    """Fits values into one shop database's columns (the rounding depends on its dialect)."""

    dialect: str
    adjustments: Adjustments = field(default_factory=Adjustments)

    def decimal(self, column: Column, value: Decimal | None, code: str) -> Decimal | None:
        if value is None:
            return None
        kind = column.type
        assert isinstance(kind, ExactDecimal), column
        fitted = value.quantize(kind.quantum, rounding=ROUNDING.get(self.dialect, ROUND_HALF_EVEN))
        if abs(fitted) >= Decimal(10) ** (kind.precision - kind.scale):
            self.adjustments.note(column.name, "out of range", code, value, None)
            return None
        if fitted != value:
            self.adjustments.note(column.name, "rounded", code, value, fitted)
        return fitted

    def text(self, column: Column, value: str | None, code: str) -> str:
        if value is None:
            return ""
        length = column.type.length if isinstance(column.type, String) else None
        if length is not None and len(value) > length:
            self.adjustments.note(column.name, "truncated", code, value, value[:length])
            return value[:length]
        return value
