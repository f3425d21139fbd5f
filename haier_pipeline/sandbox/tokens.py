"""OAuth2 client-credentials tokens the sandbox issues and checks.

Tokens are random (:func:`secrets.token_urlsafe`), live ``lifetime`` seconds on the monotonic clock,
and can all be killed at once to play a token that "died early" (the contract's 401 case).
"""

from __future__ import annotations

import secrets
import threading
import time


class TokenStore:
    """Issued tokens and their expiry times."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expiry = {t: at for t, at in self._expiry.items() if at > now}  # forget dead tokens
            self._expiry[token] = now + self.lifetime
        return token

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> int:
        """Invalidate every token; returns how many were alive."""
        now = time.monotonic()
        with self._lock:
            alive = sum(1 for at in self._expiry.values() if at > now)
            self._expiry.clear()
        return alive


def bearer_token(header: str | None) -> str | None:
    """The token in an ``Authorization`` header: ``Bearer <t>`` (any case) or a bare ``<t>``."""
    if not header or not header.strip():
        return None
    parts = header.strip().split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return parts[0] if len(parts) == 1 else None
