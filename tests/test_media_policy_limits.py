"""Image hosts cannot reach the inside through IPv6 translators or tunnels, nor hold a download by dripping."""

from __future__ import annotations

import time

import pytest
from test_media_support import make_image

from haier_pipeline.media.fetch import FetchLimits, ImageFetcher
from haier_pipeline.media.rejections import BLOCKED_URL, NETWORK_ERROR, ImageRejected
from haier_pipeline.media.urls import UrlPolicy, address_allowed, check_url
from support.hostile_server import Scripted, hostile_server

ANYTHING_GOES = UrlPolicy(allow_loopback=True, allow_private=True)


@pytest.mark.parametrize("address", [
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix, embedding 169.254.169.254
    "64:ff9b::808:808",  # ... even embedding a public address: the translator is on our side
    "64:ff9b:1::a00:1",  # NAT64 local-use prefix
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:808:808::1",  # 6to4 of a public address
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    "::808:808",  # IPv4-compatible public address
    "fec0::1",  # site-local
    "fef0::1234",
])
def test_translated_tunnelled_and_site_local_ipv6_addresses_are_refused_whatever_the_settings(address: str) -> None:
    assert not address_allowed(address)
    assert not address_allowed(address, loopback=True, private=True)
    policy = UrlPolicy(allow_loopback=True, allow_private=True, resolver=lambda host, port: [address])
    with pytest.raises(ImageRejected) as caught:
        check_url("https://img.example.com/a.jpg", policy)
    assert caught.value.reason == BLOCKED_URL and address in str(caught.value)


@pytest.mark.parametrize("address", ["::1", "2606:4700:4700::1111", "2400:3200::1"])
def test_loopback_and_public_ipv6_are_unaffected(address: str) -> None:
    assert address_allowed(address, loopback=True)
    assert address_allowed(address) == (address != "::1")


def test_an_image_dripping_a_byte_every_100_ms_is_cut_at_the_total_deadline() -> None:
    image = make_image("PNG", (200, 200))
    with hostile_server() as host:
        url = host.script("/slow.png", Scripted(200, image, {"Content-Type": "image/png"}, drip_body=True))
        limits = FetchLimits(read_timeout=5.0, total_timeout=1.0)  # every byte well within the read time-out
        with ImageFetcher(ANYTHING_GOES, limits, rate_per_host=1000, pool_size=2) as fetcher:
            started = time.monotonic()
            with pytest.raises(ImageRejected) as caught:
                fetcher.fetch(url)
            elapsed = time.monotonic() - started
    assert caught.value.reason == NETWORK_ERROR and "took over 1 s" in str(caught.value)
    assert 0.9 < elapsed < 2.5, elapsed
    assert len(image) / 10 > 20  # the whole image would have taken that many seconds


def test_an_image_whose_headers_drip_is_cut_at_the_total_deadline() -> None:
    with hostile_server() as host:
        url = host.script("/slow.png", Scripted(200, make_image(), {"Content-Type": "image/png"}, drip_headers=True))
        with ImageFetcher(
            ANYTHING_GOES, FetchLimits(read_timeout=5.0, total_timeout=1.0), rate_per_host=1000
        ) as fetcher:
            started = time.monotonic()
            with pytest.raises(ImageRejected, match="took over 1 s"):
                fetcher.fetch(url)
    assert time.monotonic() - started < 2.5
