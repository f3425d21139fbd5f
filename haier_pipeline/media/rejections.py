"""Why an image was not stored: a short reason category (counted) and a detail line (shown).

A rejection is an expected outcome, not an error: the images pass records it, counts it by
reason and names it in metadata and the sync log; it never fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

# Reason categories, stable so dashboards and tests can count them.
BLOCKED_URL = "blocked_url"
HTTP_ERROR = "http_error"
NETWORK_ERROR = "network_error"
OVERSIZED = "oversized"
TRUNCATED = "truncated"
NOT_AN_IMAGE = "not_an_image"
UNSUPPORTED_FORMAT = "unsupported_format"
DECOMPRESSION_BOMB = "decompression_bomb"

REASONS = (
    BLOCKED_URL, HTTP_ERROR, NETWORK_ERROR, OVERSIZED, TRUNCATED, NOT_AN_IMAGE, UNSUPPORTED_FORMAT,
    DECOMPRESSION_BOMB,
)


class ImageRejected(Exception):
    """Raised by the fetch and validate steps when an image must not be stored."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type[ImageRejected], tuple[str, str]]:
        return ImageRejected, (self.reason, self.detail)  # crosses from the download worker processes intact


@dataclass(frozen=True)
class Rejection:
    """One refused URL with its reason, as reported in metadata and the sync log."""

    url: str
    reason: str
    detail: str

    def describe(self) -> str:
        return f"images: {display_url(self.url)}: {self.reason} ({self.detail})"


def display_url(url: str, limit: int = 300) -> str:
    """The URL safe to show: user info and query string (signed-URL tokens) hidden, length capped."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        shown = urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))
    except ValueError:
        shown = "<unparseable URL>"
    shown = shown.replace("\n", "\\n").replace("\r", "\\r")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
