"""The sandbox refuses every request Haier would refuse: 400 with a JSON message naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox
from support.sandbox import fetch_token, valid_body

WRONG = "wrong-value"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SandboxOptions(products=60, rate_limit=None)) as running:
        yield running


@pytest.fixture(scope="module")
def session(sandbox: RunningSandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {fetch_token(sandbox, session)}"
        yield session


def _post(session: requests.Session, sandbox: RunningSandbox, endpoint: str, body: Any) -> requests.Response:
    return session.post(sandbox.url(endpoint), json=body, timeout=30)


@pytest.mark.parametrize("endpoint", ["products", "prices", "stock", "logistics", "balances"])
def test_valid_bodies_are_accepted(sandbox: RunningSandbox, session: requests.Session, endpoint: str) -> None:
    assert _post(session, sandbox, endpoint, valid_body(sandbox, endpoint)).status_code == 200


CODES_21 = [f"GA{n:07d}" for n in range(21)]
RULES = [
    # products
    ("products", {"customerCode": None}, "customerCode"),
    ("products", {"customerCode": WRONG}, "customerCode"),
    ("products", {"customerCode": 8800633175}, "customerCode"),
    ("products", {"supplierCode": None}, "supplierCode"),
    ("products", {"supplierCode": "2002"}, "supplierCode"),
    ("products", {"sendToCode": None}, "sendToCode"),  # required when the supplier is 1001
    ("products", {"sendToCode": WRONG}, "sendToCode"),
    ("products", {"searchType": None}, "searchType"),
    ("products", {"searchType": "ALL"}, "searchType"),
    ("products", {"passWord": None}, "passWord"),
    ("products", {"passWord": WRONG}, "passWord"),
    ("products", {"productCodes": CODES_21}, "at most 20"),
    ("products", {"productCodes": []}, "productCodes"),
    ("products", {"productCodes": "GA0SZC00U"}, "productCodes"),
    ("products", {"productCodes": ["GA0SZC00U", 7]}, "productCodes"),
    # prices
    ("prices", {"customerCode": WRONG}, "customerCode"),
    ("prices", {"sendToCode": None}, "sendToCode"),
    ("prices", {"productCodes": None}, "productCodes"),
    ("prices", {"productCodes": CODES_21}, "at most 20"),
    ("prices", {"priceType": "VIP"}, "priceType"),
    ("prices", {"priceType": None}, "priceType"),
    ("prices", {"passWord": WRONG}, "passWord"),
    # stock
    ("stock", {"salesCode": WRONG}, "salesCode"),
    ("stock", {"senderCode": None}, "senderCode"),
    ("stock", {"productCode": None}, "productCode"),
    ("stock", {"productCode": ["GA0SZC00U"]}, "productCode"),
    ("stock", {"countyCode": "11010"}, "countyCode"),
    ("stock", {"countyCode": "1101011"}, "countyCode"),
    ("stock", {"countyCode": "11010a"}, "countyCode"),
    ("stock", {"source": "JSH-C"}, "source"),
    ("stock", {"sellerPassword": WRONG}, "sellerPassword"),
    ("stock", {"sellerPassword": None}, "sellerPassword"),
    # logistics
    ("logistics", {"orderCode": None}, "orderCode"),
    ("logistics", {"sellerCode": WRONG}, "sellerCode"),
    ("logistics", {"sellerPassword": WRONG}, "sellerPassword"),
    ("logistics", {"memberId": "12"}, "memberId"),
    ("logistics", {"deliveryRecordCode": 5}, "deliveryRecordCode"),
    # balance
    ("balances", {"customerCode": WRONG}, "customerCode"),
    ("balances", {"customerPassword": WRONG}, "customerPassword"),
    ("balances", {"customerPassword": None}, "customerPassword"),
]


@pytest.mark.parametrize("endpoint,overrides,fragment", RULES)
def test_each_rule_answers_400(sandbox: RunningSandbox, session: requests.Session, endpoint: str,
                               overrides: dict[str, Any], fragment: str) -> None:
    before = sandbox.stats().answered_400
    response = _post(session, sandbox, endpoint, valid_body(sandbox, endpoint, **overrides))
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False and answer["code"] == "400"
    assert fragment in answer["message"]
    assert WRONG not in answer["message"]
    for secret in (sandbox.options.password, sandbox.options.seller_password, sandbox.options.customer_password):
        assert secret not in response.text
    assert sandbox.stats().answered_400 == before + 1


def test_max_product_codes_is_recorded(sandbox: RunningSandbox, session: requests.Session) -> None:
    _post(session, sandbox, "prices", valid_body(sandbox, "prices", productCodes=CODES_21))
    assert sandbox.stats().max_product_codes == 21


@pytest.mark.parametrize("raw,content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"customerCode": "8800633175"}', "text/plain"),
])
def test_bodies_that_are_not_json_objects_are_refused(sandbox: RunningSandbox, session: requests.Session,
                                                      raw: bytes, content_type: str) -> None:
    response = session.post(sandbox.url("balances"), data=raw, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 400 and response.json()["success"] is False


def test_wrong_method_and_unknown_path(sandbox: RunningSandbox, session: requests.Session) -> None:
    assert session.get(sandbox.url("prices"), timeout=10).status_code == 405
    assert session.post(sandbox.base_url + "/yilihuo/not-a-service", json={}, timeout=10).status_code == 404


def test_supplier_other_than_1001_needs_no_send_to_code() -> None:
    with run_sandbox(SandboxOptions(products=10, supplier_code="2002")) as running:
        token = fetch_token(running)
        body = valid_body(running, "products", sendToCode=None, productCodes=running.catalogue.listing_codes()[:2])
        response = requests.post(running.url("products"), json=body, headers={"Authorization": token}, timeout=10)
        assert response.status_code == 200
        assert [r["productCode"] for r in response.json()["data"]] == running.catalogue.listing_codes()[:2]
