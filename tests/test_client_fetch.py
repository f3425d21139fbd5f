"""The client against the real sandbox over HTTP: batching, streaming, exact results, every endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from haier_pipeline.haier_api import (
    ClientConfig,
    HaierClient,
    parse_prices,
    parse_products,
    parse_stock,
)
from haier_pipeline.haier_api.endpoints import MAX_CODES_PER_CALL
from haier_pipeline.sandbox import SandboxOptions, run_sandbox


@pytest.fixture(scope="module")
def sandbox():
    with run_sandbox(SandboxOptions(products=230, seed=11)) as running:
        yield running


def make_client(sandbox, **options) -> HaierClient:
    return HaierClient(ClientConfig.from_env(sandbox.env(), **options))


def test_listing_is_one_call_and_parses_to_the_ground_truth(sandbox) -> None:
    truth = sandbox.catalogue
    with make_client(sandbox) as client:
        before = sandbox.stats().calls.get("products", 0)
        [listing] = list(client.fetch_products())
    assert sandbox.stats().calls["products"] - before == 1
    assert listing.ok and listing.product_codes == ()
    parsed = parse_products(listing.records)
    assert {record.product_code: record for record in parsed.records} == truth.expected_products()
    # Every malformed entry is reported by position, and nothing else is.
    assert sorted(error.index for error in parsed.errors) == truth.malformed_listing_indexes()
    assert all(error.reason for error in parsed.errors)
    assert len(parsed.records) == len(listing.records) - truth.malformed_count


def test_prices_go_in_full_batches_of_twenty_deduplicated_in_order(sandbox) -> None:
    codes = list(sandbox.catalogue.expected_prices())
    assert len(codes) % MAX_CODES_PER_CALL != 0  # so the last batch is a short one
    asked = codes + codes[:7] + ["NOSUCHCODE"]  # repeats are dropped; an unknown code is simply not answered
    with make_client(sandbox) as client:
        results = list(client.fetch_prices(asked))
        stats = client.stats.snapshot()
    batches = sorted((result.product_codes for result in results), key=lambda batch: asked.index(batch[0]))
    assert [code for batch in batches for code in batch] == codes + ["NOSUCHCODE"]
    assert all(len(batch) == MAX_CODES_PER_CALL for batch in batches[:-1])
    assert 0 < len(batches[-1]) < MAX_CODES_PER_CALL
    assert stats["max_codes_per_call"] == MAX_CODES_PER_CALL and sandbox.stats().max_product_codes <= MAX_CODES_PER_CALL
    assert all(result.ok for result in results)
    parsed = parse_prices(record for result in results for record in result.records)
    assert parsed.errors == []
    assert {record.product_code: record for record in parsed.records} == sandbox.catalogue.expected_prices()


def test_product_codes_are_fetched_in_batches_too(sandbox) -> None:
    expected = sandbox.catalogue.expected_products()
    codes = list(expected)[:45]
    with make_client(sandbox) as client:
        results = list(client.fetch_products(codes))
    assert sorted(len(result.product_codes) for result in results) == [5, 20, 20]
    parsed = parse_products(record for result in results for record in result.records)
    assert {record.product_code: record for record in parsed.records} == {code: expected[code] for code in codes}


def test_money_keeps_every_digit_over_http(sandbox) -> None:
    expected = sandbox.catalogue.expected_prices()
    with make_client(sandbox) as client:
        raw = [record for result in client.fetch_prices(list(expected)) for record in result.records]
    money_fields = ("supplyPrice", "invoicePrice", "rebateMoney")
    values = [record[field] for record in raw for field in money_fields if field in record]
    assert values and all(isinstance(value, Decimal) for value in values)
    for record in parse_prices(raw).records:
        truth = expected[record.product_code]
        # str() compares digits, not just value: 2999.00 must not come back as 2999.0 or 2999
        assert str(record.supply_price) == str(truth.supply_price)
        assert str(record.invoice_price) == str(truth.invoice_price)
        assert str(record.rebate_money) == str(truth.rebate_money)


def test_stock_one_call_per_pair_exact_for_every_county(sandbox) -> None:
    codes = list(sandbox.catalogue.expected_stock("110101"))[:40]
    counties = ("110101", "310104")
    pairs = [(code, county) for county in counties for code in codes]
    with make_client(sandbox) as client:
        before = sandbox.stats().calls.get("stock", 0)
        results = list(client.fetch_stock(pairs + pairs[:5]))  # repeated pairs are asked once
    assert sandbox.stats().calls["stock"] - before == len(pairs)
    got: dict[str, dict] = {county: {} for county in counties}
    for result in results:
        assert result.ok and len(result.records) == 1 and len(result.product_codes) == 1
        record = parse_stock(result.records[0], result.product_codes[0], result.county_code)
        got[result.county_code][record.product_code] = record
    for county in counties:
        truth = sandbox.catalogue.expected_stock(county)
        assert got[county] == {code: truth[code] for code in codes}


def test_results_stream_while_inputs_are_still_being_read(sandbox) -> None:
    """10 000 codes are not turned into 500 futures up front; results arrive before the input ends."""
    pulled = 0

    def codes() -> Iterator[str]:
        nonlocal pulled
        for number in range(10_000):
            pulled += 1
            yield f"ZZ{number:07d}"

    with make_client(sandbox, max_concurrency=4) as client:
        before = sandbox.stats().calls.get("prices", 0)
        stream = client.fetch_prices(codes())
        first = next(stream)
        pulled_at_first_result = pulled
        stream.close()  # cancels what has not started
        client.close()  # waits for what had started
        calls = sandbox.stats().calls.get("prices", 0) - before
    window = 4 * 2  # the client keeps at most 2 x max_concurrency calls in flight
    assert first.endpoint == "prices" and first.ok
    assert pulled_at_first_result <= window * MAX_CODES_PER_CALL
    assert calls <= window


def test_balances_and_logistics(sandbox) -> None:
    env = sandbox.env()
    with make_client(sandbox) as client:
        balances = client.fetch_balances()
        logistics = client.fetch_logistics("SO.20190106.000003")
        one_delivery = client.fetch_logistics("SO.20190106.000003", "SO.20190106.000003.F1", member_id=7)
    assert balances.errors == []
    assert balances.records == sandbox.catalogue.expected_balances(env["HAIER_CUSTOMER_CODE"])
    assert logistics == sandbox.catalogue.logistics_answer("SO.20190106.000003")
    assert one_delivery == sandbox.catalogue.logistics_answer("SO.20190106.000003", "SO.20190106.000003.F1")


@pytest.mark.parametrize("envelope", ["always", "never"])
def test_both_envelope_forms_give_the_same_records(envelope: str) -> None:
    with run_sandbox(SandboxOptions(products=30, seed=5, envelope=envelope)) as running:
        with make_client(running) as client:
            [listing] = list(client.fetch_products())
            balances = client.fetch_balances()
            prices = list(client.fetch_prices(list(running.catalogue.expected_prices())))
        assert {
            r.product_code: r for r in parse_products(listing.records).records
        } == running.catalogue.expected_products()
        assert balances.records == running.catalogue.expected_balances(running.env()["HAIER_CUSTOMER_CODE"])
        parsed = parse_prices(record for result in prices for record in result.records)
        assert {r.product_code: r for r in parsed.records} == running.catalogue.expected_prices()
