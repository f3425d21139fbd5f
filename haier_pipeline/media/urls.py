"""Which image URLs may be fetched: http(s) only, an optional host allow-list, public addresses only.

Server-side request forgery is the risk: an image URL in Haier's payload must not make this
process read ``file://`` paths, the cloud metadata service (169.254.169.254,
100.100.100.200 on Alibaba Cloud) or anything on the private network. Every host is
resolved and every address it resolves to must be public. Loopback is allowed only when the
project runs against its own sandbox (which serves images on 127.0.0.1), private ranges only
when the operator says so (``HAIER_IMAGE_ALLOW_PRIVATE_HOSTS``); link-local, metadata,
multicast and unspecified addresses never are, nor IPv6 forms that carry or reach an IPv4
address through a translator or relay (NAT64, 6to4, IPv4-compatible) or the retired site-local
range — any of them could lead to a private or metadata address the IPv4 checks would refuse.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from .rejections import BLOCKED_URL, ImageRejected

Resolver = Callable[[str, int], Iterable[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2048
# Cloud instance-metadata endpoints outside the link-local range (Alibaba Cloud, AWS IPv6, Oracle).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254", "192.0.0.192")
)
# IPv6 ranges never fetched from, whatever the settings: translators and tunnels to IPv4, and site-local.
REFUSED_IPV6_NETWORKS = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "2002::/16",  # 6to4
        "::/96",  # IPv4-compatible (deprecated)
        "fec0::/10",  # site-local (deprecated)
    )
)


@dataclass(frozen=True)
class UrlPolicy:
    """The rules every URL and every redirect hop must pass."""

    allowed_hosts: tuple[str, ...] = ()  # empty: any host; "*.example.com" matches subdomains
    allow_loopback: bool = False
    allow_private: bool = False
    resolver: Resolver | None = field(default=None, compare=False)

    def address_allowed(self, address: str | IPAddress) -> bool:
        return address_allowed(address, loopback=self.allow_loopback, private=self.allow_private)

    def host_allowed(self, host: str) -> bool:
        if not self.allowed_hosts:
            return True
        host = host.lower().rstrip(".")
        for pattern in self.allowed_hosts:
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]) and host != pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False


def address_allowed(address: str | IPAddress, *, loopback: bool = False, private: bool = False) -> bool:
    """True when a connection to ``address`` is acceptable under the policy."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and not ip.is_loopback and any(ip in n for n in REFUSED_IPV6_NETWORKS):
        return False
    if ip.is_global:
        return True
    if ip.is_loopback:
        return loopback or private
    return private and ip.is_private


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, policy: UrlPolicy) -> SplitResult:
    """The parsed URL when it may be fetched; :class:`ImageRejected` (``blocked_url``) naming why not."""
    if not isinstance(url, str) or not url.strip():
        raise ImageRejected(BLOCKED_URL, "empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise ImageRejected(BLOCKED_URL, f"URL longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ch == "\x7f" for ch in url.strip()):
        raise ImageRejected(BLOCKED_URL, "URL contains whitespace or control characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ImageRejected(BLOCKED_URL, f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ImageRejected(BLOCKED_URL, f"scheme {scheme or '(none)'!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise ImageRejected(BLOCKED_URL, "URLs with user credentials are not fetched")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ImageRejected(BLOCKED_URL, "URL has no host")
    if not policy.host_allowed(host):
        raise ImageRejected(BLOCKED_URL, f"host {host!r} is not in HAIER_IMAGE_ALLOWED_HOSTS")
    resolve = policy.resolver or system_resolver
    try:
        addresses = list(resolve(host, port or (443 if scheme == "https" else 80)))
    except (OSError, UnicodeError) as exc:
        raise ImageRejected(BLOCKED_URL, f"host {host!r} does not resolve ({type(exc).__name__})") from None
    if not addresses:
        raise ImageRejected(BLOCKED_URL, f"host {host!r} does not resolve")
    refused = [a for a in addresses if not policy.address_allowed(a)]
    if refused:
        raise ImageRejected(BLOCKED_URL, f"host {host!r} resolves to a non-public address ({refused[0]})")
    return parts
