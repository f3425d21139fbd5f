"""The full sync as users run it: `dagster job execute` against a standalone sandbox, then the
catalogue compared field by field with the sandbox's own data, and the sync log's counts."""

import os
from dataclasses import replace

import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.defs.sync.checks import prices_check, supply_price_coverage_check
from haier_pipeline.resources import CatalogResource
from haier_pipeline.sandbox import (
    AnswerStyle,
    Catalogue,
    SandboxOptions,
    start_sandbox_process,
)
from support.catalog_state import image_mismatches
from support.pipeline import (
    assert_catalogue_matches,
    catalogue_rows,
    dagster_cli,
    pipeline_env,
)

pytestmark = pytest.mark.slow


def test_dagster_job_execute_syncs_2000_products_exactly(tmp_path, catalog_url):
    options = SandboxOptions(products=2000, rate_limit=1000)
    with start_sandbox_process(options) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT="900")
        done = dagster_cli(["job", "execute", "-m", "haier_pipeline.definitions", "-j", "haier_full_sync"],
                           env, tmp_path / "home")
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        truth = sandbox.catalogue
        served = sandbox.stats()
    counties = os.environ["HAIER_COUNTY_CODES"].split(",")
    assert_catalogue_matches(catalog_url, truth, counties)

    products = catalogue_rows(catalog_url, "products")
    assert len(products) == len(truth.expected_products())  # duplicates in the listing produce one row
    assert truth.duplicate_count > 0 and truth.malformed_count > 0

    logs = {row["sync_type"]: row for row in catalogue_rows(catalog_url, "haier_sync_log")}
    product_log = logs["products"]
    assert product_log["status"] == "partial"
    assert product_log["failed_count"] == truth.malformed_count
    assert product_log["success_count"] == len(truth.expected_products())
    assert product_log["message"].count("products: ") == truth.malformed_count  # each malformed record named
    assert {row["status"] for row in logs.values()} <= {"success", "partial"}
    assert all(row["run_id"] and row["completed_at"] for row in logs.values())
    assert logs["prices"]["status"] == "success" and logs["stock"]["status"] == "success"
    assert served.answered_429 == 0 and served.answered_400 == 0
    assert served.max_product_codes <= 20
    release_database(catalog_url)


STYLES = {  # every encoding the contract allows, each in at least one style
    "numbers-as-strings": AnswerStyle(numbers="string"),
    "mixed-amount-number-flags": AnswerStyle(numbers="mixed", discount="amount", flags="number"),
    "half-even-invoices": AnswerStyle(rounding="half_even"),
    "strings-amount-half-even": AnswerStyle(numbers="string", discount="amount", flags="number", rounding="half_even"),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_dagster_job_execute_keeps_every_price_whatever_the_gateways_encoding(tmp_path, catalog_url, style):
    """``dagster job execute`` per answer style: every price Decimal-equal to the truth, the right discount kind,
    exact sync-log counts, no check blocking (Haier's half-even rounding included), stock and images complete."""
    options = SandboxOptions(products=300, rate_limit=None, style=STYLES[style])
    with start_sandbox_process(options) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path)
        done = dagster_cli(["job", "execute", "-m", "haier_pipeline.definitions", "-j", "haier_full_sync"],
                           env, tmp_path / "home")
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        truth = sandbox.catalogue
    counties = os.environ["HAIER_COUNTY_CODES"].split(",")
    assert_catalogue_matches(catalog_url, truth, counties)  # prices, stock_rebate_kind, sale price, stock
    assert image_mismatches(catalog_url, tmp_path / "media", truth) == []
    if STYLES[style].rounding == "half_even" and STYLES[style].discount == "rate":  # it differs from half-up
        half_up = Catalogue(truth.size, truth.seed, style=replace(STYLES[style], rounding="half_up")).expected_prices()
        assert [code for code, price in truth.expected_prices().items()
                if price.invoice_price != half_up[code].invoice_price]
    kinds = set(truth.expected_rebate_kinds().values())
    assert {"rate" if STYLES[style].discount == "rate" else "amount", "unknown", None} <= kinds  # all kinds occur

    logs = {row["sync_type"]: row for row in catalogue_rows(catalog_url, "haier_sync_log")}
    procurable = [code for code, record in truth.expected_products().items() if record.is_sales == "1"]
    assert (logs["products"]["failed_count"], logs["products"]["success_count"]) == (
        truth.malformed_count, len(truth.expected_products()))
    assert (logs["prices"]["status"], logs["prices"]["failed_count"], logs["prices"]["success_count"]) == (
        "success", 0, len(truth.expected_prices()))
    assert (logs["stock"]["status"], logs["stock"]["success_count"]) == ("success", len(procurable) * len(counties))

    catalog = CatalogResource(db_url=catalog_url)
    prices = prices_check(catalog=catalog)  # not even a warning: half-even is Haier's rounding, not an error
    assert prices.passed, prices.metadata["problems"].value
    assert prices.metadata["invoice_formula_checked"].value > 0
    assert supply_price_coverage_check(catalog=catalog).passed
    release_database(catalog_url)
