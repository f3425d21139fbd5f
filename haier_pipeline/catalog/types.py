"""Column types that behave the same on SQLite and PostgreSQL: exact decimals, UTC times, JSON lists.

Plain ``Numeric`` on SQLite binds ``Decimal`` as a Python float and reads floats back;
``DateTime(timezone=True)`` on SQLite stores and returns naive values. These decorators
keep money exact and time zone-aware on both engines, so the write code never branches
on the dialect.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NUMERIC, TypeDecorator, TypeEngine

SQLITE_DIGITS = 15
"""SQLite's NUMERIC affinity keeps the first 15 significant digits of a decimal text (then stores a REAL)."""


class _SqliteExactNumeric(NUMERIC):
    """``NUMERIC(p, s)`` in SQLite DDL, but values pass as decimal text, never through a Python float.

    SQLite converts the text to INTEGER or REAL keeping 15 significant digits, which
    ``repr(float)`` gives back exactly; longer values are refused rather than rounded.
    """

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


class ExactDecimal(TypeDecorator[Decimal]):
    """``NUMERIC(precision, scale)`` read and written as ``Decimal`` quantized to ``scale``, never via float.

    Inputs are rounded half-even to the column's scale on the way in, so a value read back
    compares equal to the value written (``2999.00`` -> ``2999.0000``). Floats are refused.
    On SQLite a value needing more than 15 significant digits (e.g. 123456789012.3456) is
    refused with a ValueError instead of being silently rounded; PostgreSQL stores the
    column's full precision.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 4) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)
        self._sqlite_safe = Decimal(10) ** max(SQLITE_DIGITS - scale, 0)  # below this, 15 digits always suffice

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteExactNumeric(self.precision, self.scale))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def quantize(self, value: Decimal | int | str | None) -> Decimal | None:
        """The value as this column stores it (rounded to its scale); None stays None."""
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money and rates must be Decimal, not float")
        number = value if isinstance(value, Decimal) else Decimal(value)
        if not number.is_finite():
            raise ValueError(f"not a finite decimal: {number}")
        return number.quantize(self.quantum, rounding=ROUND_HALF_EVEN)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        number = self.quantize(value)
        if number is None or dialect.name != "sqlite":
            return number
        if abs(number) >= self._sqlite_safe and len(number.normalize().as_tuple().digits) > SQLITE_DIGITS:
            raise ValueError(f"{number} needs more than {SQLITE_DIGITS} significant digits, the most SQLite keeps "
                             "exactly")
        return str(number)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value.quantize(self.quantum)
        # SQLite hands back int or float (at most 15 significant digits, which repr() restores exactly).
        return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(self.quantum)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored as UTC; naive datetimes are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: pass an aware value such as datetime.now(timezone.utc)")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JsonList(TypeDecorator[list]):
    """A list of strings kept as JSON text (``'[]'`` when empty), e.g. image URLs."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return json.loads(value) if value else []


MONEY = ExactDecimal(18, 6)
"""Money and the direct discount (a rate or an amount): 12 digits before the point and 6 after — exactly what
the field reader accepts (``haier_api.fields``: ``MAX_DECIMAL_DIGITS_BEFORE_POINT``, ``MAX_DECIMAL_PLACES``)."""
