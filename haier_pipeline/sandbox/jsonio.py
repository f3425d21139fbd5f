"""JSON in and out of the sandbox, with money as exact JSON numbers.

The standard library cannot write a ``Decimal`` as a number, and going through ``float`` would
turn ``2999.00`` into ``2999.0`` (or worse). Each Decimal is first written as a string wrapped in
NUL markers, which two plain replacements then unquote, so ``Decimal("2999.00")`` reaches the wire
as ``2999.00``, digit for digit, at the speed of the C encoder. The sandbox's payloads never carry
NUL characters of their own, so the markers cannot be confused with data.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_OPEN, _CLOSE = "\x00D", "\x00"
_OPEN_JSON, _CLOSE_JSON = '"\\u0000D', '\\u0000"'  # how json.dumps writes the markers with their quotes


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal cannot be written as JSON")
        return f"{_OPEN}{value:f}{_CLOSE}"  # fixed-point: Decimal("0E-2") is written 0.00
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(payload: Any) -> bytes:
    """Serialize ``payload`` as UTF-8 JSON, writing every ``Decimal`` as the exact number it holds."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_default)
    text = text.replace(_OPEN_JSON, "").replace(_CLOSE_JSON, "")
    if "\\u0000" in text:
        raise ValueError("payload strings must not contain NUL characters")
    return text.encode("utf-8")


def loads(raw: bytes) -> Any:
    """Parse a request body, numbers with a fraction as ``Decimal``."""
    return json.loads(raw.decode("utf-8"), parse_float=Decimal)
