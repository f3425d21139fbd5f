"""Tokens against the real sandbox: URL fallback, answer shapes, refresh before expiry, one refresh per 401."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from haier_pipeline.haier_api import ClientConfig, HaierAuthError, HaierClient, parse_stock
from haier_pipeline.sandbox import SandboxOptions, run_sandbox


class RecordingSession(requests.Session):
    """A real session that remembers which URLs it was asked to POST to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        with self._lock:
            self.urls.append(url)
        return super().request(method, url, *args, **kwargs)


def test_token_url_falls_back_to_oauth2_token_and_remembers_it() -> None:
    with run_sandbox(SandboxOptions(products=20, token_path="token")) as sandbox:
        env = sandbox.env()
        assert env["HAIER_TOKEN_URL"].endswith("/oauth2/auth")  # configured as Haier documents it
        session = RecordingSession()
        with HaierClient(ClientConfig.from_env(env), session=session) as client:
            first = client.fetch_balances()
            sandbox.expire_tokens()
            second = client.fetch_balances()  # 401, then a new token straight from /oauth2/token
            stats = client.stats.snapshot()
        token_urls = [url.removeprefix(sandbox.base_url) for url in session.urls if "/oauth2/" in url]
        seen = sandbox.stats()
    assert first.records and second.records == first.records
    assert token_urls == ["/oauth2/auth", "/oauth2/token", "/oauth2/token"]
    assert seen.tokens_issued == stats["tokens_fetched"] == 2 and stats["refreshes_after_401"] == 1


@pytest.mark.parametrize("shape", ["standard", "token", "data"])
def test_every_token_answer_shape_is_understood(shape: str) -> None:
    with run_sandbox(SandboxOptions(products=20, token_shape=shape)) as sandbox:
        with HaierClient(ClientConfig.from_env(sandbox.env())) as client:
            balances = client.fetch_balances()
            token = client.tokens.current()
    assert balances.records == sandbox.catalogue.expected_balances(sandbox.env()["HAIER_CUSTOMER_CODE"])
    assert token.token_type == "Bearer"
    assert token.expires_in == (3600.0 if shape == "data" else 3600)  # "data" carries no expires_in: assume an hour


def _pairs(sandbox, counties: tuple[str, ...]) -> list[tuple[str, str]]:
    codes = list(sandbox.catalogue.expected_stock(counties[0]))
    return [(code, county) for county in counties for code in codes]


def _check_exact(sandbox, results) -> None:
    truths = {}
    for result in results:
        assert result.ok, str(result.error)
        county = result.county_code
        truth = truths.setdefault(county, sandbox.catalogue.expected_stock(county))
        code = result.product_codes[0]
        assert parse_stock(result.records[0], code, county) == truth[code]


def test_expired_token_mid_run_is_refreshed_exactly_once_under_eight_threads() -> None:
    with run_sandbox(SandboxOptions(products=60, rate_limit=None)) as sandbox:
        pairs = _pairs(sandbox, ("110101", "310104"))
        with HaierClient(ClientConfig.from_env(sandbox.env(), max_concurrency=8, rate_limit=1000)) as client:
            results = []
            for result in client.fetch_stock(pairs):
                results.append(result)
                if len(results) == 30:
                    assert sandbox.expire_tokens() == 1  # the token dies while calls are in flight
            stats = client.stats.snapshot()
        seen = sandbox.stats()
    assert len(results) == len(pairs)
    _check_exact(sandbox, results)
    assert seen.tokens_issued == stats["tokens_fetched"] == 2
    assert stats["refreshes_after_401"] == 1
    # every thread holding the dead token met one 401 at most, and each was repeated once
    assert 1 <= seen.answered_401 == stats["unauthorized_401"] <= 8
    assert seen.calls["stock"] == len(pairs) + seen.answered_401


def test_short_lived_tokens_are_refreshed_before_they_expire() -> None:
    """A short expires_in: the client renews ahead of expiry (a sixth of the lifetime, at most ten minutes)."""
    lifetime = 1.2
    with run_sandbox(SandboxOptions(products=100, token_lifetime=lifetime)) as sandbox:
        pairs = _pairs(sandbox, ("110101", "310104", "440305"))
        with HaierClient(ClientConfig.from_env(sandbox.env(), max_concurrency=8)) as client:
            started = time.monotonic()
            results = list(client.fetch_stock(pairs))
            elapsed = time.monotonic() - started
            stats = client.stats.snapshot()
        seen = sandbox.stats()
    _check_exact(sandbox, results)
    assert elapsed > 2 * lifetime  # the run outlived at least two tokens
    assert seen.tokens_issued == stats["tokens_fetched"]
    renew_every = lifetime * 5 / 6
    # one refresh per renewal point, not one per thread
    assert elapsed / lifetime <= seen.tokens_issued <= elapsed / renew_every + 2
    assert stats["refreshes_after_401"] <= 1


def test_tokens_that_die_early_cost_one_refresh_per_death_under_eight_threads() -> None:
    """The "data" token shape has no expires_in, so the client assumes an hour; the sandbox kills it after 0.8 s."""
    with run_sandbox(SandboxOptions(products=100, token_shape="data", token_lifetime=0.8)) as sandbox:
        pairs = _pairs(sandbox, ("110101", "310104"))
        with HaierClient(ClientConfig.from_env(sandbox.env(), max_concurrency=8)) as client:
            started = time.monotonic()
            results = list(client.fetch_stock(pairs))
            elapsed = time.monotonic() - started
            stats = client.stats.snapshot()
        seen = sandbox.stats()
    _check_exact(sandbox, results)
    deaths = stats["refreshes_after_401"]
    assert deaths >= int(elapsed / 0.8) - 1 >= 1
    assert seen.tokens_issued == stats["tokens_fetched"] == 1 + deaths
    assert deaths <= seen.answered_401 <= 8 * deaths


def test_refused_credentials_stop_the_stream_with_an_auth_error() -> None:
    with run_sandbox(SandboxOptions(products=60)) as sandbox:
        secret = "definitely-wrong-secret"
        env = {**sandbox.env(), "HAIER_CLIENT_SECRET": secret}
        codes = list(sandbox.catalogue.expected_prices())
        with HaierClient(ClientConfig.from_env(env, max_concurrency=2)) as client:
            with pytest.raises(HaierAuthError) as caught:
                list(client.fetch_prices(codes))
        seen = sandbox.stats()
    error = caught.value
    assert error.endpoint == "prices" and error.batch and set(error.batch) <= set(codes)
    assert "client authentication failed" in str(error) and secret not in str(error)
    assert seen.total_calls == 0 and seen.tokens_issued == 0


def test_sixteen_threads_asking_at_once_cause_one_token_request() -> None:
    with run_sandbox(SandboxOptions(products=10, latency=0.05)) as sandbox:
        with HaierClient(ClientConfig.from_env(sandbox.env())) as client:
            barrier = threading.Barrier(16)
            tokens: list[str] = []

            def ask() -> None:
                barrier.wait(timeout=10)
                tokens.append(client.tokens.current().value)

            threads = [threading.Thread(target=ask) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        seen = sandbox.stats()
    assert len(tokens) == 16 and len(set(tokens)) == 1
    assert seen.token_requests == seen.tokens_issued == 1
