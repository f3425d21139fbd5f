"""The image pass's settings in one object, built from the project's ``HAIER_IMAGE_*`` settings.

Loopback addresses are fetchable when the project runs against its own sandbox
(``HAIER_BASE_URL`` unset); ``HAIER_IMAGE_ALLOW_PRIVATE_HOSTS=true`` allows loopback and private
networks, ``false`` allows neither, whatever the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from haier_pipeline.settings import Settings

from .fetch import FetchLimits
from .urls import UrlPolicy


@dataclass(frozen=True)
class ImageOptions:
    """Limits, URL policy, politeness and concurrency for one images pass."""

    limits: FetchLimits = field(default_factory=FetchLimits)
    policy: UrlPolicy = field(default_factory=UrlPolicy)
    max_pixels: int = 40_000_000
    rate_per_host: float | None = None  # hard ceiling per host; None: the pace adapts (politeness.py)
    concurrency: int = 8
    processes: int = 0  # worker processes that download and validate (workers.py); 0: threads of this process

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageOptions:
        explicit = settings.image_allow_private_hosts
        loopback = (settings.uses_sandbox or gateway_is_loopback(settings.base_url)) if explicit is None else explicit
        return cls(
            limits=FetchLimits(max_bytes=settings.image_max_bytes),
            policy=UrlPolicy(
                allowed_hosts=settings.image_allowed_hosts, allow_loopback=loopback, allow_private=bool(explicit)
            ),
            max_pixels=settings.image_max_pixels,
            rate_per_host=settings.image_rate_limit,
            concurrency=settings.image_concurrency,
            processes=settings.image_processes,
        )


def gateway_is_loopback(base_url: str | None) -> bool:
    """A gateway on this machine (a standalone sandbox) serves its images on loopback too."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(base_url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
