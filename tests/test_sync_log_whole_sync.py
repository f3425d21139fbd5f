"""A sync-log row covers its whole sync: it closes after the catalogue write and the checks guarding it.

The price and stock jobs run against a small sandbox. When the step writing the catalogue (``products``,
``product_stock``) fails after the fetch stored its payloads, or a blocking check on that write stops the
run, the run's ``prices`` / ``stock`` row ends ``failed`` naming the step and the reason — never the
``success`` the fetch alone would have claimed. A clean run closes it ``success`` with what the catalogue
now holds.
"""

from __future__ import annotations

import math

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.defs.sync import catalog as catalog_assets
from haier_pipeline.sandbox import Catalogue, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.poison import DROP, Poison
from haier_pipeline.settings import load_settings
from support.bad_input import FAST, clean_codes, reading
from support.catalog_db import catalog_url_for_tests
from support.pipeline import pipeline_env, project_env

PRODUCTS, SEED = 40, 11
BROKEN = "catalogue write refused: disk full"


def run(job: str, tmp_path, request, poison: Poison | None = None) -> tuple[dg.ExecuteInProcessResult, dict]:
    """Run ``job`` against a sandbox (success not required); its sync-log rows by sync type."""
    url = catalog_url_for_tests(tmp_path, request)
    request.addfinalizer(lambda: release_database(url))
    options = SandboxOptions(products=PRODUCTS, seed=SEED, rate_limit=None, **({"poison": poison} if poison else {}))
    with run_sandbox(options) as sandbox, project_env(pipeline_env(sandbox, url, tmp_path, **FAST)):
        result = build_definitions(load_settings()).resolve_job_def(job).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    log = tables.haier_sync_log
    with reading(url) as conn:
        rows = {row["sync_type"]: dict(row) for row in conn.execute(
            select(log).where(log.c.run_id == result.run_id)).mappings()}
    return result, rows


def succeeded(result: dg.ExecuteInProcessResult, step: str) -> bool:
    return any(event.step_key == step for event in result.get_step_success_events())


def broken(*_args, **_kwargs):
    raise OSError(BROKEN)


def test_products_failing_after_the_price_fetch_fails_the_prices_row(tmp_path, request, monkeypatch):
    monkeypatch.setattr(catalog_assets, "apply_prices", broken)
    result, rows = run("haier_price_sync", tmp_path, request)
    assert not result.success and succeeded(result, "haier_raw_prices")
    row = rows["prices"]
    assert row["status"] == "failed" and row["completed_at"] is not None
    assert "step products failed" in row["message"] and BROKEN in row["message"], row["message"]
    assert row["success_count"] > 0  # the fetch's own counts are kept beside the reason
    assert rows["products"]["status"] == "failed"


def test_a_blocking_check_on_products_fails_the_prices_row(tmp_path, request):
    truth = Catalogue(PRODUCTS, SEED)
    prices = truth.expected_prices()
    priced = [code for code in clean_codes(truth) if prices[code].supply_price is not None]
    poisoned = priced[:math.ceil(0.2 * len(prices))]
    poison = Poison(fields={"prices": {code: {"supplyPrice": "暂无报价"} for code in poisoned}})
    result, rows = run("haier_price_sync", tmp_path, request, poison)
    assert not result.success and succeeded(result, "haier_raw_prices") and succeeded(result, "products")
    row = rows["prices"]
    assert row["status"] == "failed", row
    assert "blocking check 'supply_prices_cover_the_catalogue' on products failed" in row["message"], row["message"]
    assert row["failed_count"] == len(poisoned)


def test_product_stock_failing_after_the_stock_fetch_fails_the_stock_row(tmp_path, request, monkeypatch):
    monkeypatch.setattr(catalog_assets, "upsert_product_stock", broken)
    result, rows = run("haier_stock_sync", tmp_path, request)
    assert not result.success and succeeded(result, "haier_raw_stock")
    row = rows["stock"]
    assert row["status"] == "failed"
    assert "step product_stock failed" in row["message"] and BROKEN in row["message"], row["message"]


def test_a_blocking_check_on_product_stock_fails_the_stock_row(tmp_path, request):
    truth = Catalogue(PRODUCTS, SEED)
    dropped = clean_codes(truth)[:math.ceil(0.2 * PRODUCTS)]
    result, rows = run("haier_stock_sync", tmp_path, request, Poison(records={"stock": dict.fromkeys(dropped, DROP)}))
    assert not result.success and succeeded(result, "haier_raw_stock") and succeeded(result, "product_stock")
    row = rows["stock"]
    assert row["status"] == "failed", row
    assert "blocking check 'sync_rejections_within_limit' on product_stock failed" in row["message"], row["message"]


@pytest.mark.parametrize("job, sync_type, holds", [
    ("haier_price_sync", "prices", "Haier products with a supply price"),
    ("haier_stock_sync", "stock", "product × county stock rows"),
])
def test_a_clean_sync_closes_its_row_with_what_the_catalogue_holds(tmp_path, request, job, sync_type, holds):
    result, rows = run(job, tmp_path, request)
    assert result.success
    row = rows[sync_type]
    assert row["status"] == "success" and "catalogue: " in row["message"] and holds in row["message"], row
    assert row["completed_at"] >= row["started_at"]
