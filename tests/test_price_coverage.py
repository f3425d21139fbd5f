"""A green run means a complete catalogue: text in a money field costs that field, and more than 5 % of it fails
the run.

A sandbox writes text (``"暂无报价"``) into ``supplyPrice`` for a share of the price records. At 10 % the
coverage check on ``products`` and the sync's rejection check fail, and so does the run; at 1 % the run
passes. Either way each poisoned record is named in the prices sync log, its other fields land, and every
other price equals the sandbox's truth.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import Catalogue, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.poison import Poison
from support.bad_input import PoisonedSync, clean_codes, sync
from support.catalog_db import catalog_url_for_tests

PRODUCTS, SEED = 200, 5
TEXT = "暂无报价"


def check_results(result) -> dict[str, tuple[bool, str]]:
    """``asset/check`` -> (passed, severity) for every check the run evaluated."""
    found = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            found[f"{evaluation.asset_key.to_user_string()}/{evaluation.check_name}"] = (
                evaluation.passed, evaluation.severity.value)
    return found


def poisoned_sync(tmp_path, request, share: float) -> tuple[PoisonedSync, list[str]]:
    truth = Catalogue(PRODUCTS, SEED)
    prices = truth.expected_prices()
    priced = [code for code in clean_codes(truth) if prices[code].supply_price is not None]
    count = math.ceil(share * len(prices))
    codes = priced[:count]
    poison = Poison(fields={"prices": {code: {"supplyPrice": TEXT} for code in codes}})
    url = catalog_url_for_tests(tmp_path, request)
    with run_sandbox(SandboxOptions(products=PRODUCTS, seed=SEED, rate_limit=None, poison=poison)) as sandbox:
        done = sync(sandbox, url, tmp_path)
    request.addfinalizer(lambda: release_database(url))
    return done, codes


def assert_named_and_kept(done: PoisonedSync, codes: list[str], status: str) -> None:
    log = done.log("prices")
    prices = done.truth.expected_prices()
    assert (log["status"], log["failed_count"], log["success_count"]) == (
        status, len(codes), len(prices) - len(codes))
    rows = done.rows("products")
    for code in codes:
        assert f"prices: {code}: supplyPrice is not a number: '{TEXT}' (record kept" in log["message"]
        assert rows[code]["supply_price"] is None  # that field only: the rest of the record landed
        assert rows[code]["invoice_price"] == prices[code].invoice_price
    for code, price in prices.items():
        if code not in codes:
            got = rows[code]["supply_price"]
            assert (got is None and price.supply_price is None) or Decimal(got) == price.supply_price, code


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_ten_percent_of_prices_with_text_fails_the_run_and_names_them(tmp_path, request):
    done, codes = poisoned_sync(tmp_path, request, 0.10)
    assert not done.result.success
    checks = check_results(done.result)
    assert checks["products/supply_prices_cover_the_catalogue"] == (False, "ERROR")
    assert checks["products/sync_rejections_within_limit"] == (False, "ERROR")
    # The blocking checks stopped the run after products wrote the prices: the prices sync did not succeed.
    assert_named_and_kept(done, codes, "failed")
    assert "blocking check 'supply_prices_cover_the_catalogue' on products failed" in done.log("prices")["message"]


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_one_percent_of_prices_with_text_passes_and_names_them(tmp_path, request):
    done, codes = poisoned_sync(tmp_path, request, 0.01)
    assert done.result.success, [event.message for event in done.result.all_events if event.is_failure]
    assert len(codes) >= 2
    checks = check_results(done.result)
    assert checks["products/supply_prices_cover_the_catalogue"] == (True, "ERROR")
    assert checks["products/sync_rejections_within_limit"] == (True, "ERROR")
    assert_named_and_kept(done, codes, "partial")
    assert done.stock_rows()  # stock and images ran
