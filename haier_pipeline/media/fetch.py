"""Download one image URL with a hard ceiling on bytes and time, following at most three redirects.

The body is streamed and the read stops as soon as it passes ``max_bytes``, so a hostile or
broken server can cost at most ``max_bytes`` of memory and ``total_timeout`` seconds per image:
a server that drips bytes is cut off at the deadline (the connection is shut down under the
read, :mod:`haier_pipeline.haier_api.deadline`), not only checked between 64 KiB chunks.
Redirects are followed by hand, with the URL policy applied to every hop. Content encodings
are refused up front (``Accept-Encoding: identity``) so a small gzip body cannot inflate.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urljoin

import requests

from haier_pipeline.haier_api.deadline import Exchange, hard_deadline, read_capped

from .politeness import (
    FAULT_STATUSES,
    MAX_THROTTLED_ATTEMPTS,
    THROTTLING_STATUSES,
    AdaptivePoliteness,
    retry_after_seconds,
)
from .rejections import BLOCKED_URL, HTTP_ERROR, NETWORK_ERROR, OVERSIZED, TRUNCATED, ImageRejected
from .transport import BlockedAddress, image_session
from .urls import UrlPolicy, check_url, system_resolver

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024
MAX_FAULT_ATTEMPTS = 5  # a 5xx or dropped connection is asked at most this many times in one pass
FAULT_BACKOFF_S = 0.05  # times the faults so far, before asking again


@dataclass(frozen=True)
class FetchLimits:
    """Ceilings for one download."""

    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 60.0
    max_redirects: int = 3


@dataclass(frozen=True)
class Download:
    """The bytes behind one URL (and where they finally came from)."""

    url: str
    final_url: str
    data: bytes
    declared_type: str | None  # the server's Content-Type, informational only


class ImageFetcher:
    """Thread-safe downloader: one pooled session, adaptive per-host pacing, one request counter.

    ``rate_per_host`` (``HAIER_IMAGE_RATE_LIMIT``) is a hard ceiling on each host's pace; ``None`` lets
    the pace adapt freely (:mod:`.politeness`). ``pool_size`` caps the requests in flight to one host.
    """

    def __init__(self, policy: UrlPolicy, limits: FetchLimits, *, rate_per_host: float | None = None,
                 pool_size: int = 8) -> None:
        # Each host is resolved once per fetcher; the connection guard still checks every address actually reached.
        resolve = lru_cache(maxsize=1024)(lambda host, port: tuple((policy.resolver or system_resolver)(host, port)))
        self.policy = replace(policy, resolver=resolve)
        self.limits = limits
        self._session = image_session(self.policy.address_allowed, pool_size)
        self.politeness = AdaptivePoliteness(max_window=pool_size, ceiling=rate_per_host)
        self._lock = threading.Lock()
        self.requests_sent = 0

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ImageFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str) -> Download:
        """The image's bytes, or :class:`ImageRejected` naming why not."""
        deadline = time.monotonic() + self.limits.total_timeout
        with hard_deadline(deadline) as exchange:
            try:
                return self._fetch(url, deadline, exchange)
            except ImageRejected:
                if exchange.expired:
                    raise self._too_slow() from None
                raise

    def _fetch(self, url: str, deadline: float, exchange: Exchange) -> Download:
        current = url
        for _hop in range(self.limits.max_redirects + 1):
            parts = check_url(current, self.policy)
            host = (parts.hostname or "").lower()
            response = self._polite_get(host, current, deadline)
            with response:
                if response.status_code in REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise ImageRejected(HTTP_ERROR, f"HTTP {response.status_code} redirect without Location")
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise ImageRejected(HTTP_ERROR, f"HTTP {response.status_code}")
                data = self._read_bounded(response, exchange)
                if exchange.expired:  # a connection shut at the deadline can read as a short, complete body
                    raise self._too_slow()
                return Download(url, current, data, response.headers.get("Content-Type"))
        raise ImageRejected(BLOCKED_URL, f"more than {self.limits.max_redirects} redirects")

    def _polite_get(self, host: str, url: str, deadline: float) -> requests.Response:
        """GET at the host's pace. A 429 (or a congested 503) slows the host and is asked again after its
        ``Retry-After``; a 5xx or a dropped connection is asked again shortly, up to ``MAX_FAULT_ATTEMPTS``."""
        faults = 0
        for _attempt in range(MAX_THROTTLED_ATTEMPTS):
            if not self.politeness.acquire(host, deadline):
                raise ImageRejected(NETWORK_ERROR, "waiting for the image host's pace exceeded the download time limit")
            sent = time.monotonic()
            try:
                response = self._get(url)
            except ImageRejected as rejected:
                dropped = rejected.reason == NETWORK_ERROR and rejected.detail.startswith("request failed")
                self.politeness.released(host, fault=dropped)
                faults += dropped
                if not dropped or faults >= MAX_FAULT_ATTEMPTS:
                    raise
                time.sleep(FAULT_BACKOFF_S * faults)
                continue
            except BaseException:
                self.politeness.released(host)
                raise
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            self.politeness.answered(host, time.monotonic() - sent, response.status_code, retry_after)
            status = response.status_code
            if status not in THROTTLING_STATUSES and status not in FAULT_STATUSES:
                return response
            response.close()
            if status != 429 and retry_after is None:
                faults += 1
                if faults >= MAX_FAULT_ATTEMPTS:
                    raise ImageRejected(HTTP_ERROR, f"HTTP {status} ({faults} times)")
                time.sleep(FAULT_BACKOFF_S * faults)
        raise ImageRejected(HTTP_ERROR, f"HTTP {response.status_code} (throttled {MAX_THROTTLED_ATTEMPTS} times)")

    def _too_slow(self) -> ImageRejected:
        return ImageRejected(NETWORK_ERROR, f"download took over {self.limits.total_timeout:g} s (cut off)")

    def _get(self, url: str) -> requests.Response:
        with self._lock:
            self.requests_sent += 1
        try:
            return self._session.get(
                url, stream=True, allow_redirects=False,
                timeout=(self.limits.connect_timeout, self.limits.read_timeout),
            )
        except BlockedAddress as exc:
            raise ImageRejected(BLOCKED_URL, str(exc)) from None
        except requests.Timeout:
            raise ImageRejected(NETWORK_ERROR, "timed out") from None
        except requests.RequestException as exc:
            raise ImageRejected(NETWORK_ERROR, f"request failed ({type(exc).__name__})") from None

    def _read_bounded(self, response: requests.Response, exchange: Exchange) -> bytes:
        ceiling = self.limits.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > ceiling:
            raise ImageRejected(OVERSIZED, f"declares {int(declared)} bytes, over the {ceiling}-byte ceiling")
        if response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
            raise ImageRejected(NETWORK_ERROR, "compressed transfer encoding refused")
        try:
            body, over = read_capped(response, exchange, ceiling, CHUNK_BYTES)
        except requests.exceptions.ChunkedEncodingError:
            raise ImageRejected(TRUNCATED, "connection closed before the body ended") from None
        except requests.RequestException as exc:
            raise ImageRejected(NETWORK_ERROR, f"read failed ({type(exc).__name__})") from None
        if over:
            raise ImageRejected(OVERSIZED, f"more than {ceiling} bytes (stopped reading)")
        return body
