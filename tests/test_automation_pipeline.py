"""The automation on a real pipeline: a full sync against a sandbox, then its checks, monitoring figures,
one county's partition alone, a failing blocking check, and the new-products sensor end to end.

One full sync (module fixture) feeds the tests, which run in file order: the last one advances
the sandbox to its next generation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import select, update

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.defs.sync.new_products import haier_new_products_sensor
from haier_pipeline.resources import CatalogResource, SyncScope
from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.catalog_db import catalog_url_for_tests
from support.pipeline import pipeline_env, project_env

COUNTY_CODES = load_settings().county_codes  # tests/conftest.py configures two counties

pytestmark = pytest.mark.slow

PRODUCTS = 100
MONITORING = ("products_per_minute", "success_rate", "api_mean_latency_ms", "error_rate")
RAW_ASSETS = ("haier_raw_products", "haier_raw_prices", "haier_raw_stock")
FIRST, OTHER = COUNTY_CODES[0], COUNTY_CODES[-1]  # tests/conftest.py configures two counties


@dataclass
class Synced:
    sandbox: RunningSandbox
    defs: dg.Definitions
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult
    catalog: CatalogResource
    env: dict[str, str]


@pytest.fixture(scope="module")
def synced(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("pipeline")
    with run_sandbox(SandboxOptions(products=PRODUCTS)) as sandbox, dg.DagsterInstance.ephemeral() as instance:
        url = catalog_url_for_tests(tmp, request)
        # The shared helper keeps conftest's two counties: build_definitions reads them from the settings.
        env = pipeline_env(sandbox, url, tmp, HAIER_IMAGE_ALLOW_PRIVATE_HOSTS="true")  # images on 127.0.0.1
        with project_env(env):
            defs = build_definitions(load_settings())
            result = defs.resolve_job_def("haier_full_sync").execute_in_process(instance=instance, raise_on_error=False)
            assert result.success, [e.message for e in result.all_events if e.is_failure]
            yield Synced(sandbox, defs, instance, result, CatalogResource(db_url=url), env)
        release_database(url)


def materialization(result: dg.ExecuteInProcessResult, key: str) -> dg.AssetMaterialization:
    # An unpartitioned run also records each county partition of haier_raw_stock it covered: take the run's own.
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key.to_user_string() == key and e.materialization.partition is None]
    return event.materialization


def test_the_full_sync_passes_every_check_on_haiers_data(synced):
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in synced.result.get_asset_check_evaluations()}
    mine = {
        ("haier_raw_products", "product_codes_unique_and_non_empty"),
        ("products", "product_codes_unique_and_non_empty"),
        ("products", "prices_valid"),
        ("product_stock", "stock_non_negative_integers"),
        ("product_images", "image_files_match_sha256"),
        ("products", "fresh_against_schedule"),
        ("product_stock", "fresh_against_schedule"),
    }
    assert mine <= set(evaluations)
    failed = {key: e.metadata.get("problems") for key, e in evaluations.items() if not e.passed}
    assert not failed
    prices = evaluations[("products", "prices_valid")].metadata
    assert prices["invoice_formula_checked"].value > PRODUCTS // 2  # the sandbox's invoices obey Haier's formula
    images = evaluations[("product_images", "image_files_match_sha256")].metadata
    assert images["images_checked"].value > 0 and images["bytes_hashed"].value > 0


def test_every_raw_materialization_carries_the_monitoring_figures(synced):
    catalogue = synced.sandbox.catalogue
    valid, malformed = len(catalogue.listing_codes()), catalogue.malformed_count
    assert malformed > 0  # the sandbox's listing carries broken records on purpose
    expected_error_rate = {"haier_raw_products": round(malformed / (valid + malformed), 4),
                           "haier_raw_prices": 0.0, "haier_raw_stock": 0.0}
    for key in RAW_ASSETS:
        metadata = materialization(synced.result, key).metadata
        figures = {name: metadata[name] for name in MONITORING}
        assert all(isinstance(value, dg.FloatMetadataValue) for value in figures.values()), key  # plotted over time
        assert figures["error_rate"].value == expected_error_rate[key], key
        assert figures["success_rate"].value == round(1 - expected_error_rate[key], 4), key
        assert figures["products_per_minute"].value > 0 and figures["api_mean_latency_ms"].value > 0, key


def stock_rows(catalog: CatalogResource) -> dict[tuple[str, str], tuple[int, object]]:
    s = tables.product_stock.c
    with catalog.begin() as conn:
        return {(r.product_code, r.county_code): (r.stock, r.synced_at)
                for r in conn.execute(select(s.product_code, s.county_code, s.stock, s.synced_at))}


def test_one_county_partition_is_resynced_alone(synced):
    """Haier's stock moves in every county; re-syncing one county's partition changes that county only."""
    before = stock_rows(synced.catalog)
    assert {county for _, county in before} == set(COUNTY_CODES)
    codes = {code for code, _ in before}
    catalogue = synced.sandbox.advance()
    truth = {county: {code: record.stock for code, record in catalogue.expected_stock(county).items() if code in codes}
             for county in COUNTY_CODES}
    assert any(truth[FIRST][code] != before[(code, FIRST)][0] for code in truth[FIRST])  # FIRST moved upstream too

    job = synced.defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=synced.instance, partition_key=OTHER,
        asset_selection=[dg.AssetKey("haier_raw_stock"), dg.AssetKey("product_stock")],
    )
    assert result.success
    [raw] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "haier_raw_stock"]
    assert raw.partition == OTHER

    after = stock_rows(synced.catalog)
    assert {code: after[(code, OTHER)][0] for code in truth[OTHER]} == truth[OTHER]
    assert {key: value for key, value in after.items() if key[1] != OTHER} == {
        key: value for key, value in before.items() if key[1] != OTHER}  # FIRST untouched: not in this run


def latest_price_payloads(catalog: CatalogResource) -> dict[str, tuple[int, str]]:
    """``product_code -> (id, payload text)`` of each procurable product's newest stored price answer."""
    prices, product = tables.haier_raw_prices.c, tables.products.c
    procurable = select(product.product_code).where(product.source == "haier", product.is_sales == "1")
    with catalog.begin() as conn:
        rows = conn.execute(select(prices.id, prices.product_code, prices.payload)
                            .where(prices.product_code.in_(procurable)).order_by(prices.id)).all()
    return {row.product_code: (row.id, row.payload) for row in rows}


def put_back(catalog: CatalogResource, payloads: dict[str, tuple[int, str]]) -> None:
    with catalog.begin() as conn:
        for row_id, payload in payloads.values():
            conn.execute(update(tables.haier_raw_prices).where(tables.haier_raw_prices.c.id == row_id)
                         .values(payload=payload))


def rewrite_field(payload: str, field: str, change) -> str:
    """``payload`` with ``field``'s number replaced in place, leaving the rest of the JSON as Haier sent it."""
    return re.sub(rf'("{field}"\s*:\s*)"?(-?[0-9.]+)"?', lambda m: m.group(1) + change(m.group(2)), payload, count=1)


def test_haiers_arithmetic_is_a_warning_that_holds_nothing_back(synced):
    """Issue 17: an invoice price a cent off the formula is Haier's arithmetic, never a reason to skip stock."""
    payloads = latest_price_payloads(synced.catalog)
    code, (row_id, payload) = next((code, row) for code, row in payloads.items()
                                   if isinstance(json.loads(row[1], parse_float=Decimal).get("stockRebatePolicy"),
                                                 Decimal) and "invoicePrice" in json.loads(row[1]))
    corrupted = rewrite_field(payload, "invoicePrice", lambda number: str(Decimal(number) + Decimal("0.01")))
    assert corrupted != payload
    with synced.catalog.begin() as conn:
        conn.execute(update(tables.haier_raw_prices).where(tables.haier_raw_prices.c.id == row_id)
                     .values(payload=corrupted))
    try:
        result = synced.defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=synced.instance, asset_selection=[dg.AssetKey("products"), dg.AssetKey("product_stock")])
        assert result.success
        assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
            "products", "product_stock"}
        with synced.catalog.begin() as conn:
            kind = conn.execute(select(tables.products.c.stock_rebate_kind)
                                .where(tables.products.c.product_code == code)).scalar_one()
        assert kind == "unknown"  # no formula reproduces it: counted and skipped, not blocked on
        [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "prices_valid"]
        assert check.passed and check.metadata["unknown_kind_skipped"].value >= 1
    finally:
        put_back(synced.catalog, {code: (row_id, payload)})
    repaired = synced.defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=synced.instance, asset_selection=[dg.AssetKey("products")])
    assert repaired.success


def test_a_failing_blocking_check_stops_the_downstream_asset(synced):
    """More than 5 % of procurable products losing their supply price fails a blocking check: stock never runs."""
    payloads = latest_price_payloads(synced.catalog)
    spoiled = dict(sorted(payloads.items())[: len(payloads) // 10 + 1])  # ~10 % of them: over the 5 % limit
    with synced.catalog.begin() as conn:
        for row_id, payload in spoiled.values():
            corrupted = rewrite_field(payload, "supplyPrice", lambda number: '"n/a"')  # text: refused, stored NULL
            assert corrupted != payload
            conn.execute(update(tables.haier_raw_prices).where(tables.haier_raw_prices.c.id == row_id)
                         .values(payload=corrupted))

    job = synced.defs.resolve_implicit_global_asset_job_def()
    try:
        result = job.execute_in_process(
            instance=synced.instance, raise_on_error=False,
            asset_selection=[dg.AssetKey("products"), dg.AssetKey("product_stock")],
        )
        [check] = [e for e in result.get_asset_check_evaluations()
                   if e.check_name == "supply_prices_cover_the_catalogue"]
        assert not check.passed
        assert check.metadata["without_supply_price"].value == len(spoiled)
        assert f"{min(spoiled)}: no supply price" in check.metadata["products"].value
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert materialized == {"products"}  # product_stock never ran
        assert not result.success
        assert "product_stock" not in {e.step_key for e in result.all_events if e.is_step_start}
    finally:
        put_back(synced.catalog, spoiled)  # Haier's own answers back for the tests that follow
    repaired = job.execute_in_process(instance=synced.instance, asset_selection=[dg.AssetKey("products")])
    assert repaired.success


def test_products_new_upstream_get_stock_and_images_from_the_sensor(synced):
    def tick(cursor):
        with dg.build_sensor_context(instance=synced.instance, cursor=cursor,
                                     resources={"catalog": synced.catalog,
                                                "sync_scope": SyncScope(configured_counties=COUNTY_CODES)}) as context:
            return haier_new_products_sensor(context)

    settled = tick(None)  # everything the full sync brought already has stock and images
    assert not settled.run_requests and settled.cursor

    with synced.catalog.begin() as conn:
        old_codes = set(conn.execute(select(tables.products.c.product_code)).scalars())
    catalogue = synced.sandbox.advance()
    records = catalogue.expected_products()
    new_codes = [code for code in catalogue.listing_codes() if code not in old_codes]
    assert new_codes
    listing = [dg.AssetKey(name) for name in ("haier_raw_products", "brands", "categories", "products")]
    job = synced.defs.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=synced.instance, asset_selection=listing).success

    result = tick(settled.cursor)
    [request] = result.run_requests
    wanted = [code for code in new_codes
              if records[code].is_sales == "1" or records[code].image_url or records[code].page_urls]
    assert sorted(request.run_config["resources"]["sync_scope"]["config"]["product_codes"]) == sorted(wanted)

    run = synced.defs.resolve_job_def("haier_new_products_sync").execute_in_process(
        instance=synced.instance, run_config=request.run_config, tags=request.tags)
    assert run.success
    stocked = stock_rows(synced.catalog)
    for code in wanted:
        if records[code].is_sales == "1":
            assert stocked[(code, FIRST)][0] == catalogue.expected_stock(FIRST)[code].stock
    with synced.catalog.begin() as conn:
        images = dict(conn.execute(select(tables.products.c.product_code, tables.products.c.main_images)
                                   .where(tables.products.c.product_code.in_(wanted))).all())
    assert all(images[code] for code in wanted if records[code].image_url)

    assert isinstance(tick(result.cursor), dg.SkipReason)  # nothing new since
