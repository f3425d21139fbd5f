"""The one field reader every record parser uses: tolerant of Haier's encodings, exact, sane sizes.

BigDecimal fields are read from JSON numbers or numeric strings into exact ``Decimal`` (never through
float); flags from ``"1"``/``"0"``, ``1``/``0`` or ``true``/``false``; counts from digit strings or integers.

Each check raises :class:`BadField` with a reason naming the field; the record
parsers turn that into a :class:`~haier_pipeline.haier_api.records.RecordError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")

MAX_CODE_LENGTH = 64
MAX_TEXT_LENGTH = 1000
MAX_URL_LENGTH = 2048
MAX_DECIMAL_PLACES = 6
MAX_DECIMAL_DIGITS_BEFORE_POINT = 12
MAX_STOCK_DIGITS = 9
MAX_NUMBER_TEXT = 64  # characters of a numeric string (after trimming blanks)
MAX_PAGE_URLS = 200
MAX_RECORD_DEPTH = 32  # Haier's records nest 2 levels; deeper junk could not even be stored (recursive encoder)

_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$")
_SCALE = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)
_FLAG_TEXT = {"1": "1", "0": "0", "true": "1", "false": "0"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline and return are text


class BadField(ValueError):
    """One field of one record is missing or malformed."""


class Refusals:
    """The fields of one record refused one by one: each reads as None and is named here, the record lands."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def read(self, reader: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``reader(*args, **kwargs)``, or None (with the reason kept) when it refuses the field."""
        try:
            return reader(*args, **kwargs)
        except BadField as bad:
            self.reasons.append(str(bad))
            return None


def _get(raw: Mapping[str, Any], key: str) -> Any:
    return raw.get(key)


def text(raw: Mapping[str, Any], key: str, *, required: bool = False, max_length: int = MAX_TEXT_LENGTH) -> str:
    """A string field; missing/null gives ``""`` unless ``required``."""
    value = _get(raw, key)
    if value is None:
        if required:
            raise BadField(f"{key} is missing")
        return ""
    if not isinstance(value, str):
        raise BadField(f"{key} must be a string, got {type(value).__name__}")
    if len(value) > max_length:
        raise BadField(f"{key} is {len(value)} characters long (limit {max_length})")
    if _TEXT_CONTROL.search(value):  # NUL cannot even be stored in PostgreSQL text: one would sink the whole batch
        raise BadField(f"{key} contains control characters")
    return value


def optional_text(raw: Mapping[str, Any], key: str, *, max_length: int = MAX_TEXT_LENGTH) -> str | None:
    """A string field where missing, null and empty all mean ``None``."""
    return text(raw, key, max_length=max_length) or None


def code(raw: Mapping[str, Any], key: str) -> str:
    """A required identifier: a non-empty string without surrounding blanks or control characters."""
    value = text(raw, key, required=True, max_length=MAX_CODE_LENGTH)
    if not value or value != value.strip() or _CONTROL.search(value):
        raise BadField(f"{key} {value!r} is not a usable code")
    return value


def flag(raw: Mapping[str, Any], key: str) -> str:
    """A required flag as ``"0"``/``"1"``, read from ``"1"``/``"0"``, ``1``/``0`` or ``true``/``false``."""
    value = _get(raw, key)
    if value is None:
        raise BadField(f"{key} is missing")
    return as_flag(value, key)


def as_flag(value: Any, key: str) -> str:
    """One flag value in any of Haier's encodings, as ``"0"``/``"1"``."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) and value in (0, 1):
        return str(value)
    if isinstance(value, str):
        cleaned = value.strip().lower()
        if cleaned in _FLAG_TEXT:
            return _FLAG_TEXT[cleaned]
    raise BadField(f"{key} must be 1/0 or true/false, got {_show(value)}")


def optional_flag(raw: Mapping[str, Any], key: str) -> str | None:
    """A flag that may be missing or null."""
    return None if _get(raw, key) is None else flag(raw, key)


def url(raw: Mapping[str, Any], key: str) -> str | None:
    """An optional URL string (empty means none)."""
    return optional_text(raw, key, max_length=MAX_URL_LENGTH)


def url_list(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """An optional list of URL strings."""
    value = _get(raw, key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadField(f"{key} must be a list of strings, got {type(value).__name__}")
    if len(value) > MAX_PAGE_URLS:
        raise BadField(f"{key} has {len(value)} entries (limit {MAX_PAGE_URLS})")
    urls = []
    for position, item in enumerate(value):
        if not isinstance(item, str) or len(item) > MAX_URL_LENGTH:
            raise BadField(f"{key}[{position}] is not a URL string of at most {MAX_URL_LENGTH} characters")
        if item:
            urls.append(item)
    return tuple(urls)


def decimal(
    raw: Mapping[str, Any], key: str, *, required: bool = False, minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal | None:
    """A BigDecimal field (JSON number or numeric string) as an exact ``Decimal``; missing/null gives None."""
    value = _get(raw, key)
    if value is None:
        if required:
            raise BadField(f"{key} is missing")
        return None
    return as_decimal(value, key, minimum=minimum, maximum=maximum)


def numeric_text(value: str) -> Decimal | None:
    """A numeric string (blanks around it tolerated) as an exact ``Decimal``; None when it is not a number."""
    cleaned = value.strip()
    return Decimal(cleaned) if len(cleaned) <= MAX_NUMBER_TEXT and _NUMBER.match(cleaned) else None


def as_decimal(value: Any, key: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal:
    """One BigDecimal value — a JSON number (int or ``Decimal``) or a numeric string — as an exact ``Decimal``.

    Refused: text, NaN, Infinity, booleans, binary floats (they are never exact), more than
    ``MAX_DECIMAL_PLACES`` significant decimal places, and magnitudes the catalogue cannot hold.
    """
    if isinstance(value, str):
        number = numeric_text(value)
        if number is None:
            raise BadField(f"{key} is not a number: {_show(value)}")
    elif isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        kind = "a binary float" if isinstance(value, float) else type(value).__name__
        raise BadField(f"{key} must be a decimal number, got {kind} {_show(value)}")
    elif isinstance(value, int):
        if abs(value) >= 10**MAX_DECIMAL_DIGITS_BEFORE_POINT:
            raise BadField(f"{key} {_show(value)} is out of range")
        number = Decimal(value)
    else:
        number = value
    if not number.is_finite():
        raise BadField(f"{key} is not a finite number ({number})")
    if number != 0 and number.adjusted() >= MAX_DECIMAL_DIGITS_BEFORE_POINT:
        raise BadField(f"{key} {_show(value)} is out of range")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMAL_PLACES:  # trailing zeros beyond the scale lose nothing: 8990.3700000 is 8990.370000
        scaled = number.quantize(_SCALE)
        if scaled != number:
            raise BadField(f"{key} {_show(value)} has more than {MAX_DECIMAL_PLACES} decimal places")
        number = scaled
    if minimum is not None and number < minimum:
        raise BadField(f"{key} {_show(value)} is below {minimum}")
    if maximum is not None and number > maximum:
        raise BadField(f"{key} {_show(value)} is above {maximum}")
    return number


def whole_number(raw: Mapping[str, Any], key: str) -> int:
    """A required count (``stock``, ``hour``): a digit string or JSON integer; ``"12.0"``/``12.0`` are 12.

    A fraction or a negative number is refused, as is anything with more than ``MAX_STOCK_DIGITS`` digits.
    """
    value = _get(raw, key)
    if value is None:
        raise BadField(f"{key} is missing")
    number = as_decimal(value, key)
    if number < 0 or number != number.to_integral_value():
        raise BadField(f"{key} {_show(value)} is not a non-negative whole number")
    if number >= 10**MAX_STOCK_DIGITS:
        raise BadField(f"{key} {_show(value)} is out of range")
    return int(number)


def stock_count(raw: Mapping[str, Any], key: str) -> int:
    """Haier's stock: a whole number ≥ 0 (see :func:`whole_number`)."""
    return whole_number(raw, key)


def mapping(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An optional nested object (missing/null gives an empty one)."""
    value = _get(raw, key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadField(f"{key} must be an object, got {type(value).__name__}")
    return value


def nested_deeper_than(value: Any, limit: int = MAX_RECORD_DEPTH) -> bool:
    """True when lists/objects inside ``value`` nest more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (Mapping, list)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, Mapping) else item))
    return False


def _show(value: Any, limit: int = 40) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
