"""The image downloader's HTTP session: pooled, retried politely, and re-checking every connected address.

``check_url`` vets a host by resolving it, but DNS can answer differently a moment later
(DNS rebinding). So the connection classes here look at the socket's actual peer address
right after connecting and refuse it under the same rule; the request never leaves.
Proxies and ``.netrc`` from the environment are ignored (``trust_env = False``) so the peer
checked is the image host itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from urllib3.connection import HTTPConnection
from urllib3.util.retry import Retry

from haier_pipeline.haier_api.deadline import DeadlineAdapter, watched

USER_AGENT = "haier-pipeline-images/1.0"


class BlockedAddress(Exception):
    """A connection reached an address the URL policy refuses (raised before any byte is sent)."""


def _guarded(base: type[HTTPConnection], allowed: Callable[[str], bool]) -> type[HTTPConnection]:
    class GuardedConnection(base):  # type: ignore[valid-type, misc]
        def _new_conn(self) -> Any:
            sock = super()._new_conn()
            peer = str(sock.getpeername()[0])
            if not allowed(peer):
                sock.close()
                raise BlockedAddress(f"connected address {peer} is not public")
            return sock

    return GuardedConnection


class GuardedAdapter(DeadlineAdapter):
    """An adapter whose connections enforce ``allowed(peer_ip)`` and the download's hard deadline."""

    def __init__(self, allowed: Callable[[str], bool], pool_size: int, retries: Retry) -> None:
        self._allowed = allowed
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=retries, pool_block=False)

    def connection_class(self, base: type[HTTPConnection]) -> type[HTTPConnection]:
        return _guarded(watched(base), self._allowed)


def image_session(allowed: Callable[[str], bool], pool_size: int) -> requests.Session:
    """A session for image downloads: guarded pools, a few retries on 5xx and connect errors, no redirects.

    429 and 503 are not retried here: they are the host asking us to slow down, which the fetcher's
    adaptive pacing (``politeness.py``) hears and obeys.
    """
    retries = Retry(
        total=3, connect=2, read=1, status=2, redirect=0, other=0,
        status_forcelist=(500, 502, 504), allowed_methods=frozenset({"GET"}),
        backoff_factor=0.2, backoff_max=2.0, backoff_jitter=0.1,
        respect_retry_after_header=False, raise_on_status=False, raise_on_redirect=False,
    )
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity"})
    adapter = GuardedAdapter(allowed, pool_size, retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
