"""The URL policy: only http(s), only public addresses (loopback only for the sandbox), every redirect hop checked."""

from __future__ import annotations

import threading
import time

import pytest
from test_media_support import ImageHost, image_host, make_image  # noqa: F401 - fixture

from haier_pipeline.media.fetch import FetchLimits, ImageFetcher
from haier_pipeline.media.rejections import BLOCKED_URL, HTTP_ERROR, NETWORK_ERROR, OVERSIZED, ImageRejected
from haier_pipeline.media.urls import UrlPolicy, address_allowed, check_url

SANDBOX = UrlPolicy(allow_loopback=True)
STRICT = UrlPolicy()


def fetcher(policy: UrlPolicy = SANDBOX, **limits: object) -> ImageFetcher:
    return ImageFetcher(policy, FetchLimits(**limits), rate_per_host=1000, pool_size=2)  # type: ignore[arg-type]


def rejected(policy: UrlPolicy, url: str) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        check_url(url, policy)
    return caught.value


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "ftp://example.com/a.jpg",
    "gopher://example.com/",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "//example.com/a.jpg",
    "http:///a.jpg",
    "http://user:pw@example.com/a.jpg",
    "http://exa mple.com/a.jpg",
    "http://example.com/a\n.jpg",
    "http://example.com:99999/a.jpg",
    "",
])
def test_non_http_or_malformed_urls_are_refused_without_resolving(url: str) -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("a refused URL must not even be resolved")

    assert rejected(UrlPolicy(resolver=resolver), url).reason == BLOCKED_URL


@pytest.mark.parametrize("address", [
    "169.254.169.254", "100.100.100.200", "fd00:ec2::254", "fe80::1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
    "127.0.0.1", "::1", "0.0.0.0", "::ffff:169.254.169.254", "224.0.0.1", "100.64.0.1",
])
def test_hosts_resolving_to_private_or_metadata_addresses_are_refused(address: str) -> None:
    policy = UrlPolicy(resolver=lambda host, port: [address])
    error = rejected(policy, "http://images.example.com/a.jpg")
    assert error.reason == BLOCKED_URL and "non-public" in error.detail


def test_one_bad_address_among_several_is_enough_to_refuse() -> None:
    policy = UrlPolicy(resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    assert rejected(policy, "https://cdn.example.com/a.jpg").reason == BLOCKED_URL


def test_metadata_addresses_written_as_literals_are_refused_even_for_the_sandbox() -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
                "http://2852039166/", "http://0xa9fea9fe/"):  # the last two are 169.254.169.254 spelt as numbers
        assert rejected(SANDBOX, url).reason == BLOCKED_URL, url


def test_loopback_needs_the_sandbox_setting_and_private_ranges_need_their_own() -> None:
    assert not address_allowed("127.0.0.1") and address_allowed("127.0.0.1", loopback=True)
    assert not address_allowed("10.0.0.1", loopback=True) and address_allowed("10.0.0.1", private=True)
    assert address_allowed("93.184.216.34")
    assert not address_allowed("169.254.169.254", loopback=True, private=True)
    assert rejected(STRICT, "http://127.0.0.1/a.jpg").reason == BLOCKED_URL
    check_url("http://127.0.0.1:8080/a.jpg", SANDBOX)


def test_host_allow_list_matches_exact_names_and_wildcard_subdomains() -> None:
    public = lambda host, port: ["93.184.216.34"]  # noqa: E731
    policy = UrlPolicy(allowed_hosts=("img.haier.net", "*.haiercdn.com"), resolver=public)
    check_url("https://img.haier.net/a.jpg", policy)
    check_url("https://a.b.haiercdn.com/a.jpg", policy)
    for url in ("https://evil.com/a.jpg", "https://img.haier.net.evil.com/a.jpg", "https://haiercdn.com/a.jpg",
                "https://xhaiercdn.com/a.jpg"):
        assert "HAIER_IMAGE_ALLOWED_HOSTS" in rejected(policy, url).detail, url


def test_redirects_to_metadata_or_private_addresses_are_refused_before_connecting(image_host: ImageHost) -> None:
    to_metadata = image_host.redirect("/meta.jpg", "http://169.254.169.254/latest/meta-data/iam")
    to_private = image_host.redirect("/private.jpg", "http://10.20.30.40/secret.jpg")
    to_file = image_host.redirect("/file.jpg", "file:///etc/passwd")
    with fetcher() as client:
        for url in (to_metadata, to_private, to_file):
            with pytest.raises(ImageRejected) as caught:
                client.fetch(url)
            assert caught.value.reason == BLOCKED_URL
        assert client.requests_sent == 3  # one per first hop; the refused hops were never requested


def test_redirects_are_followed_at_most_three_times(image_host: ImageHost) -> None:
    image = make_image()
    image_host.add("/final.png", image)
    image_host.redirect("/r3", "/final.png", 301)
    image_host.redirect("/r2", "/r3", 307)
    image_host.redirect("/r1", "/r2", 308)
    image_host.redirect("/r0", "/r1", 302)
    with fetcher() as client:
        download = client.fetch(image_host.url("/r1"))
        assert download.data == image and download.final_url == image_host.url("/final.png")
        with pytest.raises(ImageRejected, match="more than 3 redirects"):
            client.fetch(image_host.url("/r0"))


def test_a_host_that_resolves_public_but_connects_to_loopback_is_caught_at_connect(image_host: ImageHost) -> None:
    """DNS rebinding: the name checked public, the socket reached 127.0.0.1; nothing is sent."""
    url = image_host.add("/a.png", make_image())
    lying = UrlPolicy(resolver=lambda host, port: ["93.184.216.34"])
    with fetcher(lying) as client, pytest.raises(ImageRejected) as caught:
        client.fetch(url)
    assert caught.value.reason == BLOCKED_URL and "127.0.0.1" in caught.value.detail
    assert image_host.hit_count() == 0


def test_http_errors_are_rejections_with_the_status(image_host: ImageHost) -> None:
    with fetcher() as client, pytest.raises(ImageRejected) as caught:
        client.fetch(image_host.url("/nowhere.jpg"))
    assert (caught.value.reason, caught.value.detail) == (HTTP_ERROR, "HTTP 404")


def test_a_declared_oversized_body_is_refused_from_its_headers(image_host: ImageHost) -> None:
    url = image_host.add("/big.png", b"x" * 5000)
    with fetcher(max_bytes=4096) as client, pytest.raises(ImageRejected) as caught:
        client.fetch(url)
    assert caught.value.reason == OVERSIZED and "declares 5000" in caught.value.detail


def test_an_undeclared_endless_body_is_cut_at_the_ceiling(image_host: ImageHost) -> None:
    """No Content-Length, and the server would send 64 MB: the read stops just past the ceiling."""
    release = threading.Event()
    url = image_host.add("/endless.png", b"\0" * (64 << 20), headers={"Connection": "close", "Content-Length": ""},
                         cut_after=64 << 20, hold=release)
    started = time.monotonic()
    with fetcher(max_bytes=1 << 20) as client, pytest.raises(ImageRejected) as caught:
        client.fetch(url)
    release.set()
    assert caught.value.reason == OVERSIZED and "stopped reading" in caught.value.detail
    assert time.monotonic() - started < 10


def test_compressed_transfers_are_refused_so_nothing_can_inflate(image_host: ImageHost) -> None:
    url = image_host.add("/gz.png", b"\x1f\x8b" + b"\0" * 100, headers={"Content-Encoding": "gzip"})
    with fetcher() as client, pytest.raises(ImageRejected) as caught:
        client.fetch(url)
    assert caught.value.reason == NETWORK_ERROR and "compressed" in caught.value.detail


def test_a_refused_connection_is_a_network_rejection() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with fetcher(connect_timeout=2) as client, pytest.raises(ImageRejected) as caught:
        client.fetch(f"http://127.0.0.1:{port}/a.png")
    assert caught.value.reason == NETWORK_ERROR
