"""The pytest fixture factories the project's conftest uses, and ``env()`` feeding the project's settings."""

from __future__ import annotations

import os

import requests

from haier_pipeline.sandbox import RunningSandbox
from haier_pipeline.settings import load_settings
from support.sandbox import fetch_token, sandbox_env_fixture, sandbox_fixture

sandbox_for_fixture_test = sandbox_fixture(products=25, seed=2)
sandbox_env = sandbox_env_fixture("sandbox_for_fixture_test")


def test_env_fixture_points_the_settings_at_the_sandbox(sandbox_env: RunningSandbox) -> None:
    assert os.environ["HAIER_BASE_URL"] == sandbox_env.base_url
    settings = load_settings()
    assert not settings.uses_sandbox  # a base URL is set: the project talks to "a real gateway" on loopback
    assert settings.token_url == sandbox_env.token_url
    assert settings.customer_password == sandbox_env.options.customer_password
    assert len(sandbox_env.catalogue.listing_codes()) == 25
    assert requests.get(f"{settings.base_url}/_sandbox/health", timeout=10).json()["products"] == 25
    assert fetch_token(sandbox_env)


def test_options_repr_hides_the_secrets(sandbox_for_fixture_test: RunningSandbox) -> None:
    options = sandbox_for_fixture_test.options
    shown = repr(options)
    assert options.customer_code in shown
    for secret in (options.client_secret, options.password, options.seller_password, options.customer_password):
        assert secret not in shown
