"""Field-level checks shared by the record parsers: strict types, sane sizes, exact decimals.

Each check raises :class:`BadField` with a reason naming the field; the record
parsers turn that into a :class:`~haier_pipeline.haier_api.records.RecordError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

MAX_CODE_LENGTH = 64
MAX_TEXT_LENGTH = 1000
MAX_URL_LENGTH = 2048
MAX_DECIMAL_PLACES = 6
MAX_DECIMAL_DIGITS_BEFORE_POINT = 12
MAX_STOCK_DIGITS = 9
MAX_PAGE_URLS = 200
MAX_RECORD_DEPTH = 32  # Haier's records nest 2 levels; deeper junk could not even be stored (recursive encoder)

_DIGITS = re.compile(r"^[0-9]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline and return are text


class BadField(ValueError):
    """One field of one record is missing or malformed."""


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
    """A required ``"0"``/``"1"`` string flag."""
    value = _get(raw, key)
    if value not in ("0", "1"):
        raise BadField(f"{key} must be \"0\" or \"1\", got {_show(value)}")
    return value


def optional_flag(raw: Mapping[str, Any], key: str) -> str | None:
    """A ``"0"``/``"1"`` string flag that may be missing or null."""
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
    """An exact decimal field: a JSON number parsed as ``Decimal`` (or an int), finite, with sane size."""
    value = _get(raw, key)
    if value is None:
        if required:
            raise BadField(f"{key} is missing")
        return None
    return as_decimal(value, key, minimum=minimum, maximum=maximum)


def as_decimal(value: Any, key: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal:
    """Check one value is an acceptable exact decimal and return it as ``Decimal``."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        kind = "a binary float" if isinstance(value, float) else type(value).__name__
        raise BadField(f"{key} must be a decimal number, got {kind} {_show(value)}")
    if isinstance(value, int):
        if abs(value) >= 10**MAX_DECIMAL_DIGITS_BEFORE_POINT:
            raise BadField(f"{key} {_show(value)} is out of range")
        value = Decimal(value)
    if not value.is_finite():
        raise BadField(f"{key} is not a finite number ({value})")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMAL_PLACES:
        raise BadField(f"{key} {_show(value)} has more than {MAX_DECIMAL_PLACES} decimal places")
    if value != 0 and value.adjusted() >= MAX_DECIMAL_DIGITS_BEFORE_POINT:
        raise BadField(f"{key} {_show(value)} is out of range")
    if minimum is not None and value < minimum:
        raise BadField(f"{key} {_show(value)} is below {minimum}")
    if maximum is not None and value > maximum:
        raise BadField(f"{key} {_show(value)} is above {maximum}")
    return value


def stock_count(raw: Mapping[str, Any], key: str) -> int:
    """Haier's stock: a string of digits (``"12"``), never negative, never fractional."""
    value = _get(raw, key)
    if value is None:
        raise BadField(f"{key} is missing")
    if not isinstance(value, str):
        raise BadField(f"{key} must be a string of digits, got {type(value).__name__} {_show(value)}")
    if not _DIGITS.match(value) or len(value) > MAX_STOCK_DIGITS:
        raise BadField(f"{key} {_show(value)} is not a non-negative whole number")
    return int(value)


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
