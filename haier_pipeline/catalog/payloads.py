"""Raw payloads to and from JSON text without losing a digit, and the SHA-256 that says whether one changed.

The text is the project's one codec (``haier_api.jsonio``): keys in the order received, every
number's exact digits (``2999.00`` stays ``2999.00``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from haier_pipeline.haier_api.jsonio import dumps


def payload_sha256(text: str) -> str:
    """Hex SHA-256 of the stored text: the identity used to decide whether a payload changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_with_digest(payload: Any) -> tuple[str, str]:
    """``(text, sha256)`` for a payload, ready to store."""
    text = dumps(payload)
    return text, payload_sha256(text)
