"""JSON in and out with exact decimals: numbers with a fraction become ``Decimal``, never float.

``dumps`` writes ``Decimal`` back as a JSON number (not a string), so a stored raw
payload re-parses to exactly what the gateway sent.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    """Parse JSON with ``parse_float=Decimal``; NaN/Infinity also become Decimal (and are flagged by the parsers)."""
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


def dumps(value: Any) -> str:
    """Serialise a decoded payload, writing ``Decimal`` as a JSON number with its exact digits."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        out.append(str(value))  # "12.50", "1E+3", "NaN": all read back by loads()
    elif isinstance(value, dict):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            if position:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))
