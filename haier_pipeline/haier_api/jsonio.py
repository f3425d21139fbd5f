"""JSON in and out with exact decimals: numbers with a fraction become ``Decimal``, never float.

The project's one codec: the client, the sandbox and the catalogue's stored payloads all use it.

``dumps`` writes ``Decimal`` back as a JSON number (not a string), digit for
digit, so a stored raw payload re-parses to exactly what the gateway sent. The
standard encoder cannot emit a Decimal as a number, so each one is written as a
marked string that one regular-expression pass then unquotes.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

# A per-process nonce in the marker: no string inside a payload can pose as a marked Decimal.
_NONCE = secrets.token_hex(8)
_MARK = f"\x00{_NONCE}"
_MARKED = re.compile(rf'"\\u0000{_NONCE}(-?(?:[0-9]+(?:\.[0-9]+)?(?:E[+-]?[0-9]+)?|NaN|Infinity))\\u0000"')


def loads(text: str | bytes) -> Any:
    """Parse JSON with ``parse_float=Decimal``; NaN/Infinity also become Decimal (and are flagged by the parsers).

    JSON nested deeper than the interpreter's stack is a ``ValueError`` like any other garbage, not a
    ``RecursionError`` that would escape the client's error handling and sink the whole run.
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        if value.is_nan():
            return f"{_MARK}NaN\x00"  # kept, so a malformed record stays malformed when re-parsed
        if value.is_infinite():
            return f"{_MARK}{'-' if value < 0 else ''}Infinity\x00"
        return f"{_MARK}{value}\x00"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Serialise a decoded payload, writing every ``Decimal`` as the exact number it holds."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)
    return _MARKED.sub(r"\1", text)


def dump_bytes(value: Any) -> bytes:
    """:func:`dumps` as UTF-8 bytes, for an HTTP body."""
    return dumps(value).encode("utf-8")
