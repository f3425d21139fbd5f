"""The ``HAIER_IMAGE_*`` settings: parsed strictly (errors name the variable) and turned into the pass's policy."""

from __future__ import annotations

import pytest

from haier_pipeline.media.options import ImageOptions
from haier_pipeline.settings import SettingsError, load_settings

REAL_GATEWAY = {
    "HAIER_BASE_URL": "https://openplat-test.haier.net", "HAIER_TOKEN_URL": "https://openplat-test.haier.net/oauth2/auth",
    "HAIER_CLIENT_ID": "id", "HAIER_CLIENT_SECRET": "s3cret", "HAIER_CUSTOMER_CODE": "8800633175",
    "HAIER_SEND_TO_CODE": "8800633176", "HAIER_PASSWORD": "pw",
}


def test_defaults() -> None:
    options = ImageOptions.from_settings(load_settings({}))
    assert (options.limits.max_bytes, options.max_pixels, options.rate_per_host, options.concurrency) == (
        10 * 1024 * 1024, 40_000_000, None, 32)  # no rate ceiling: each host's pace adapts
    assert options.policy.allowed_hosts == ()


@pytest.mark.parametrize(("env", "loopback", "private"), [
    ({}, True, False),  # the built-in sandbox serves images on 127.0.0.1
    (REAL_GATEWAY, False, False),
    ({**REAL_GATEWAY, "HAIER_IMAGE_ALLOW_PRIVATE_HOSTS": "true"}, True, True),
    ({"HAIER_IMAGE_ALLOW_PRIVATE_HOSTS": "false"}, False, False),
])
def test_loopback_follows_the_sandbox_unless_set_explicitly(env: dict, loopback: bool, private: bool) -> None:
    policy = ImageOptions.from_settings(load_settings(env)).policy
    assert (policy.allow_loopback, policy.allow_private) == (loopback, private)


def test_values_are_read() -> None:
    env = {"HAIER_IMAGE_MAX_BYTES": "2048", "HAIER_IMAGE_MAX_PIXELS": "1000000", "HAIER_IMAGE_RATE_LIMIT": "5",
           "HAIER_IMAGE_CONCURRENCY": "3", "HAIER_IMAGE_ALLOWED_HOSTS": " IMG.haier.net, *.haiercdn.com ,"}
    options = ImageOptions.from_settings(load_settings(env))
    assert (options.limits.max_bytes, options.max_pixels, options.rate_per_host, options.concurrency) == (
        2048,
        10**6,
        5,
        3,
    )
    assert options.policy.allowed_hosts == ("img.haier.net", "*.haiercdn.com")


@pytest.mark.parametrize(("name", "value"), [
    ("HAIER_IMAGE_MAX_BYTES", "ten"), ("HAIER_IMAGE_MAX_BYTES", "10"), ("HAIER_IMAGE_MAX_PIXELS", "0"),
    ("HAIER_IMAGE_RATE_LIMIT", "-1"), ("HAIER_IMAGE_CONCURRENCY", "1000"), ("HAIER_IMAGE_ALLOW_PRIVATE_HOSTS", "maybe"),
    ("HAIER_IMAGE_ALLOWED_HOSTS", "https://img.haier.net/"), ("HAIER_IMAGE_ALLOWED_HOSTS", "img.haier.net/x"),
])
def test_a_bad_value_fails_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})
