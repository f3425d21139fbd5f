"""OAuth2 client-credentials tokens: fetched once, shared by every thread, refreshed before they die.

Haier's token URL is ``<host>/oauth2/auth``; some gateways answer at
``/oauth2/token`` instead, so when the first gives no token the same host's
``/oauth2/token`` is tried (and remembered). Answers carry ``access_token`` or
``token``, possibly nested under ``data``; ``token_type`` defaults to
``Bearer`` and ``expires_in`` to 3600 s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import endpoints
from .errors import HaierApiError, HaierAuthError, HaierUnavailable
from .redact import Redactor
from .stats import ClientStats
from .transport import Transport

log = logging.getLogger("haier_pipeline.haier_api")

DEFAULT_EXPIRES_IN = 3600.0
REFRESH_MARGIN = 600.0  # Haier: refresh ten minutes before expiry


@dataclass(frozen=True)
class Token:
    """An access token and when to stop using it (monotonic seconds)."""

    value: str = field(repr=False)
    token_type: str
    expires_in: float
    refresh_at: float

    @property
    def header(self) -> str:
        """The ``Authorization`` header value: ``<token_type> <token>``."""
        return f"{self.token_type} {self.value}"


def fallback_url(token_url: str) -> str | None:
    """``<host>/oauth2/token`` for a token URL ending in ``/oauth2/auth``, else ``None``."""
    parts = urlsplit(token_url)
    if not parts.path.rstrip("/").endswith(endpoints.TOKEN_AUTH_PATH):
        return None
    path = parts.path.rstrip("/")[: -len(endpoints.TOKEN_AUTH_PATH)] + endpoints.TOKEN_FALLBACK_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def read_token(payload: Any) -> tuple[str, str, float] | None:
    """``(token, token_type, expires_in)`` from a token answer, or ``None`` when it holds no token."""
    if not isinstance(payload, Mapping):
        return None
    for source in (payload, payload.get("data")):
        if not isinstance(source, Mapping):
            continue
        value = source.get("access_token") or source.get("token")
        if isinstance(value, str) and value.strip():
            token_type = source.get("token_type") or payload.get("token_type")
            if not isinstance(token_type, str) or not token_type.strip():
                token_type = "Bearer"
            expires_in = _seconds(source.get("expires_in", payload.get("expires_in")))
            return value.strip(), token_type.strip(), expires_in
    return None


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return DEFAULT_EXPIRES_IN
    try:
        seconds = float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return DEFAULT_EXPIRES_IN
    return seconds if 0 < seconds < float("inf") else DEFAULT_EXPIRES_IN


class TokenProvider:
    """Hands out the current token; exactly one thread refreshes when it is due or declared dead.

    ``invalidate(token)`` after a 401 only drops the token if it is still the
    current one, so eight threads failing with the same old token cause one
    refresh, not eight.
    """

    def __init__(
        self, transport: Transport, token_url: str, client_id: str, client_secret: str, *, redactor: Redactor,
        stats: ClientStats, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._urls = [token_url] + [url for url in (fallback_url(token_url),) if url]
        self._body = {"client_id": client_id, "client_secret": client_secret, "grant_type": "client_credentials"}
        self._redactor = redactor
        self._stats = stats
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None

    def current(self) -> Token:
        """A token that is not due for refresh, fetching one if needed (one thread at a time)."""
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = self._token = self._fetch()
            return token

    def invalidate(self, token: str) -> bool:
        """Declare ``token`` dead (the gateway said 401); ``False`` (a no-op) if it was already replaced."""
        with self._lock:
            if self._token is not None and self._token.value == token:
                self._token = None
                return True
            return False

    def _fetch(self) -> Token:
        reasons: list[str] = []
        unavailable = False
        for url in list(self._urls):
            path = urlsplit(url).path
            try:
                payload = self._transport.post_json(url, self._body, endpoint=endpoints.TOKEN)
            except HaierApiError as error:
                unavailable = unavailable or isinstance(error, HaierUnavailable)
                reasons.append(f"{path}: {error.message}")
                continue
            found = read_token(payload)
            if found is None:
                reasons.append(f"{path}: answer holds no token{_why(payload)}")
                continue
            value, token_type, expires_in = found
            self._redactor.add(value)
            self._stats.add(tokens_fetched=1)
            if url != self._urls[0]:
                self._urls = [url]  # this gateway answers at the fallback path: go there directly from now on
            margin = min(REFRESH_MARGIN, expires_in / 6)
            log.info("fetched a token from %s (%s, expires in %g s)", path, token_type, expires_in)
            return Token(value, token_type, expires_in, self._clock() + expires_in - margin)
        message = "no token: " + "; ".join(reasons)
        failure = HaierUnavailable if unavailable else HaierAuthError
        raise failure(endpoints.TOKEN, (), self._redactor.text(message, limit=1000))


def _why(payload: Any) -> str:
    if isinstance(payload, Mapping):
        message = next((payload[key] for key in ("message", "msg", "error_description", "error") if payload.get(key)),
                       None)
        if isinstance(message, str) and message:
            return f" ({message})"  # clipped by the caller, after masking
    return ""
