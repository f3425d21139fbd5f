"""The new-products sensor, ticked with build_sensor_context on a real catalog database.

The end-to-end case (sandbox gains products, the requested run syncs exactly those) is in
test_automation_pipeline.py; here each rule of the sensor is shown on its own.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.writes import (
    ensure_brands,
    ensure_categories,
    set_product_images,
    upsert_product_stock,
    upsert_products,
)
from haier_pipeline.constants import SYNC_KIND_TAG
from haier_pipeline.defs.sync.new_products import haier_new_products_sensor, haier_new_products_sync, products_since
from haier_pipeline.resources import CatalogResource, SyncScope
from haier_pipeline.settings import load_settings
from support.catalog_records import T0, product, stock

COUNTY_CODES = load_settings().county_codes  # tests/conftest.py configures two counties


def add_products(catalog: CatalogResource, *records) -> None:
    with catalog.begin() as conn:
        upsert_products(conn, list(records), ensure_brands(conn, ["海尔"]), ensure_categories(conn, ["电热水器"]), T0)


def complete(catalog: CatalogResource, *codes: str) -> None:
    """Stock in every configured county and localised images: nothing left for the sensor to do."""
    with catalog.begin() as conn:
        upsert_product_stock(
            conn, [stock(code, county) for code in codes for county in COUNTY_CODES], COUNTY_CODES[0], T0
        )
        for code in codes:
            set_product_images(conn, code, [f"images/2025/07/01/{code.lower():0>32}.jpg"], [])


def product_id(catalog: CatalogResource, code: str) -> int:
    with catalog.begin() as conn:
        return conn.execute(select(tables.products.c.id).where(tables.products.c.product_code == code)).scalar_one()


def tick(instance, catalog, cursor=None):
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"catalog": catalog, "sync_scope": SyncScope(configured_counties=COUNTY_CODES)},
    ) as context:
        return haier_new_products_sensor(context)


def test_an_empty_catalog_requests_nothing(instance, catalog):
    result = tick(instance, catalog)
    assert isinstance(result, dg.SkipReason) and "no products created since id 0" in result.skip_message


def test_products_already_complete_only_move_the_cursor(instance, catalog):
    add_products(catalog, product("GA1"), product("GA2"))
    complete(catalog, "GA1", "GA2")
    result = tick(instance, catalog)
    assert not result.run_requests
    assert result.cursor == str(product_id(catalog, "GA2"))
    assert "2 new product(s)" in result.skip_reason.skip_message


def test_new_products_get_one_scoped_run_for_what_they_lack(instance, catalog):
    add_products(catalog, product("GA1"))
    complete(catalog, "GA1")
    first = tick(instance, catalog)

    add_products(catalog, product("GA2"), product("GA3", is_sales="0"), product("GA4", image_url=None, page_urls=()),
                 product("GA5", is_sales="0", image_url=None, page_urls=()))
    with catalog.begin() as conn:
        conn.execute(tables.products.insert().values(product_code="LOCAL1", name="shop's own", source="local"))
    result = tick(instance, catalog, first.cursor)
    [request] = result.run_requests
    # GA2 lacks stock and images, GA3 (not procurable) images only, GA4 stock only; GA5 needs nothing.
    assert request.run_config == {"resources": {"sync_scope": {"config": {"product_codes": ["GA2", "GA3", "GA4"]}}}}
    assert request.tags["haier/trigger"] == "new_products"
    assert result.cursor == str(product_id(catalog, "GA5"))
    assert request.run_key == f"new-products:{first.cursor}-{result.cursor}:0"

    again = tick(instance, catalog, result.cursor)
    assert isinstance(again, dg.SkipReason)  # the local product is never the sensor's business


def test_the_sensor_waits_while_a_full_sync_is_running(instance, catalog):
    add_products(catalog, product("GA1"))
    create_run_for_test(instance, job_name="haier_full_sync", status=dg.DagsterRunStatus.STARTED)
    result = tick(instance, catalog, "0")
    assert isinstance(result, dg.SkipReason) and "haier_full_sync run is in progress" in result.skip_message


def test_missing_stock_in_any_configured_county_counts_as_missing(catalog):
    add_products(catalog, product("GA1"))
    with catalog.begin() as conn:
        upsert_product_stock(conn, [stock("GA1", "110101")], "110101", T0)
        set_product_images(conn, "GA1", ["images/2025/07/01/" + "a" * 32 + ".jpg"], [])
        [one_county] = products_since(conn, 0, counties=["110101"])
        [two_counties] = products_since(conn, 0, counties=["110101", "110102"])
    assert not one_county.needs_stock and not one_county.needs_images
    assert two_counties.needs_stock


def test_the_requested_job_syncs_stock_and_images_and_queues_with_stock_syncs():
    assert haier_new_products_sync.tags[SYNC_KIND_TAG] == "stock"
    selected = {key.to_user_string() for key in haier_new_products_sync.selection.resolve(_asset_graph())}
    assert selected == {"haier_raw_stock", "product_stock", "product_images"}


def _asset_graph():
    from haier_pipeline.definitions import defs

    return defs.resolve_asset_graph()
