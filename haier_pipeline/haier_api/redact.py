"""Keeps secrets out of logs and error messages, even when a server echoes them back.

Two layers: known secret values (client secret, passwords, every token this
process has been issued) are replaced wherever they appear, and anything shaped
like a credential (``"passWord": "..."``, ``Bearer ...``, ``access_token=...``)
is masked whatever its value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

SECRET_KEYS = frozenset(
    key.lower()
    for key in (
        "passWord",
        "password",
        "sellerPassword",
        "customerPassword",
        "client_secret",
        "clientSecret",
        "access_token",
        "accessToken",
        "refresh_token",
        "token",
        "Authorization",
    )
)

_KEY_ALTERNATION = "|".join(sorted((re.escape(key) for key in SECRET_KEYS), key=len, reverse=True))
# "key": "value"  /  'key': 'value'  /  key=value. A bare "key: words" is prose ("passWord: wrong
# password") and is left alone; secret values we know are masked wherever they appear anyway.
_KEYED = re.compile(
    rf"""(?P<key>(?P<q>["'])(?:{_KEY_ALTERNATION})(?P=q)\s*:\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&}}\]]+)"""
    rf"""|(?P<key2>\b(?:{_KEY_ALTERNATION})=)(?P<value2>[^\s,;&}}\]]+)""",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/=]+", re.IGNORECASE)


def mask_patterns(text: str) -> str:
    """Mask credential-shaped fragments whatever their values."""
    text = _KEYED.sub(_mask_keyed, text)
    return _SCHEME.sub(lambda match: f"{match.group('scheme')} {MASK}", text)


def _mask_keyed(match: re.Match[str]) -> str:
    if match.group("key2") is not None:
        return f"{match.group('key2')}{MASK}"
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


class Redactor:
    """Masks the secret values it has been told about, plus credential-shaped text.

    Thread-safe: tokens are added as they are issued, from any thread.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *values: str | None) -> None:
        """Remember more secret values (empty and None are ignored)."""
        fresh = {value for value in values if value}
        if not fresh:
            return
        with self._lock:
            merged = set(self._values) | fresh
            self._values = tuple(sorted(merged, key=len, reverse=True))

    def text(self, text: str) -> str:
        """``text`` with every known secret and credential-shaped fragment masked."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return mask_patterns(text)

    def body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a request/response body with secret fields masked, for debug logs."""
        return {key: MASK if key.lower() in SECRET_KEYS else value for key, value in body.items()}
