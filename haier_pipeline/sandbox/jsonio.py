"""JSON in and out of the sandbox, with money as exact JSON numbers.

The standard library cannot write a ``Decimal`` as a number, and going through ``float`` would
turn ``2999.00`` into ``2999.0`` (or worse). Each Decimal is first written as a marked string,
which one regular-expression pass then unquotes, so ``Decimal("2999.00")`` reaches the wire as
``2999.00``, digit for digit, at the speed of the C encoder.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\x00D"
_MARKED = re.compile(r'"\\u0000D(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal cannot be written as JSON")
        return f"{_MARK}{value:f}\x00"  # fixed-point: Decimal("0E-2") is written 0.00
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(payload: Any) -> bytes:
    """Serialize ``payload`` as UTF-8 JSON, writing every ``Decimal`` as the exact number it holds."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_default)
    return _MARKED.sub(r"\1", text).encode("utf-8")


def loads(raw: bytes) -> Any:
    """Parse a request body, numbers with a fraction as ``Decimal``."""
    return json.loads(raw.decode("utf-8"), parse_float=Decimal)
