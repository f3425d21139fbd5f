"""Retries and refusals against the real sandbox: what is retried, what is not, and how give-up looks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import ClassVar

import pytest

from haier_pipeline.haier_api import (
    ClientConfig,
    HaierApplicationError,
    HaierClient,
    HaierRequestRejected,
    HaierUnavailable,
    parse_prices,
    parse_stock,
)
from haier_pipeline.haier_api.transport import parse_retry_after
from haier_pipeline.sandbox import FaultProfile, SandboxOptions, run_sandbox
from support.http_server import JsonHandler, QuietServer, serving

FAST_BACKOFF = {"backoff_initial": 0.02, "backoff_max": 0.2}


def make_client(sandbox, **options) -> HaierClient:
    return HaierClient(ClientConfig.from_env(sandbox.env(), **{**FAST_BACKOFF, **options}))


def test_5xx_drops_html_pages_and_429_are_retried_and_results_are_exact() -> None:
    faults = FaultProfile(error_rate=0.12, drop_rate=0.08, html_error_rate=0.05, burst_429_rate=0.03, seed=7)
    with run_sandbox(SandboxOptions(products=200, seed=3, faults=faults)) as sandbox:
        expected_prices = sandbox.catalogue.expected_prices()
        codes = list(expected_prices)
        with make_client(sandbox, max_attempts=8) as client:
            prices = list(client.fetch_prices(codes))
            stock = list(client.fetch_stock((code, "110101") for code in codes[:80]))
            stats = client.stats.snapshot()
        seen = sandbox.stats()
    assert all(result.ok for result in prices + stock), [str(r.error) for r in prices + stock if r.error]
    parsed = parse_prices(record for result in prices for record in result.records)
    assert {record.product_code: record for record in parsed.records} == expected_prices
    expected_stock = sandbox.catalogue.expected_stock("110101")
    assert all(
        parse_stock(r.records[0], r.product_codes[0], "110101") == expected_stock[r.product_codes[0]] for r in stock
    )
    # Every fault kind happened, and each one cost exactly one retry.
    assert seen.injected_5xx and seen.drops and seen.html_errors and seen.answered_429
    assert stats["retries"] == seen.injected_5xx + seen.drops + seen.html_errors + seen.answered_429
    assert stats["attempts"] - stats["attempts_by_endpoint"]["token"] == seen.total_calls
    assert stats["throttled_429"] == seen.answered_429 and stats["network_errors"] == seen.drops


def test_400_is_not_retried_and_carries_the_servers_message() -> None:
    with run_sandbox(SandboxOptions(products=60)) as sandbox:
        env = {**sandbox.env(), "HAIER_PASSWORD": "not-the-password"}
        codes = list(sandbox.catalogue.expected_prices())
        with HaierClient(ClientConfig.from_env(env, **FAST_BACKOFF)) as client:
            results = list(client.fetch_prices(codes))
            attempts = client.stats.snapshot()["attempts_by_endpoint"]["prices"]
        seen = sandbox.stats()
    assert len(results) == 3
    for result in results:
        assert isinstance(result.error, HaierRequestRejected) and result.error.status == 400
        assert "passWord: wrong password" in str(result.error)
        assert result.records == [] and result.error.batch == result.product_codes
    assert seen.calls["prices"] == seen.answered_400 == len(results)
    assert attempts == len(results)


def test_404_is_not_retried() -> None:
    with run_sandbox(SandboxOptions(products=30)) as sandbox:
        env = {**sandbox.env(), "HAIER_BASE_URL": sandbox.base_url + "/wrong-prefix"}
        with HaierClient(ClientConfig.from_env(env, **FAST_BACKOFF)) as client:
            [result] = list(client.fetch_prices(["GA0SZC00U"]))
            attempts = client.stats.snapshot()["attempts_by_endpoint"]["prices"]
    assert isinstance(result.error, HaierRequestRejected) and result.error.status == 404
    assert result.error.endpoint == "prices" and result.error.batch == ("GA0SZC00U",)
    assert attempts == 1


class _Forbidding(JsonHandler):
    """A gateway that hands out tokens but forbids every business call (IP not whitelisted)."""

    hits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.read_body()
        self.hits.append(self.path)
        if self.path.startswith("/oauth2/"):
            self.send_json(200, {"access_token": "stub-token", "expires_in": 3600})
        else:
            self.send_json(403, {"success": False, "code": "403", "message": "IP 127.0.0.1 不在白名单"})


@contextmanager
def forbidding_gateway() -> Iterator[str]:
    """The sandbox never answers 403 to a loopback client, so this one small real server does."""
    _Forbidding.hits = []
    with serving(QuietServer(_Forbidding)) as base_url:
        yield base_url


def test_403_is_not_retried() -> None:
    with forbidding_gateway() as base_url:
        config = ClientConfig(base_url=base_url, client_id="id", client_secret="s", customer_code="c",
                              send_to_code="t", password="p", **FAST_BACKOFF)
        with HaierClient(config) as client:
            results = list(client.fetch_prices([f"P{number}" for number in range(30)]))
    assert [len(result.product_codes) for result in sorted(results, key=lambda r: -len(r.product_codes))] == [20, 10]
    for result in results:
        assert isinstance(result.error, HaierRequestRejected) and result.error.status == 403
        assert "不在白名单" in str(result.error)
    business_hits = [path for path in _Forbidding.hits if not path.startswith("/oauth2/")]
    assert len(business_hits) == 2


def test_application_errors_under_200_raise_and_are_not_retried() -> None:
    with run_sandbox(SandboxOptions(products=40, faults=FaultProfile(app_error_rate=1.0))) as sandbox:
        codes = list(sandbox.catalogue.expected_prices())
        with make_client(sandbox) as client:
            with pytest.raises(HaierApplicationError, match="系统繁忙") as caught:
                client.fetch_balances()
            results = list(client.fetch_prices(codes))
        seen = sandbox.stats()
    assert caught.value.endpoint == "balances"
    assert all(isinstance(result.error, HaierApplicationError) and result.records == [] for result in results)
    assert seen.app_errors == seen.total_calls == 1 + len(results)


def test_give_up_raises_a_typed_error_naming_endpoint_and_batch() -> None:
    with run_sandbox(SandboxOptions(products=40, faults=FaultProfile(error_rate=1.0))) as sandbox:
        codes = list(sandbox.catalogue.expected_prices())
        with make_client(sandbox, max_attempts=3) as client:
            results = list(client.fetch_prices(codes))
            with pytest.raises(HaierUnavailable) as caught:
                client.fetch_logistics("SO.20190106.000003")
        seen = sandbox.stats()
    assert len(results) == 2
    for result in results:
        error = result.error
        assert isinstance(error, HaierUnavailable) and result.records == []
        assert error.endpoint == "prices" and error.batch == result.product_codes
        assert str(error).startswith(f"prices [{result.product_codes[0]}") and "gave up after 3 attempt(s)" in str(
            error
        )
    assert caught.value.batch == ("SO.20190106.000003",) and "SO.20190106.000003" in str(caught.value)
    assert seen.calls["prices"] == 3 * len(results) and seen.calls["logistics"] == 3


def test_deadline_bounds_a_call_even_with_attempts_left() -> None:
    slow = FaultProfile(slow_rate=1.0, slow_seconds=1.0)
    with run_sandbox(SandboxOptions(products=20, faults=slow)) as sandbox:
        with make_client(sandbox, timeout=0.15, deadline=0.5, max_attempts=50) as client:
            started = time.monotonic()
            with pytest.raises(HaierUnavailable, match="ReadTimeout") as caught:
                client.fetch_balances()
            elapsed = time.monotonic() - started
            attempts = client.stats.snapshot()["attempts_by_endpoint"]["balances"]
    assert caught.value.endpoint == "balances"
    assert elapsed < 1.5 and 1 < attempts < 6  # 0.5 s deadline, not 50 attempts x 1 s


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("-3") == 0.0
