"""Raw payloads to and from JSON text without losing a digit: ``Decimal`` in, the same ``Decimal`` out.

The stored text keeps the payload's keys in the order received and every number's exact
digits (``2999.00`` stays ``2999.00``); its SHA-256 is what "changed since last time" means.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # C-accelerated
from typing import Any

_CONSTANTS = {True: "true", False: "false"}


def encode_payload(payload: Any) -> str:
    """Compact JSON text for a decoded payload; Decimals are written as numbers with their exact digits.

    Floats are refused: payloads must be decoded with ``parse_float=Decimal`` (see :func:`decode_payload`).
    """
    parts: list[str] = []
    _write(payload, parts.append)
    return "".join(parts)


def decode_payload(text: str) -> Any:
    """Parse stored payload text; fractions (and NaN/Infinity) become ``Decimal``, never float."""
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


def payload_sha256(text: str) -> str:
    """Hex SHA-256 of the stored text: the identity used to decide whether a payload changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_with_digest(payload: Any) -> tuple[str, str]:
    """``(text, sha256)`` for a payload, ready to store."""
    text = encode_payload(payload)
    return text, payload_sha256(text)


def _write(value: Any, out: Any) -> None:
    if isinstance(value, str):
        out(encode_basestring(value))
    elif value is None:
        out("null")
    elif value is True or value is False:
        out(_CONSTANTS[value])
    elif isinstance(value, Decimal):
        out(str(value))  # "12.50", "1E+3", "NaN": all read back exactly by decode_payload
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, Mapping):
        out("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"payload keys must be strings, got {type(key).__name__}")
            if not first:
                out(",")
            first = False
            out(encode_basestring(key))
            out(":")
            _write(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for position, item in enumerate(value):
            if position:
                out(",")
            _write(item, out)
        out("]")
    elif isinstance(value, float):
        raise TypeError("float in a payload: decode Haier's JSON with parse_float=Decimal")
    else:
        raise TypeError(f"cannot store {type(value).__name__} in a payload")
