"""Keeps secrets out of logs and error messages, even when a server echoes them back.

Two layers: known secret values (client secret, passwords, every token this
process has been issued) are replaced wherever they appear — also as they look
JSON-escaped, URL-encoded or ``repr``'d — and anything shaped like a credential
(``"passWord": "..."``, ``Bearer ...``, ``access_token=...``) is masked whatever
its value. Text is always masked before it is shortened (:func:`clip`): a
secret cut in half would no longer be recognised.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

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
# The quotes may be escaped (a JSON document inside a JSON string: \"password\":\"...\").
_KEYED = re.compile(
    rf"""(?P<key>(?P<q>\\?["'])(?:{_KEY_ALTERNATION})(?P=q)\s*:\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&}}\]]+)"""
    rf"""|(?P<key2>\b(?:{_KEY_ALTERNATION})=)(?P<value2>[^\s,;&}}\]]+)""",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"\b(?P<scheme>Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/=]+", re.IGNORECASE)


def clip(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters (with an ellipsis); mask it first."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def escaped_forms(value: str) -> set[str]:
    """``value`` as it may appear in a log or an echoed body: itself, JSON-escaped, URL-encoded, repr'd."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value),
        quote(value, safe=""),
        quote_plus(value, safe=""),
        quote(value, safe="/:@!$&'()*+,;="),
    }
    forms.add(json.dumps(json.dumps(value)[1:-1])[1:-1])  # JSON inside a JSON string
    return {form for form in forms if form}


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
        """Remember more secret values and their escaped forms (empty and None are ignored)."""
        fresh = {form for value in values if value for form in escaped_forms(value)}
        if not fresh:
            return
        with self._lock:
            merged = set(self._values) | fresh
            self._values = tuple(sorted(merged, key=len, reverse=True))

    def text(self, text: str, limit: int | None = None) -> str:
        """``text`` with every known secret and credential-shaped fragment masked, then clipped to ``limit``."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        text = mask_patterns(text)
        return text if limit is None else clip(text, limit)

    def body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a request/response body with secret fields masked, for debug logs."""
        return {key: MASK if key.lower() in SECRET_KEYS else value for key, value in body.items()}
