"""What the sandbox answers over HTTP matches its ground truth, in Haier's shapes and quirks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from haier_pipeline.haier_api.records import PriceRecord, ProductRecord
from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.orders import DELIVERED, LISTS
from support.sandbox import DEFAULT_ORDER_CODE, fetch_token, valid_body


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SandboxOptions(products=800, seed=3, rate_limit=None)) as running:
        yield running


@pytest.fixture(scope="module")
def session(sandbox: RunningSandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {fetch_token(sandbox, session)}"
        yield session


def _call(session: requests.Session, sandbox: RunningSandbox, endpoint: str, **overrides: Any) -> requests.Response:
    response = session.post(sandbox.url(endpoint), json=valid_body(sandbox, endpoint, **overrides), timeout=60)
    assert response.status_code == 200, response.text
    return response


def _json(response: requests.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def _as_product(raw: dict[str, Any]) -> ProductRecord:
    return ProductRecord(raw["productCode"], raw["productModel"], raw["productGroupNamd"], raw["productBrandName"],
                         raw["productImageUrl"], tuple(raw["productLageUrls"]), raw["isSales"], raw["noSalesReason"])


def _as_price(raw: dict[str, Any]) -> PriceRecord:
    policy = raw["stockRebatePolicy"]
    number = lambda value: None if value is None else Decimal(value)  # noqa: E731 - ints arrive for 0
    return PriceRecord(
        raw["productCode"],
        number(raw.get("supplyPrice")),
        number(raw.get("invoicePrice")),
        None if isinstance(policy, str) else Decimal(policy),
        policy if isinstance(policy, str) else None,
        number(raw["rebateMoney"]),
        raw["reason"],
        raw["isSales"],
    )


def test_full_listing_is_enveloped_and_matches_the_truth(sandbox: RunningSandbox, session: requests.Session) -> None:
    answer = _json(_call(session, sandbox, "products"))
    assert {k: answer[k] for k in ("success", "code", "message")} == {"success": True, "code": "200", "message": "ok"}
    records, catalogue = answer["data"], sandbox.catalogue
    assert len(records) == len(catalogue.listing_codes()) + catalogue.malformed_count + catalogue.duplicate_count
    bad = set(catalogue.malformed_listing_indexes())
    parsed = {}
    for index, raw in enumerate(records):
        if index not in bad:
            parsed.setdefault(raw["productCode"], _as_product(raw))
    assert parsed == catalogue.expected_products()
    assert sandbox.stats().max_product_codes == 0


def test_batch_products_answer_in_request_order(sandbox: RunningSandbox, session: requests.Session) -> None:
    codes = sandbox.catalogue.listing_codes()[100:120]
    answer = _json(_call(session, sandbox, "products", productCodes=[*codes[:19], "ZZ0000000"]))
    expected = sandbox.catalogue.expected_products()
    assert [_as_product(raw) for raw in answer["data"]] == [expected[code] for code in codes[:19]]


def test_prices_are_bare_and_exact(sandbox: RunningSandbox, session: requests.Session) -> None:
    codes = sandbox.catalogue.listing_codes()
    expected = sandbox.catalogue.expected_prices()
    seen = {}
    for start in range(0, 200, 20):
        response = _call(session, sandbox, "prices", productCodes=codes[start:start + 20])
        assert re.search(rb'"supplyPrice":\d+\.\d{2}[,}]', response.content)  # 2999.00, never 2999.0
        answer = _json(response)
        assert isinstance(answer, list)
        seen.update({raw["productCode"]: _as_price(raw) for raw in answer})
    assert seen == {code: expected[code] for code in codes[:200]}
    assert any(isinstance(p.rebate_type, str) for p in seen.values())


def test_stock_answers_per_county(sandbox: RunningSandbox, session: requests.Session) -> None:
    catalogue = sandbox.catalogue
    for county in ("110101", "440305"):
        truth = catalogue.expected_stock(county)
        for code in catalogue.listing_codes()[:15]:
            answer = _json(_call(session, sandbox, "stock", productCode=code, countyCode=county))
            assert answer["success"] is True
            data = answer["data"]
            assert isinstance(data["stock"], str) and int(data["stock"]) == truth[code].stock
            assert data["secCode"] == truth[code].warehouse_code
            assert data["timelinessData"]["isTranfer"] == truth[code].is_transfer
    unknown = _json(_call(session, sandbox, "stock", productCode="ZZ0000000"))["data"]
    assert unknown["stock"] == "0" and unknown["secCode"] is None


def test_logistics_has_three_lists_and_progresses_to_delivered() -> None:
    with run_sandbox(SandboxOptions(products=10, seed=3)) as running, requests.Session() as session:
        session.headers["Authorization"] = fetch_token(running, session)

        def records(order: str) -> list[dict[str, Any]]:
            answer = _json(_call(session, running, "logistics", orderCode=order))
            assert answer["success"] is True and set(answer["data"]) == set(LISTS)
            return [r for name in LISTS[:2] for r in answer["data"][name]]

        orders = [f"SO.201901{day:02d}.{n:06d}" for day in range(1, 6) for n in range(1, 4)]
        first = {order: len(records(order)) for order in orders}
        assert all(count > 0 for count in first.values())
        assert not all(running.catalogue.order_delivered(order) for order in orders)
        for _ in range(5):
            running.advance()
        for order in orders:
            final = records(order)
            assert len(final) >= first[order]
            assert running.catalogue.order_delivered(order)
            assert (final[-1].get("status") or final[-1].get("logisticsStatus")) == DELIVERED
        assert sum(len(records(order)) for order in orders) > sum(first.values())
        one = _json(_call(session, running, "logistics", orderCode=DEFAULT_ORDER_CODE,
                          deliveryRecordCode=f"{DEFAULT_ORDER_CODE}.F1", memberId=42))["data"]
        assert {r["deliveryRecordCode"] for name in LISTS for r in one[name]} == {f"{DEFAULT_ORDER_CODE}.F1"}
        empty = _json(_call(session, running, "logistics", orderCode="NOT-AN-ORDER"))["data"]
        assert empty == {name: [] for name in LISTS}


def test_balance_is_bare_decimal_records(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = _call(session, sandbox, "balances")
    answer = _json(response)
    assert isinstance(answer, list) and 3 <= len(answer) <= 6
    truth = sandbox.catalogue.expected_balances(sandbox.options.customer_code)
    assert [Decimal(r["payerAccountBalance"]) for r in answer] == [b.balance for b in truth]
    assert [r["saleGroupCode"] for r in answer] == [b.sale_group_code for b in truth]
    assert re.search(rb'"payerAccountBalance":-?\d+\.\d{2}[,}]', response.content)


@pytest.mark.parametrize("mode,enveloped", [("always", {"prices", "balances", "products"}), ("never", set())])
def test_envelope_modes(mode: str, enveloped: set[str]) -> None:
    with run_sandbox(SandboxOptions(products=20, envelope=mode)) as running, requests.Session() as session:
        session.headers["Authorization"] = fetch_token(running, session)
        for endpoint in ("prices", "balances", "products", "stock"):
            answer = _call(session, running, endpoint).json()
            is_envelope = isinstance(answer, dict) and answer.get("success") is True and "data" in answer
            assert is_envelope == (endpoint in enveloped or (mode == "always"))


def test_two_sandboxes_with_one_seed_answer_alike() -> None:
    def answers(seed: int) -> list[Any]:
        with run_sandbox(SandboxOptions(products=120, seed=seed)) as running, requests.Session() as session:
            session.headers["Authorization"] = fetch_token(running, session)
            codes = running.catalogue.listing_codes()[:20]
            listing = _call(session, running, "products").text.replace(running.base_url, "BASE")
            prices = _call(session, running, "prices", productCodes=codes).text
            stock = _call(session, running, "stock", productCode=codes[3]).text
            return [listing, prices, stock]

    first = answers(11)
    assert answers(11) == first
    assert answers(12)[0] != first[0]


def test_advance_over_admin_endpoint_changes_the_answers() -> None:
    with run_sandbox(SandboxOptions(products=300, seed=5)) as running, requests.Session() as session:
        session.headers["Authorization"] = fetch_token(running, session)

        def valid_codes() -> set[str]:
            records, bad = (
                _call(session, running, "products").json()["data"],
                running.catalogue.malformed_listing_indexes(),
            )
            return {record["productCode"] for index, record in enumerate(records) if index not in bad}

        before = valid_codes()
        assert requests.post(f"{running.base_url}/_sandbox/advance", timeout=10).json() == {"generation": 1}
        after = valid_codes()
        assert before - after and after - before
        assert after == set(running.catalogue.listing_codes())
        assert requests.get(f"{running.base_url}/_sandbox/stats", timeout=10).json()["generation"] == 1
