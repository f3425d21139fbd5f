"""Pytest fixtures for a sandbox (test support, kept out of the runtime package).

    from support.sandbox import sandbox_fixture, sandbox_env_fixture
    haier_sandbox = sandbox_fixture(products=200)            # a RunningSandbox per test
    shared_sandbox = sandbox_fixture(scope="session")         # one for the whole run
    haier_env = sandbox_env_fixture("haier_sandbox")          # HAIER_* set to point at it

Keyword arguments are :class:`SandboxOptions` fields. :func:`valid_body` and :func:`fetch_token`
help tests speak to a sandbox over raw HTTP (they are not the project's client).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from haier_pipeline.haier_api.endpoints import BALANCES, LOGISTICS, PRICES, PRODUCTS, STOCK
from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, SandboxProcess, run_sandbox

Sandbox = RunningSandbox | SandboxProcess
DEFAULT_ORDER_CODE = "SO.20190106.000003"


def fetch_token(sandbox: Sandbox, session: requests.Session | None = None, path: str = "/oauth2/auth") -> str:
    """A fresh access token from ``sandbox`` (standard token shape)."""
    body = {"client_id": sandbox.options.client_id, "client_secret": sandbox.options.client_secret,
            "grant_type": "client_credentials"}
    response = (session or requests).post(sandbox.base_url + path, json=body, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def valid_body(sandbox: Sandbox, endpoint: str, **overrides: Any) -> dict[str, Any]:
    """A request body the contract accepts for ``endpoint``; ``overrides`` replace fields (None removes one)."""
    options, codes = sandbox.options, sandbox.catalogue.listing_codes()
    bodies = {
        PRODUCTS: {"customerCode": options.customer_code, "sendToCode": options.send_to_code,
                   "supplierCode": options.supplier_code, "searchType": "PTJSH", "passWord": options.password},
        PRICES: {"customerCode": options.customer_code, "sendToCode": options.send_to_code,
                 "productCodes": codes[:20], "priceType": "PT", "passWord": options.password},
        STOCK: {"salesCode": options.customer_code, "senderCode": options.send_to_code, "productCode": codes[0],
                "countyCode": "110101", "source": "JSH-B", "sellerPassword": options.seller_password},
        LOGISTICS: {"orderCode": DEFAULT_ORDER_CODE, "sellerCode": options.customer_code,
                    "sellerPassword": options.seller_password},
        BALANCES: {"customerCode": options.customer_code, "customerPassword": options.customer_password},
    }
    body = {**bodies[endpoint], **overrides}
    return {name: value for name, value in body.items() if value is not None}


def sandbox_fixture(scope: str = "function", **options: Any) -> Any:
    """A fixture yielding a :class:`RunningSandbox` started with ``SandboxOptions(**options)``."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _sandbox() -> Iterator[RunningSandbox]:
        with run_sandbox(SandboxOptions(**options)) as running:
            yield running

    return _sandbox


def sandbox_env_fixture(sandbox_fixture_name: str = "haier_sandbox") -> Any:
    """A function-scoped fixture that sets every ``HAIER_*`` variable to the named sandbox's values,
    restored after the test, and yields that sandbox."""

    @pytest.fixture
    def _env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSandbox]:
        running: RunningSandbox = request.getfixturevalue(sandbox_fixture_name)
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        yield running

    return _env
